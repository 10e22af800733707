namespace RedLockNet;

/// <summary>When a restarted node is kept out of the vote.</summary>
public enum RestartQuarantineMode
{
    /// <summary>Quarantine a restarted node unless it reports persistence (Redis <c>aof_enabled:1</c>). The default.</summary>
    WhenNotPersistent,

    /// <summary>Quarantine every restarted node, persistent or not.</summary>
    Always,

    /// <summary>Never: a restarted node votes at once (only safe with fsync-always persistence or delayed restarts).</summary>
    Off,
}
