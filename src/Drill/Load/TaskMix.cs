namespace TaskServer.Drill.Load;

/// <summary>
/// Which of two task kinds a drill's submission gets: a given share of the first kind, in an order no balancing cycle
/// lines up with. A fixed pattern did line up: strict alternation over four round-robin workers gave each worker one
/// kind only (the experiment's worker struck with wrong results ran nothing that checks them), and a period of three
/// would do the same over three or six workers.
/// </summary>
internal static class TaskMix
{
    /// <summary>True when submission number <paramref name="submission"/> is of the first kind.</summary>
    public static bool IsFirstKind(int submission, double share) =>
        unchecked((uint)submission * 2654435761u) < share * 4_294_967_296d;
}
