using System.CommandLine;
using Spectre.Console;
using TaskServer.Client;
using TaskServer.Drill.Bench;
using TaskServer.Drill.Cluster;
using TaskServer.Drill.Scenarios;

namespace TaskServer.Drill.Cli;

/// <summary>The command line: one subcommand per drill, each with --cluster and --report.</summary>
internal static class DrillCommands
{
    /// <summary>Exit code of a drill whose invariants failed.</summary>
    public const int InvariantsFailed = 1;

    /// <summary>Exit code of a drill that could not run (no cluster file, no primary, no PID file).</summary>
    public const int CouldNotRun = 2;

    /// <summary>Exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    public static RootCommand Build()
    {
        var root = new RootCommand("TaskServer drills and benchmarks against a running cluster (see scripts/cluster.sh). Each writes report.json and report.md, with timeline.png or report.html.");
        root.Add(KillPrimary());
        root.Add(KillWorker());
        root.Add(PausePrimary());
        root.Add(RollingRestart());
        root.Add(BenchCommand());
        root.Add(ExperimentCommand());
        root.Add(ChaosCommand());
        root.Add(ClusterCommand());
        return root;
    }

    private static Command KillPrimary()
    {
        var command = new Command("kill-primary", "SIGKILL the primary gateway under a steady stream of callback tasks; passes when the backup takes over and no acknowledged task is lost.");
        var common = Common(command, "kill-primary");
        var load = Load(command, tasks: 1000);
        var repeat = new Option<int>("--repeat") { Description = "Drills to run on this cluster, restarting the struck node in between (scripts/cluster.sh restart); one aggregate report over them, each run's under run-NN/.", DefaultValueFactory = _ => 1 };
        command.Add(repeat);
        Positive(repeat);
        command.SetAction((parse, token) => RunAsync(
            parse,
            common,
            context => parse.GetValue(repeat) is var n && n > 1
                ? new RepeatedGatewayDrill(context, load.Read(parse), n).RunAsync(token)
                : new GatewayDrill(context, load.Read(parse), pause: null).RunAsync(token),
            token));
        return command;
    }

    private static Command KillWorker()
    {
        var command = new Command("kill-worker", "SIGKILL a worker that is running tasks; passes when its orphans are requeued and no acknowledged task is lost.");
        var common = Common(command, "kill-worker");
        var load = Load(command, tasks: 600);
        var worker = new Option<string>("--worker") { Description = "The node name to kill (its PID file is PIDS_DIR/NAME.pid).", DefaultValueFactory = _ => "w1" };
        command.Add(worker);
        command.SetAction((parse, token) => RunAsync(parse, common, context => new KillWorkerDrill(context, load.Read(parse), parse.GetValue(worker)!).RunAsync(token), token));
        return command;
    }

    private static Command RollingRestart()
    {
        var command = new Command("rolling-restart", "A deploy under load: SIGTERM every worker-only node in turn, wait for its exit, start it, wait until ready; passes when nothing is lost or re-run and no client got an error answer.");
        var common = Common(command, "rolling-restart");
        var load = Load(command, tasks: 1200, rate: 20);
        var duration = DurationOption("--task-duration", "How long each sleep task runs.", TimeSpan.FromMilliseconds(1500));
        command.Add(duration);
        command.SetAction((parse, token) => RunAsync(parse, common, context => new RollingRestartDrill(context, load.Read(parse), parse.GetValue(duration)).RunAsync(token), token));
        return command;
    }

    private static Command PausePrimary()
    {
        var command = new Command("pause-primary", "SIGSTOP the primary past its lease, then SIGCONT; passes when the backup took over, one primary held each epoch, the old one woke as a backup and nothing was lost.");
        var common = Common(command, "pause-primary");
        var load = Load(command, tasks: 600);
        var pause = DurationOption("--pause", "How long the primary stays stopped (LeaseTtl 2 s + 3 s by default).", TimeSpan.FromSeconds(5));
        command.Add(pause);
        command.SetAction((parse, token) => RunAsync(parse, common, context => new GatewayDrill(context, load.Read(parse), parse.GetValue(pause)).RunAsync(token), token));
        return command;
    }

