using System.Globalization;
using System.Text.Json;
using RedLockNet;
using RedLockNet.Chaos;
using StackExchange.Redis;

// Usage: RedLockNet.ChaosClient --nodes h:p,h:p,h:p --resource-node h:p --lock name --key counter --client id
//        --ttl-ms 2000 --iterations 5 --duration-ms 20000 --fencing true --think-ms 300 --wait-ms 5000
//        [--primitive lock|write|semaphore|read] [--max-count 2] [--seed 1]
//        lock (default): ChaosWorker on the plain lock (acquire, read-modify-write of the counter, release);
//        write: the same on the write side of the reader-writer lock of that name (recorded as a writer's hold);
//        semaphore, read: PrimitiveWorker holding a permit of a --max-count semaphore, or a read lock, for think-ms,
//        printing "holding" once held, then checking EnsureValid again ("valid" or "lost") before it releases
//        or: --mode idempotent --nodes ... --resource-node h:p --key delivery-key --starts starts-key --client id
//        --ttl-ms 2000 --work-ms 60000 (one delivery through IdempotentProcessor; see IdempotentDelivery)
// Prints one JSON ChaosEvent per line on stdout.
var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    arguments[args[i].TrimStart('-')] = args[i + 1];
}

string Arg(string name, string fallback) => arguments.TryGetValue(name, out var v) ? v : fallback;
int Int(string name, int fallback) => int.Parse(Arg(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

var client = Arg("client", "proc");
var primitive = Arg("primitive", "lock");
if (primitive is not ("lock" or "write" or "semaphore" or "read"))
{
    await Console.Error.WriteLineAsync($"unknown --primitive '{primitive}' (lock, write, semaphore, read)");
    return 2;
}

var fencing = bool.Parse(Arg("fencing", "true"));
var options = new RedLockOptions
{
    NodeTimeout = TimeSpan.FromMilliseconds(500),
    ConnectTimeout = TimeSpan.FromSeconds(2),
    Fencing = fencing,
};
if (Arg("mode", "locks") == "idempotent")
{
    options.RestartQuarantinePeriod = TimeSpan.FromMilliseconds(Int("ttl-ms", 2000) + 1000); // covers its locks
}

foreach (var node in Arg("nodes", "").Split(',', StringSplitOptions.RemoveEmptyEntries))
{
    options.Nodes.Add(node);
}

var json = new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
var gate = new Lock();
void Emit(ChaosEvent e)
{
    var line = JsonSerializer.Serialize(e, json);
    lock (gate)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}

await using var locks = await RedLockFactory.ConnectAsync(options);
await using var resource = await ConnectionMultiplexer.ConnectAsync(Arg("resource-node", "") + ",abortConnect=false");
if (Arg("mode", "locks") == "idempotent")
{
    Emit(new ChaosEvent(client, "ready", ChaosEvent.Now));
    await IdempotentDelivery.RunAsync(
        locks, resource.GetDatabase(), Arg("key", "delivery"), Arg("starts", "delivery:starts"), client,
        TimeSpan.FromMilliseconds(Int("ttl-ms", 2000)), TimeSpan.FromMilliseconds(Int("work-ms", 100)), Emit);
    Emit(new ChaosEvent(client, "done", ChaosEvent.Now));
    return 0;
}

var ttl = TimeSpan.FromMilliseconds(Int("ttl-ms", 2000));
var think = TimeSpan.FromMilliseconds(Int("think-ms", 50));
var wait = TimeSpan.FromMilliseconds(Int("wait-ms", 5000));
if (primitive is "semaphore" or "read")
{
    var lockName = Arg("lock", "chaos");
    var maxCount = Int("max-count", 2);
    var request = new LockRequest { Expiry = ttl, WaitTimeout = wait, AutoRenew = false };
    var holder = new PrimitiveWorker(
        client,
        Int("seed", 0),
        async (_, ct) => primitive == "semaphore"
            ? await locks.AcquireSemaphoreAsync(lockName, maxCount, request, ct)
            : await locks.AcquireReadAsync(lockName, request, ct),
        Emit)
    {
        WriteOneIn = 0,
        Hold = think,
        CheckAfterHold = true,
        OnHolding = op => Emit(new ChaosEvent(client, "holding", ChaosEvent.Now, op)),
        AcquireBound = wait + TimeSpan.FromSeconds(10),
    };
    Emit(new ChaosEvent(client, "ready", ChaosEvent.Now));
    var held = await holder.RunAsync(CancellationToken.None, Int("iterations", 5), TimeSpan.FromMilliseconds(Int("duration-ms", 20000)));
    Emit(new ChaosEvent(client, "done", ChaosEvent.Now, held));
    return 0;
}

var worker = new ChaosWorker(
    client,
    locks,
    resource.GetDatabase(),
    Arg("lock", "chaos"),
    Arg("key", "chaos:counter"),
    ttl,
    fencing,
    think,
    wait,
    Emit)
{
    Writes = primitive == "write",
};
Emit(new ChaosEvent(client, "ready", ChaosEvent.Now));
var ops = await worker.RunAsync(Int("iterations", 5), TimeSpan.FromMilliseconds(Int("duration-ms", 20000)), CancellationToken.None);
Emit(new ChaosEvent(client, "done", ChaosEvent.Now, ops));
return 0;
