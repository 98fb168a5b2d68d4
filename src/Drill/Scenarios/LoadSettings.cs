namespace TaskServer.Drill.Scenarios;

/// <summary>The steady load of a drill: submissions per second, how many, and how long to wait for them to end.</summary>
internal sealed record LoadSettings(double Rate, int Tasks, TimeSpan DrainTimeout);