    private static Command BenchCommand()
    {
        var command = new Command("bench", "Throughput and latency: gateway vs straight to the workers, paced latency both ways, raw Hangfire enqueue, an idle cluster's CPU and statements, end to end with CPU and database work per task; reports them against DESIGN's targets.");
        var common = Common(command, "bench");
        var duration = DurationOption("--duration", "How long each timed phase runs.", TimeSpan.FromSeconds(20));
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent callers in the closed-loop phases.", DefaultValueFactory = _ => 16 };
        var tasks = new Option<int>("--e2e-tasks") { Description = "Tasks submitted in the end-to-end phase.", DefaultValueFactory = _ => 20_000 };
        var rate = new Option<double>("--paced-rate") { Description = "Rate of the paced latency phases, through the gateway and straight to the workers (DESIGN's latency target is at 200/s).", DefaultValueFactory = _ => 200 };
        var drain = DurationOption("--drain-timeout", "How long to wait for a phase's backlog to execute (the end-to-end phase's submissions too).", TimeSpan.FromMinutes(10));
        var idle = DurationOption("--idle", "How long the idle phase lasts (nothing submitted; CPU and statements of the cluster's own background).", TimeSpan.FromSeconds(30));
        var runs = new Option<int>("--runs") { Description = "Repeat the whole bench; the report gives each run (under run-NN/) and the median.", DefaultValueFactory = _ => 1 };
        var warmUp = DurationOption("--warm-up", "Unmeasured submissions through the gateway and straight to the workers before each run, so no phase pays for the nodes' JIT.", TimeSpan.FromSeconds(5));
        command.Add(duration);
        command.Add(concurrency);
        command.Add(tasks);
        command.Add(rate);
        command.Add(drain);
        command.Add(idle);
        command.Add(runs);
        command.Add(warmUp);
        Positive(concurrency);
        Positive(tasks);
        Positive(rate);
        Positive(runs);
        command.SetAction((parse, token) => RunAsync(
            parse,
            common,
            context => new BenchRun(
                context,
                new BenchSettings(parse.GetValue(duration), parse.GetValue(concurrency), parse.GetValue(tasks), parse.GetValue(rate), parse.GetValue(drain), parse.GetValue(idle), parse.GetValue(runs), parse.GetValue(warmUp))).RunAsync(token),
            token));
        return command;
    }

    private static Command ExperimentCommand()
    {
        var command = new Command("experiment", "The fault-tolerance experiment: under a steady load, each phase (baseline, crash-worker, crash-primary, pause-primary, latency, intermittent, incorrect, database-restart, partition-primary) strikes N times; TTD and TTR per phase from the cluster's own records, load figures, lost and repeated side effects. Writes report.json, report.md and report.html.");
        var common = Common(command, "experiment");
        var repeat = new Option<int>("--repeat") { Description = "Repetitions of each fault phase (the baseline runs once); the struck node is restored in between.", DefaultValueFactory = _ => 5 };
        var phases = new Option<string[]>("--phases") { Description = "The phases to run, in the experiment's order whatever the order given (all by default).", AllowMultipleArgumentsPerToken = true };
        var rate = new Option<double>("--rate") { Description = "Submissions per second of the steady load.", DefaultValueFactory = _ => 50 };
        var before = DurationOption("--before", "Load before each strike (the baseline recovery is measured against).", TimeSpan.FromSeconds(3));
        var window = DurationOption("--window", "Load after each strike: the time the cluster has to detect and recover.", TimeSpan.FromSeconds(20));
        var drain = DurationOption("--drain-timeout", "How long to wait for every acknowledged task of a repetition to be final; what is not by then is lost.", TimeSpan.FromSeconds(60));
        foreach (var option in new Option[] { repeat, phases, rate, before, window, drain })
        {
            command.Add(option);
        }

        Positive(repeat);
        Positive(rate);
        phases.Validators.Add(result =>
        {
            var unknown = Names(result.GetValueOrDefault<string[]>()).Where(n => Experiment.Phase.All.All(p => p.Name != n)).ToList();
            if (unknown.Count > 0)
            {
                result.AddError($"--phases: unknown {string.Join(", ", unknown)}; the phases are {string.Join(", ", Experiment.Phase.All.Select(p => p.Name))}.");
            }
        });
        command.SetAction((parse, token) => RunAsync(
            parse,
            common,
            context => new Experiment.ExperimentRun(
                context,
                new Experiment.ExperimentSettings(
                    Experiment.Phase.Select(Names(parse.GetValue(phases))),
                    parse.GetValue(repeat),
                    parse.GetValue(rate),
                    parse.GetValue(before),
                    parse.GetValue(window),
                    parse.GetValue(drain))).RunAsync(token),
            token));
        return command;
    }

