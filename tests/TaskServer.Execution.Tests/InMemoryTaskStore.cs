using TaskServer.StorageManager.Leases;
using TaskServer.StorageManager.Nodes;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.Execution.Tests;

/// <summary>
/// The task table as the drain sees it, in memory, with the faults the drain must survive: a claim that commits and
/// then loses its reply, and outcome writes that fail while the database is out of reach. The database's own
/// behaviour is proven by the contract tests on real databases; this is for driving the drain's loop step by step.
/// </summary>
internal sealed class InMemoryTaskStore : ITaskStore, INodeRegistry
{
    private readonly Lock gate = new();
    private readonly Dictionary<Guid, TaskRecord> tasks = [];

    /// <summary>The next claim commits and then throws, as a claim whose reply was lost.</summary>
    public bool LoseNextClaimReply { get; set; }

    /// <summary>Outcome writes throw while this is true, as when the database is out of reach.</summary>
    public bool OutcomesFail { get; set; }

    /// <summary>Reads of current attempts throw while this is true.</summary>
    public bool ReadsFail { get; set; }

    /// <summary>Runs inside each read of current attempts, after the answer is taken: what happens while it travels back.</summary>
    public Action? WhileAnswerTravels { get; set; }

    public int Claims { get; private set; }

    public List<string> Left { get; } = [];

    public TaskRecord Add(string worker, Guid? id = null)
    {
        var task = new TaskRecord
        {
            Id = id ?? Guid.CreateVersion7(),
            Type = "echo",
            Payload = "1",
            Status = TaskState.Queued,
            Attempt = 1,
            AttemptToken = Guid.NewGuid(),
            MaxAttempts = 3,
            Worker = worker,
            CreatedAt = DateTimeOffset.UnixEpoch,
            DueAt = DateTimeOffset.UnixEpoch,
            Timeout = TimeSpan.FromMinutes(1),
        };
        lock (gate)
        {
            tasks[task.Id] = task;
        }

        return task;
    }

    public TaskRecord Get(Guid id)
    {
        lock (gate)
        {
            return tasks[id];
        }
    }

    public void Replace(TaskRecord task)
    {
        lock (gate)
        {
            tasks[task.Id] = task;
        }
    }

    public Task<IReadOnlyList<TaskRecord>> ClaimAsync(string worker, int limit, TimeSpan workerTimeout, CancellationToken cancellationToken)
    {
        List<TaskRecord> claimed;
        lock (gate)
        {
            Claims++;
            claimed = [.. tasks.Values.Where(t => t.Worker == worker && t.Status == TaskState.Queued).OrderBy(t => t.Id).Take(limit)
                .Select(t => t with { Status = TaskState.Running })];
            foreach (var task in claimed)
            {
                tasks[task.Id] = task;
            }

            if (LoseNextClaimReply)
            {
                LoseNextClaimReply = false;
                throw new TimeoutException("the claim committed, its reply was lost");
            }
        }

        return Task.FromResult<IReadOnlyList<TaskRecord>>(claimed);
    }

    public Task<TransitionResult> ApplyAsync(TaskTransition transition, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (!tasks.TryGetValue(transition.TaskId, out var task))
            {
                return Task.FromResult(new TransitionResult(TransitionOutcome.NotFound, null));
            }

            if (!transition.From.Contains(task.Status) || (transition.ExpectedToken is { } token && token != task.AttemptToken))
            {
                return Task.FromResult(new TransitionResult(TransitionOutcome.Conflict, task));
            }

            task = transition switch
            {
                ReleaseAttempt release => task with { Status = TaskState.Queued, AttemptToken = release.NextToken },
                CompleteAttempt complete => task with { Status = TaskState.Succeeded, Result = complete.Result },
                FailAttempt fail => task with { Status = TaskState.Failed, Error = fail.Error },
                RetryAttempt retry => task with { Status = TaskState.Queued, Attempt = task.Attempt + 1, AttemptToken = retry.NextToken },
                CancelTask => task with { Status = TaskState.Cancelled },
                _ => throw new NotSupportedException(transition.GetType().Name),
            };
            tasks[task.Id] = task;
            return Task.FromResult(new TransitionResult(TransitionOutcome.Applied, task));
        }
    }

    public async Task<IReadOnlyList<TransitionOutcome>> ApplyOutcomesAsync(IReadOnlyList<TaskTransition> outcomes, CancellationToken cancellationToken)
    {
        if (OutcomesFail)
        {
            throw new TimeoutException("the database is out of reach");
        }

        var results = new List<TransitionOutcome>();
        foreach (var outcome in outcomes)
        {
            results.Add((await ApplyAsync(outcome, cancellationToken)).Outcome);
        }

        return results;
    }

    public Task<IReadOnlyList<CurrentAttempt>> GetCurrentAttemptsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken)
    {
        if (ReadsFail)
        {
            throw new TimeoutException("the database is out of reach");
        }

        IReadOnlyList<CurrentAttempt> answer;
        lock (gate)
        {
            answer = [.. ids.Where(tasks.ContainsKey).Select(id => new CurrentAttempt(id, tasks[id].Status, tasks[id].AttemptToken))];
        }

        WhileAnswerTravels?.Invoke();
        return Task.FromResult(answer);
    }

    public Task<IReadOnlyList<TaskRecord>> ListRunningByWorkerAsync(string worker, int limit, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            return Task.FromResult<IReadOnlyList<TaskRecord>>([.. tasks.Values.Where(t => t.Worker == worker && t.Status == TaskState.Running).OrderBy(t => t.Id).Take(limit)]);
        }
    }

    public Task LeaveAsync(string nodeId, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            Left.Add(nodeId);
        }

        return Task.CompletedTask;
    }

    public Task<CreateResult> CreateAsync(NewTask task, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<CreateResult>> CreateManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<TaskRecord?> GetAsync(Guid id, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<TaskRecord>> ListAsync(TaskQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyDictionary<TaskState, long>> CountByStatusAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<ActiveCounts> CountActiveByWorkerAsync(string worker, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<RescueResult> RescueAsync(RescueRequest request, Fence fence, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<int> DeleteFinishedBeforeAsync(TimeSpan age, int limit, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task HeartbeatAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<ActiveCounts> HeartbeatWithLoadAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<NodeRecord>> ListAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<NodeRecord>> ListLiveAsync(TimeSpan timeout, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<EvictOutcome> EvictAsync(string nodeId, TimeSpan timeout, Fence fence, CancellationToken cancellationToken) => throw new NotSupportedException();
}
