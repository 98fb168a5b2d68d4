global using TaskServer.Execution;
