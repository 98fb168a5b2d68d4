using System.Runtime.InteropServices;

namespace TaskServer.Drill.Reports;

/// <summary>Where a report was measured: figures from a 2-core machine and a 32-core one are not comparable.</summary>
internal sealed record MachineInfo(int Cores, string Os, string Cpu, string Runtime, string HostName)
{
    public static async Task<MachineInfo> CurrentAsync(CancellationToken cancellationToken) => new(
        Environment.ProcessorCount,
        RuntimeInformation.OSDescription,
        await CpuModelAsync(cancellationToken),
        RuntimeInformation.FrameworkDescription,
        Environment.MachineName);

    private static async Task<string> CpuModelAsync(CancellationToken cancellationToken)
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo))
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }

        var line = (await File.ReadAllLinesAsync(cpuinfo, cancellationToken)).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }
}
