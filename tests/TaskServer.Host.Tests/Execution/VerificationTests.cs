using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using TaskServer.Host.Execution;
using TaskServer.Host.Faults;

namespace TaskServer.Host.Tests.Execution;

public sealed class VerificationTests
{
    private static readonly IOptions<ExecutionOptions> Defaults = Options.Create(new ExecutionOptions());

    [Theory]
    [InlineData("""{"order":42,"items":["a",{"b":null}]}""")]
    [InlineData("[1,2.5,true]")]
    public async Task An_echo_verifies_against_its_payload_and_the_incorrect_fault_fails_it(string payload)
    {
        var faults = new FaultState();
        var echo = new EchoHandler(faults);
        var element = JsonElement.Parse(payload);

        var right = await echo.ExecuteAsync(Handlers.Context(payload), TestContext.Current.CancellationToken);
        faults.Set(FaultSettings.None with { Incorrect = true });
        var wrong = await echo.ExecuteAsync(Handlers.Context(payload), TestContext.Current.CancellationToken);

        Assert.Null(echo.Verify(element, right));
        Assert.NotNull(echo.Verify(element, wrong));
        Assert.NotNull(echo.Verify(element, JsonNode.Parse("""{"order":43}""")));
        Assert.NotNull(echo.Verify(element, null));
    }

    [Fact]
    public async Task A_hash_verifies_against_the_recomputed_digest_and_the_incorrect_fault_fails_it()
    {
        var faults = new FaultState();
        var hash = new HashHandler(faults, Defaults);
        const string payload = """{"data":"abc","rounds":3}""";
        var element = JsonElement.Parse(payload);

        var right = await hash.ExecuteAsync(Handlers.Context(payload), TestContext.Current.CancellationToken);
        faults.Set(FaultSettings.None with { Incorrect = true });
        var wrong = await hash.ExecuteAsync(Handlers.Context(payload), TestContext.Current.CancellationToken);

        Assert.Null(hash.Verify(element, right));
        Assert.NotNull(hash.Verify(element, wrong));
        Assert.NotNull(hash.Verify(element, new JsonObject { ["sha256"] = right!["sha256"]!.GetValue<string>(), ["rounds"] = 2 }));
        Assert.NotNull(hash.Verify(element, new JsonObject { ["rounds"] = 3 }));
        Assert.NotNull(hash.Verify(element, JsonValue.Create("x")));
    }

    [Fact]
    public async Task Each_canary_verifies_on_a_sound_worker()
    {
        var faults = new FaultState();
        IVerifiesResults[] verifiers = [new EchoHandler(faults), new HashHandler(faults, Defaults)];
        foreach (var verifier in verifiers)
        {
            var handler = (ITaskHandler)verifier;
            Assert.Null(handler.Validate(verifier.Canary));
            var result = await handler.ExecuteAsync(new TaskExecutionContext(Guid.Empty, 1, 1, verifier.Canary), TestContext.Current.CancellationToken);
            Assert.Null(verifier.Verify(verifier.Canary, result));
        }
    }
}
