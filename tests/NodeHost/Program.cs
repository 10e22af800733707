using System.Net.Sockets;
using System.Runtime.InteropServices;
using Garnet;
using Garnet.common;

// Hosts one Garnet server on 127.0.0.1:<port> for the test rig; further arguments are Garnet options (the rig's TLS
// and ACL settings: --tls, --cert-file-name, --auth Acl, --acl-file ...). SIGTERM/SIGINT shut it down cleanly (exit code 0);
// the rig's SIGKILL/SIGSTOP/SIGCONT act on this process directly.
if (args.Length < 1 || !int.TryParse(args[0], out _))
{
    await Console.Error.WriteLineAsync("usage: RedLockNet.NodeHost <port> [garnet options]");
    return 2;
}

using var shutdown = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestShutdown);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestShutdown);

using (var server = new GarnetServer(["--port", args[0], "--bind", "127.0.0.1", "--lua", "true", "--lua-transaction-mode", "true", .. args[1..]]))
{
    try
    {
        server.Start();
    }
    catch (Exception e) when (e is GarnetException or SocketException)
    {
        // e.g. the port is taken; the rig reads this from stderr (no abort, no core dump)
        await Console.Error.WriteLineAsync(e.ToString());
        return 1;
    }

    Console.WriteLine("ready");
    try
    {
        await Task.Delay(Timeout.Infinite, shutdown.Token);
    }
    catch (OperationCanceledException)
    {
        // SIGTERM or SIGINT
    }
}

return 0;

void RequestShutdown(PosixSignalContext context)
{
    context.Cancel = true;
    shutdown.Cancel();
}
