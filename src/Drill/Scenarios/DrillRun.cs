using TaskServer.Client;
using TaskServer.Drill.Analysis;
using TaskServer.Drill.Cli;
using TaskServer.Drill.Load;
using TaskServer.Drill.Reports;

namespace TaskServer.Drill.Scenarios;

/// <summary>
/// The skeleton every drill run shares: a callback sink, one clock, the recorder under a failover-aware
/// client, an open-loop load; then the drain that settles what was lost, the figures, and the report's files.
/// </summary>
internal sealed class DrillRun : IAsyncDisposable
{
    private readonly DrillContext context;

    // Between the client and the recorder: the task options the client library does not send.
    private readonly SubmitFields fields;

    private DrillRun(DrillContext context)
    {
        this.context = context;
        Sink = CallbackSink.Start(context.Time);
        Clock = new RunClock(context.Time);
        Recorder = new AckRecorder(Clock, context.CaCertificate);
        fields = new SubmitFields(Recorder);
        Client = context.NewClient(fields);
        Load = new SubmissionLoad(Client, Recorder, fields, Clock);
    }

    public CallbackSink Sink { get; }

    public RunClock Clock { get; }

    public AckRecorder Recorder { get; }


    public TaskServerClient Client { get; }

    public SubmissionLoad Load { get; }

    /// <summary>The moments worth a line on the timeline (the strike, the promotion).</summary>
    public List<Marker> Markers { get; } = [];

    public List<string> Notes { get; } = [];

    public static DrillRun Start(DrillContext context) => new(context);

    /// <summary>A callback task: its side effect is counted by the sink, per attempt.</summary>
    public TaskSpec Callback() => new("callback", new { url = Sink.Url });

    public void Mark(string label) => Markers.Add(new Marker(Clock.NowMs, label));

    /// <summary>Completes once a third of the load has been sent (the moment a drill strikes), or when the load ended first.</summary>
    public Task StrikePointAsync(LoadSettings settings, Task loadRun, CancellationToken cancellationToken) =>
        Task.WhenAny(Load.WhenStartedAsync(Math.Max(1, settings.Tasks / 3), cancellationToken), loadRun);

    /// <summary>Waits for every acknowledged task to be final (or the deadline), then adds the run up.</summary>
    /// <param name="disruptedGateway">The gateway struck, when it was one: acknowledgements from it do not count as recovery.</param>
    public async Task<DrainedRun> DrainAsync(IReadOnlyList<Submission> submissions, double? struckMs, string? disruptedGateway, TimeSpan timeout, CancellationToken cancellationToken)
    {
        context.Log($"Draining {submissions.Count(s => s.Acknowledged)} acknowledged tasks (up to {timeout.TotalSeconds:0} s).");
        var drained = await new Drainer(Client).DrainAsync(submissions.Where(s => s.Acknowledged).Select(s => s.TaskId!.Value), timeout, cancellationToken);
        var figures = RunFigures.Compute(
            submissions,
            drained.ToDictionary(d => d.Key, d => new ObservedTask(d.Value.Status, d.Value.Attempt)),
            Sink.Calls(),
            struckMs,
            disruptedGateway);
        return new DrainedRun(submissions, drained, figures);
    }

    /// <summary>The invariants every drill holds the cluster to, whatever it struck.</summary>
    public static IEnumerable<Invariant> NothingLostOrRepeated(RunFigures figures) =>
    [
        new("no acknowledged task lost", figures.Lost == 0, $"{figures.Lost} of {figures.Acknowledged} not final after the drain"),
        new("no attempt repeated its side effect", figures.RepeatedAttempts == 0, $"{figures.RepeatedAttempts} tasks with an attempt that called back twice"),
        new("no task succeeded without its side effect", figures.MissingSideEffects == 0, $"{figures.MissingSideEffects} tasks"),
    ];

    public Timeline Timeline(IReadOnlyList<Submission> submissions) =>
        Analysis.Timeline.Build(submissions, Recorder.FailedAttempts.Select(f => f.Ms), bucketMs: 500);

    /// <summary>Writes the run's report.json, report.md and timeline.png into <paramref name="directory"/>.</summary>
    public Task WriteAsync(string directory, DrillReport report, IReadOnlyList<Submission> submissions, string chartTitle, CancellationToken cancellationToken) =>
        ReportWriter.WriteAsync(directory, report, ReportWriter.Markdown(report), Timeline(submissions), chartTitle, Markers, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();

        // Disposes the recorder under it too.
        fields.Dispose();
        await Sink.DisposeAsync();
    }
}

/// <summary>A run after its drain: what was submitted, the last state of each acknowledged task, and what it adds up to.</summary>
internal sealed record DrainedRun(IReadOnlyList<Submission> Submissions, IReadOnlyDictionary<Guid, TaskInfo> Tasks, RunFigures Figures);
