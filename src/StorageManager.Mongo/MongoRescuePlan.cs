using System.Globalization;
using MongoDB.Bson;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Mongo;

/// <summary>Who is live at the rescue's read, and so whose tasks stay where they are and who may receive one.</summary>
/// <param name="Live">Every live node: its Running tasks stay (a draining node finishes what it runs).</param>
/// <param name="KeepQueued">The live nodes that are not draining: their Queued tasks stay.</param>
/// <param name="Targets">
/// Live workers that are neither draining nor quarantined, least loaded first (as PostgreSQL orders them): the rescue
/// hands tasks to them in turn.
/// </param>
internal sealed record RescueScope(IReadOnlyList<string> Live, IReadOnlyList<string> KeepQueued, IReadOnlyList<string> Targets)
{
    internal static RescueScope Of(IReadOnlyList<NodeRecord> live) => new(
        [.. live.Select(node => node.NodeId)],
        [.. live.Where(node => !node.Load.Draining).Select(node => node.NodeId)],
        [
            .. live
                .Where(node => node.Role is NodeRole.Worker or NodeRole.Standalone && !node.Load.Draining && !node.Load.Quarantined)
                .OrderBy(node => node.Load.Queued + node.Load.Running)
                .ThenBy(node => node.NodeId, StringComparer.Ordinal)
                .Select(node => node.NodeId),
        ]);
}

/// <summary>A task the rescue found, with what its write is conditioned on and what decides its fate.</summary>
internal sealed record RescueCandidate(Guid Id, TaskState Status, string? Worker, int Attempt, int MaxAttempts, Guid AttemptToken)
{
    /// <summary>Reads a document projected with <see cref="MongoTaskCommands.RescueCandidateOnly"/>.</summary>
    internal static RescueCandidate From(BsonDocument document) => new(
        MongoTaskDocuments.ToGuid(document[TaskField.Id]),
        Enum.Parse<TaskState>(document[TaskField.Status].AsString),
        document.TryGetValue(TaskField.Worker, out var worker) && worker.IsString ? worker.AsString : null,
        document[TaskField.Attempt].ToInt32(),
        document[TaskField.MaxAttempts].ToInt32(),
        MongoTaskDocuments.ToGuid(document[TaskField.AttemptToken]));
}

/// <summary>One conditional write of a rescue, and what the rescue reports for it once written.</summary>
internal sealed record RescueStep(BsonDocument Filter, BsonDocument[] Update, RescuedTask Task);

/// <summary>
/// What a rescue writes for the candidates it read: the decisions PostgreSQL's rescue statement takes in SQL, taken
/// here from one snapshot of the nodes and the tasks, each written as a conditional update of its own task.
/// </summary>
internal static class MongoRescuePlan
{
    /// <param name="nextToken">
    /// Mints each moved task's attempt token. Drawn here rather than by the server (PostgreSQL's <c>gen_random_uuid()</c>):
    /// all a token must do is differ from the lost attempt's, so that attempt's late writes are refused.
    /// </param>
    /// <param name="jitter">Spreads each lost attempt's backoff (0 to 1, as <see cref="RetryBackoff.Delay"/> takes it).</param>
    internal static IReadOnlyList<RescueStep> Plan(
        RescueScope scope,
        IReadOnlyList<RescueCandidate> candidates,
        RetryBackoff backoff,
        Func<Guid> nextToken,
        Func<double> jitter)
    {
        var steps = new List<RescueStep>(candidates.Count);
        for (var k = 0; k < candidates.Count; k++)
        {
            var candidate = candidates[k];
            var filter = MongoTaskCommands.RescueFilter(candidate);
            var running = candidate.Status == TaskState.Running;
            if (running && candidate.Attempt >= candidate.MaxAttempts)
            {
                steps.Add(new(
                    filter,
                    MongoTaskCommands.FailLostAttempt(LostError(candidate)),
                    new RescuedTask(candidate.Id, candidate.Worker, candidate.Worker, TaskState.Failed, candidate.Attempt)));
                continue;
            }

            // With no target, only failures are read (RescueCandidatesFilter); any other candidate given stays where it
            // is, for a later rescue, as PostgreSQL leaves it.
            if (scope.Targets.Count == 0)
            {
                continue;
            }

            // The k-th candidate (oldest first, failures counted) goes to the k-th target in turn, as PostgreSQL deals
            // them, so both providers hand the same candidates to the same workers.
            var target = scope.Targets[k % scope.Targets.Count];
            if (running)
            {
                var next = candidate.Attempt + 1;
                steps.Add(new(
                    filter,
                    MongoTaskCommands.RescueLostAttempt(target, nextToken(), backoff.Delay(next, jitter()), LostError(candidate)),
                    new RescuedTask(candidate.Id, candidate.Worker, target, TaskState.Queued, next)));
            }
            else
            {
                steps.Add(new(
                    filter,
                    MongoTaskCommands.RescueQueued(target, nextToken()),
                    new RescuedTask(candidate.Id, candidate.Worker, target, TaskState.Queued, candidate.Attempt)));
            }
        }

        return steps;
    }

    /// <summary>The error a lost attempt leaves, worded as PostgreSQL's rescue words it.</summary>
    internal static string LostError(RescueCandidate candidate) =>
        string.Create(CultureInfo.InvariantCulture, $"worker {candidate.Worker ?? "(none)"} was lost during attempt {candidate.Attempt}");
}
