using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RedLockNet.TestRig;

/// <summary>
/// The files a secured cluster's nodes read (CA and server certificate, a PFX for Garnet, the ACL file) in a fresh
/// temp folder, deleted on dispose; made with <c>openssl</c> (certificates) and random passwords.
/// </summary>
internal sealed class SecurityFiles : IDisposable
{
    /// <summary>The name prefix of the temp folder.</summary>
    public const string DirectoryPrefix = "redlocknet-tls-";

    private const string AdminUserName = "rig-admin";
    private static readonly TimeSpan OpensslTimeout = TimeSpan.FromSeconds(30);

    private readonly string everything;

    private SecurityFiles(string directory, NodeSecurity security, NodeBackend backend)
    {
        Directory = directory;
        Security = security;
        everything = backend == NodeBackend.Garnet ? "~* +@all" : "~* &* +@all"; // Garnet's ACL has no channel rules
    }

    public string Directory { get; }

    public NodeSecurity Security { get; }

    public NodeCredentials Credentials { get; private set; } = null!;

    public string? CaCertificatePath => Security.Tls ? Path.Combine(Directory, "ca.crt") : null;

    public string ServerCertificatePath => Path.Combine(Directory, "server.crt");

    public string ServerKeyPath => Path.Combine(Directory, "server.key");

    public string ServerPfxPath => Path.Combine(Directory, "server.pfx");

    /// <summary>The PFX's password (Garnet reads the PFX); not a secret the tests care about.</summary>
    public string ServerPfxPassword { get; } = RandomSecret();

    public string? AclFilePath => Security.User is null ? null : Path.Combine(Directory, "users.acl");

    /// <summary>The CA certificate, for the readiness probe; <see langword="null"/> without TLS.</summary>
    public X509Certificate2? Ca { get; private set; }

    /// <summary>Writes the files for <paramref name="security"/> into a new temp folder.</summary>
    /// <exception cref="TestNodeStartException">openssl is missing or failed.</exception>
    public static async Task<SecurityFiles> CreateAsync(NodeSecurity security, NodeBackend backend, CancellationToken cancellationToken)
    {
        var files = new SecurityFiles(System.IO.Directory.CreateTempSubdirectory(DirectoryPrefix).FullName, security, backend);
        try
        {
            await files.WriteAsync(cancellationToken);
            return files;
        }
        catch
        {
            files.Dispose();
            throw;
        }
    }

    /// <summary>Deletes the folder (best effort).</summary>
    public void Dispose()
    {
        Ca?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort: throwaway test certificates
        }
    }

    /// <summary>Whether <paramref name="certificate"/> chains to this cluster's CA (names are not checked here).</summary>
    public bool TrustedByCa(X509Certificate? certificate)
    {
        if (Ca is null || certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>TLS client settings for the rig's own probe: the server name 127.0.0.1, trusting this cluster's CA only.</summary>
    public SslClientAuthenticationOptions ClientTls() => new()
    {
        TargetHost = IPAddress.Loopback.ToString(),
        RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None && TrustedByCa(certificate),
    };

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        string? user = null, password = null, admin = null, adminPassword = null;
        if (Security.User is { } name)
        {
            if (name.Length == 0 || name.Any(c => char.IsWhiteSpace(c) || c is '>' or '<') || name == AdminUserName)
            {
                throw new TestNodeStartException($"'{name}' cannot be an ACL user name here (no spaces, < or >, not '{AdminUserName}').");
            }

            (user, password, admin, adminPassword) = (name, RandomSecret(), AdminUserName, RandomSecret());
            await File.WriteAllLinesAsync(
                AclFilePath!,
                [
                    "user default off",
                    $"user {admin} on >{adminPassword} {everything}",
                    $"user {user} on >{password} {Security.UserRules ?? everything}",
                ],
                cancellationToken);
        }

        if (Security.Tls)
        {
            await MakeCertificatesAsync(cancellationToken);
            Ca = X509CertificateLoader.LoadCertificateFromFile(CaCertificatePath!);
        }

        Credentials = new NodeCredentials(user, password, admin, adminPassword, CaCertificatePath);
    }

    private async Task MakeCertificatesAsync(CancellationToken cancellationToken)
    {
        var caKey = Path.Combine(Directory, "ca.key");
        var request = Path.Combine(Directory, "server.csr");
        var extensions = Path.Combine(Directory, "server.ext");
        await File.WriteAllLinesAsync(extensions, ["subjectAltName=IP:127.0.0.1,DNS:localhost", "extendedKeyUsage=serverAuth"], cancellationToken);
        string[] ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        await OpensslAsync(cancellationToken, ["req", "-x509", .. ec, "-keyout", caKey, "-out", CaCertificatePath!, "-days", "2", "-subj", "/CN=RedLockNet test CA"]);
        await OpensslAsync(cancellationToken, ["req", .. ec, "-keyout", ServerKeyPath, "-out", request, "-subj", "/CN=127.0.0.1"]);
        await OpensslAsync(cancellationToken, ["x509", "-req", "-in", request, "-CA", CaCertificatePath!, "-CAkey", caKey, "-CAcreateserial", "-out", ServerCertificatePath, "-days", "2", "-extfile", extensions]);
        await OpensslAsync(cancellationToken, ["pkcs12", "-export", "-in", ServerCertificatePath, "-inkey", ServerKeyPath, "-out", ServerPfxPath, "-passout", "env:PFX_PASSWORD"]);
        File.Delete(caKey); // nothing else is ever signed with it
    }

    private async Task OpensslAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var executable = ExecutableLocator.Find("openssl")
            ?? throw new TestNodeStartException("'openssl' was not found on PATH; TLS test nodes need it to make their certificates (apt-get install openssl).");
        var info = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
            Environment = { ["PFX_PASSWORD"] = ServerPfxPassword },
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new TestNodeStartException("openssl did not start.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(OpensslTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        if (process.ExitCode != 0)
        {
            throw new TestNodeStartException($"openssl {arguments[0]} failed with exit code {process.ExitCode}: {await errors}{await output}");
        }
    }

    private static string RandomSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
