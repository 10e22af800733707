using Garnet;
using var server = new GarnetServer(["--port", args[0], "--bind", "127.0.0.1", "--lua", "true"]);
server.Start();
Console.WriteLine("ready");
await Task.Delay(Timeout.Infinite);
