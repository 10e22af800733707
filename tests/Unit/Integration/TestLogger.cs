using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RedLockNet.Tests.Unit.Integration;

/// <summary>
/// Collects every formatted log line (and exception text) so tests can check what the library writes; as a factory
/// (<c>RedLockOptions.LoggerFactory</c>) or as a host's logging provider. Scopes' states go to <see cref="Scopes"/>.
/// </summary>
internal sealed class TestLoggerFactory : ILoggerFactory, ILoggerProvider, ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ConcurrentQueue<string> Scopes { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull
    {
        Scopes.Enqueue(state.ToString() ?? string.Empty);
        return null;
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
    }

    public void Dispose()
    {
    }
}

/// <summary>A host's errors, with their exceptions, for a failure message (add it as a logging provider).</summary>
internal sealed class ErrorLog : ILoggerProvider, ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Lines.Enqueue($"{formatter(state, exception)} {exception}");
        }
    }

    public void Dispose()
    {
    }
}