    private static Command ChaosCommand()
    {
        var command = new Command("chaos", "Randomized faults under a mixed load: overlapping kills, pauses, database restarts and cuts, latency, crash tasks and rolling restarts drawn from --seed; then a checker over every acknowledged task (lost, attempts past maxAttempts, stale side effects, statuses going backwards, wrong results). Needs 'scripts/cluster.sh up --faults'. Writes report.json, report.md and report.html.");
        var common = Common(command, "chaos");
        var duration = DurationOption("--duration", "How long the load runs and the faults strike.", TimeSpan.FromMinutes(10));
        var seed = new Option<int>("--seed") { Description = "Seeds the fault schedule and the load: the same seed gives the same schedule. A random one (printed, and in the report) when omitted.", DefaultValueFactory = _ => Random.Shared.Next() };
        var rate = new Option<double>("--rate") { Description = "Submissions per second, through both gateways.", DefaultValueFactory = _ => 100 };
        var drain = DurationOption("--drain-timeout", "How long, once the cluster is whole again, every acknowledged task has to be final; what is not by then is lost.", TimeSpan.FromSeconds(60));
        command.Add(duration);
        command.Add(seed);
        command.Add(rate);
        command.Add(drain);
        Positive(rate);
        command.SetAction((parse, token) => RunAsync(
            parse,
            common,
            context => new Chaos.ChaosRun(context, new Chaos.ChaosSettings(parse.GetValue(duration), parse.GetValue(seed), parse.GetValue(rate), parse.GetValue(drain))).RunAsync(token),
            token));
        return command;
    }

    /// <summary>Phase names as given: several arguments, comma-separated lists, or both.</summary>
    private static List<string> Names(string[]? values) =>
        [.. (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    private static Command ClusterCommand()
    {
        var status = new Command("status", "Each node of the cluster file with its process and role, then the lease, the registry and the last change of primary (scripts/cluster.sh status runs this).");
        var statusCluster = ClusterFileOption();
        status.Add(statusCluster);
        status.SetAction((parse, token) => ClusterActionAsync(parse.GetValue(statusCluster)!, async (env, api) =>
        {
            Console.Write(await new ClusterStatus(env, api).RenderAsync(token));
            return 0;
        }, token));

        var workers = new Command("healthy-workers", "How many workers a gateway's balancer routes to, from its /health/ready (0 when it does not answer); scripts/cluster.sh up waits on it.");
        var workersCluster = ClusterFileOption();
        var gateway = new Option<Uri>("--gateway")
        {
            Description = "The gateway to ask (http://host:port).",
            Required = true,
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps))
                {
                    return url;
                }

                result.AddError($"--gateway: '{text}' is not an http(s) URL.");
                return null;
            },
        };
        workers.Add(workersCluster);
        workers.Add(gateway);
        workers.SetAction((parse, token) => ClusterActionAsync(parse.GetValue(workersCluster)!, async (_, api) =>
        {
            Console.WriteLine(await api.HealthyWorkersAsync(parse.GetValue(gateway)!, token));
            return 0;
        }, token));

