using TaskServer.Drill.Cli;

var parse = DrillCommands.Build().Parse(args);
var exitCode = await parse.InvokeAsync();

// A usage error is "could not run", not a failed invariant: scripts tell the two apart by the exit code.
return parse.Errors.Count > 0 ? DrillCommands.CouldNotRun : exitCode;
