using System.Reflection;
using RedLockNet.Nodes.Scripts;

namespace RedLockNet.Tests.Unit.Core;

/// <summary>
/// Calls sent without waiting (a waiter leaving its rooms) do not retry a NOSCRIPT with the script's text: every Lua
/// script a lock node runs must be in the catalog loaded into each node at connect and reconnect.
/// </summary>
public class ScriptCatalogTests
{
    [Fact]
    public void Every_lua_script_a_lock_node_runs_is_loaded_at_connect()
    {
        var described = typeof(RedLockFactory).Assembly.GetTypes()
            .Select(type => type.GetField("Script", BindingFlags.Public | BindingFlags.Static))
            .Where(field => field?.FieldType == typeof(LockScript))
            .Select(field => (LockScript)field!.GetValue(null)!)
            .Where(script => script.IsScript && script.Name != "fenced_set") // fenced_set runs on the protected resource
            .ToList();

        Assert.True(described.Count >= 15, $"only {described.Count} script descriptions found");
        Assert.Empty(described.Except(ScriptCatalog.LockNodeScripts.Concat(ScriptCatalog.ClusterShardScripts)).Select(script => $"{script.Name} is in neither ScriptCatalog.LockNodeScripts nor ClusterShardScripts"));
    }
}