        var command = new Command("cluster", "The local cluster as scripts/cluster.sh describes it.");
        command.Add(status);
        command.Add(workers);
        return command;
    }

    private static Option<string> ClusterFileOption() =>
        new("--cluster") { Description = "The cluster's env file (scripts/cluster.sh up writes it).", DefaultValueFactory = _ => ".cluster/env" };

    private static async Task<int> ClusterActionAsync(string clusterFile, Func<ClusterEnv, ClusterApi, Task<int>> action, CancellationToken cancellationToken)
    {
        try
        {
            var env = await ClusterEnv.LoadAsync(clusterFile, cancellationToken);
            using var ca = env.LoadCaCertificate();
            using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1) }.Trusting(ca)) { Timeout = Timeout.InfiniteTimeSpan };
            return await action(env, new ClusterApi(http, env));
        }
        catch (Exception e) when (e is ClusterEnvException or DrillException)
        {
            await Console.Error.WriteLineAsync("cluster: " + e.Message);
            return CouldNotRun;
        }
    }

    private sealed record CommonOptions(Option<string> Cluster, Option<string> Report);

    private sealed record LoadOptions(Option<double> Rate, Option<int> Tasks, Option<TimeSpan> DrainTimeout)
    {
        public Scenarios.LoadSettings Read(ParseResult parse) => new(parse.GetValue(Rate), parse.GetValue(Tasks), parse.GetValue(DrainTimeout));
    }

    private static CommonOptions Common(Command command, string name)
    {
        var cluster = new Option<string>("--cluster") { Description = "The cluster's env file (scripts/cluster.sh up writes it).", DefaultValueFactory = _ => ".cluster/env" };
        var report = new Option<string>("--report") { Description = "Directory for report.json, report.md and timeline.png.", DefaultValueFactory = _ => Path.Combine("artifacts", "drill", name) };
        command.Add(cluster);
        command.Add(report);
        return new CommonOptions(cluster, report);
    }

    private static LoadOptions Load(Command command, int tasks, double rate = 50)
    {
        var perSecond = new Option<double>("--rate") { Description = "Submissions per second.", DefaultValueFactory = _ => rate };
        var count = new Option<int>("--tasks") { Description = "Tasks to submit.", DefaultValueFactory = _ => tasks };
        var drain = DurationOption("--drain-timeout", "How long to wait for every acknowledged task to be final; what is not by then is lost.", TimeSpan.FromSeconds(120));
        command.Add(perSecond);
        command.Add(count);
        command.Add(drain);
        Positive(perSecond);
        Positive(count);
        return new LoadOptions(perSecond, count, drain);
    }

    private static void Positive<T>(Option<T> option)
        where T : struct, System.Numerics.INumber<T>
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<T>() <= T.Zero)
            {
                result.AddError($"{option.Name} must be positive.");
            }
        });
    }

    private static Option<TimeSpan> DurationOption(string name, string description, TimeSpan defaultValue) => new(name)
    {
        Description = description + " E.g. 500ms, 20s, 2m.",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (Durations.TryParse(text, out var duration))
            {
                return duration;
            }

            result.AddError($"{name}: '{text}' is not a duration (e.g. 500ms, 20s, 2m).");
            return default;
        },
    };

    private static async Task<int> RunAsync(ParseResult parse, CommonOptions common, Func<DrillContext, Task<int>> drill, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        try
        {
            using var context = await DrillContext.CreateAsync(parse.GetValue(common.Cluster)!, parse.GetValue(common.Report)!, CommandLine(parse), console, cancellationToken);
            return await drill(context);
        }
        catch (Exception e) when (e is ClusterEnvException or DrillException)
        {
            console.MarkupLine($"[red]Cannot run:[/] {Markup.Escape(e.Message)}");
            return CouldNotRun;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.MarkupLine("[red]Interrupted[/] (SIGINT or SIGTERM): the run was abandoned and no report was written.");
            return Interrupted;
        }
        catch (OperationCanceledException e)
        {
            // System.CommandLine would end the run silently with exit code 1 on any cancellation: say what happened.
            console.MarkupLine($"[red]Failed:[/] an operation was cancelled that the drill did not cancel: {Markup.Escape(e.ToString())}");
            return CouldNotRun;
        }
    }

    private static string CommandLine(ParseResult parse) =>
        "taskserver-drill " + string.Join(' ', parse.Tokens.Select(t => t.Value.Contains(' ', StringComparison.Ordinal) ? $"'{t.Value}'" : t.Value));
}
