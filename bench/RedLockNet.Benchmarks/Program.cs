using System.Reflection;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using RedLockNet.Benchmarks.Load;

namespace RedLockNet.Benchmarks;

/// <summary>Entry point: every BenchmarkDotNet command-line option works (<c>--filter</c>, <c>--job short</c>, <c>--list flat</c>...).</summary>
public static class Program
{
    /// <summary>Runs the benchmarks picked on the command line (or asks which, when none is given).</summary>
    public static async Task Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "renewal-cost")
        {
            // dotnet run -c Release --project bench/RedLockNet.Benchmarks -- renewal-cost [locks] [seconds] [expiry seconds] [--members single|cluster|both] [--quarantine on|off]
            Environment.ExitCode = await RenewalCost.RunAsync(args[1..]);
            return;
        }

        if (args.Length > 0 && args[0] == "capacity")
        {
            // dotnet run -c Release --project bench/RedLockNet.Benchmarks -- capacity [--seconds S] [--callers N] [--rounds N] [--warmup S] [--members single|cluster|both] [--quarantine on|off]
            Environment.ExitCode = await Capacity.RunAsync(args[1..]);
            return;
        }

        if (args.Length > 0 && args[0] == "load")
        {
            // dotnet run -c Release --project bench/RedLockNet.Benchmarks -- load [--rounds N] [--seconds S] [--seed N] [--quick]
            Environment.ExitCode = await LoadHarness.RunAsync(args[1..]);
            return;
        }

        if (args.Length > 0 && args[0] == "fencing-contention")
        {
            // dotnet run -c Release --project bench/RedLockNet.Benchmarks -- fencing-contention [contenders] [acquisitions]
            await FencingContention.RunAsync(args[1..]);
            return;
        }

        // results go to bench/RedLockNet.Benchmarks/BenchmarkDotNet.Artifacts, wherever the command is run from;
        // --artifacts <dir> on the command line takes precedence
        var artifacts = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "DefaultArtifactsPath")?.Value;
        var config = artifacts is null ? DefaultConfig.Instance : DefaultConfig.Instance.WithArtifactsPath(artifacts);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }
}
