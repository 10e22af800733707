namespace RedLockNet.Benchmarks;

/// <summary>What one Redlock member is in a console measurement.</summary>
internal enum MemberShape
{
    /// <summary>One standalone redis-server.</summary>
    Single,

    /// <summary>A Redis Cluster of <see cref="MemberSet.ClusterShards"/> masters, listed in the options by one seed endpoint.</summary>
    Cluster,
}
