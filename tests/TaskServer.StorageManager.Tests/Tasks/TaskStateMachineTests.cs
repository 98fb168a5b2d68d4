using System.Reflection;
using TaskServer.StorageManager.Tasks;

namespace TaskServer.StorageManager.Tests.Tasks;

public sealed class TaskStateMachineTests
{
    private static readonly Guid Id = Guid.CreateVersion7();
    private static readonly Guid Token = Guid.NewGuid();

    /// <summary>One instance of every transition there is; the reflection test below keeps this list complete.</summary>
    private static readonly TaskTransition[] EveryTransition =
    [
        new StartAttempt(Id, Token, "w"),
        new CompleteAttempt(Id, Token, "1"),
        new FailAttempt(Id, Token, "e"),
        new RetryAttempt(Id, Token, "e", Guid.NewGuid()),
        new CancelTask(Id),
        new ReleaseAttempt(Id, Token, Guid.NewGuid()),
    ];

    [Fact]
    public void The_transitions_are_a_closed_set_no_other_assembly_can_extend()
    {
        var constructors = typeof(TaskTransition).GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);

        Assert.All(constructors, c => Assert.True(c.IsFamilyAndAssembly, $"{c} must be private protected"));
        var cases = typeof(TaskTransition).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(TaskTransition))).ToList();
        Assert.All(cases, t => Assert.True(t.IsSealed, $"{t.Name} must be sealed"));
        Assert.Equal(cases.Order(TypeNameComparer.Instance), EveryTransition.Select(t => t.GetType()).Order(TypeNameComparer.Instance));
    }

    [Fact]
    public void Every_transition_makes_only_moves_the_state_machine_allows()
    {
        var moves = EveryTransition.SelectMany(t => t.From.Select(from => (from, t.Target))).ToHashSet();

        Assert.Equal(TaskStateMachine.AllowedMoves.Order(), moves.Order());
    }

    [Theory]
    [InlineData(TaskState.Succeeded)]
    [InlineData(TaskState.Failed)]
    [InlineData(TaskState.Cancelled)]
    public void A_final_state_is_left_by_no_transition(TaskState final)
    {
        Assert.True(final.IsFinal());
        Assert.DoesNotContain(EveryTransition, t => t.From.Contains(final));
        Assert.All(Enum.GetValues<TaskState>(), to => Assert.False(TaskStateMachine.CanMove(final, to)));
    }

    [Fact]
    public void Only_cancellation_may_override_any_attempt()
    {
        Assert.Equal([typeof(CancelTask)], EveryTransition.Where(t => t.ExpectedToken is null).Select(t => t.GetType()));
        Assert.Equal(Token, new CancelTask(Id, Token).ExpectedToken);
    }

    [Fact]
    public void The_idempotency_fingerprint_changes_with_type_payload_and_max_attempts()
    {
        var baseline = NewTask.Fingerprint("echo", """{"a":1}""", 3);

        Assert.Equal(baseline, NewTask.Fingerprint("echo", """{"a":1}""", 3));
        Assert.NotEqual(baseline, NewTask.Fingerprint("hash", """{"a":1}""", 3));
        Assert.NotEqual(baseline, NewTask.Fingerprint("echo", """{"a":2}""", 3));
        Assert.NotEqual(baseline, NewTask.Fingerprint("echo", """{"a":1}""", 4));
    }

    private sealed class TypeNameComparer : IComparer<Type>
    {
        public static readonly TypeNameComparer Instance = new();

        public int Compare(Type? x, Type? y) => string.CompareOrdinal(x?.FullName, y?.FullName);
    }
}
