namespace RedLockNet.TestRig;

/// <summary>
/// How the nodes of a <see cref="TestNodeCluster"/> are locked down. With <see cref="Tls"/> every node speaks TLS only
/// (redis-server: <c>--port 0 --tls-port</c>; Garnet: <c>--tls</c>) with a server certificate for 127.0.0.1/localhost
/// signed by a throwaway CA made with <c>openssl</c> at start. With <see cref="User"/> the nodes load an ACL file: the
/// default user is off, <see cref="User"/> gets <see cref="UserRules"/>, and the rig's own admin user (for readiness
/// checks and inspection) gets everything. Passwords are random per cluster (<see cref="NodeCredentials"/>).
/// </summary>
public sealed record NodeSecurity
{
    /// <summary>Serve TLS only, with a certificate from a CA made for this cluster.</summary>
    public bool Tls { get; init; }

    /// <summary>The ACL user tests connect as; <see langword="null"/> for no ACL file (the default user open, no password).</summary>
    public string? User { get; init; }

    /// <summary>
    /// The user's rules in ACL file syntax, after <c>user NAME on &gt;password</c>: commands, key patterns (<c>~</c>)
    /// and channel patterns (<c>&amp;</c>; Garnet 2.2.8 knows none and only <c>~*</c> for keys).
    /// Default <see langword="null"/>: everything.
    /// </summary>
    public string? UserRules { get; init; }
}

/// <summary>What a client needs to reach the nodes of a cluster started with a <see cref="NodeSecurity"/>.</summary>
/// <param name="User">The ACL user, or <see langword="null"/> without ACL.</param>
/// <param name="Password">The user's password (random), or <see langword="null"/> without ACL.</param>
/// <param name="AdminUser">A user with every permission, for inspecting the nodes; <see langword="null"/> without ACL.</param>
/// <param name="AdminPassword">The admin user's password (random), or <see langword="null"/> without ACL.</param>
/// <param name="CaCertificatePath">The CA certificate (PEM) that signed the nodes' certificate, or <see langword="null"/> without TLS.</param>
public sealed record NodeCredentials(string? User, string? Password, string? AdminUser, string? AdminPassword, string? CaCertificatePath)
{
    /// <summary>Whether the nodes speak TLS only.</summary>
    public bool Tls => CaCertificatePath is not null;

    /// <summary>The user names and the CA path; never the passwords (a record would print them).</summary>
    public override string ToString() => $"NodeCredentials {{ User = {User}, AdminUser = {AdminUser}, CaCertificatePath = {CaCertificatePath} }}";
}
