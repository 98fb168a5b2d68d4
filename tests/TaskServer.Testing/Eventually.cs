namespace TaskServer.Testing;

/// <summary>Waits on a condition with a deadline, never on a fixed sleep.</summary>
public static class Eventually
{
    public static async Task<T> ReturnsAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (value is not null)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }

    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        await ReturnsAsync<object>(async () => await condition() ? new object() : null, timeout, what);
}
