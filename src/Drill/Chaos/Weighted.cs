namespace TaskServer.Drill.Chaos;

/// <summary>A draw among weighted choices: the schedule's fault kinds, the load's task kinds.</summary>
internal static class Weighted
{
    /// <summary>The choice whose share of the total weight <paramref name="random"/>'s next draw falls in.</summary>
    public static T Pick<T>(Random random, IReadOnlyList<T> choices, Func<T, int> weight)
    {
        var pick = random.Next(choices.Sum(weight));
        foreach (var choice in choices)
        {
            if (pick < weight(choice))
            {
                return choice;
            }

            pick -= weight(choice);
        }

        throw new ArgumentException("The weights must be positive.", nameof(weight));
    }
}
