namespace RedLockNet.Tests.Unit.Integration;

/// <summary>The distributed reader-writer lock on real nodes: exclusion, shared reads, writer preference, bad input.</summary>
public abstract class ReaderWriterTests(ClusterFixture nodes) : FixtureTest(nodes)
{
    [Fact]
    public async Task Readers_share_writers_exclude_and_a_reader_never_sees_a_write_in_progress()
    {
        var resource = Clusters.UniqueResource("rw");
        await using var factories = await ClientFactories.ConnectAsync(Nodes.Endpoints, 4);
        var value = 0;
        var readers = 0;
        var writers = 0;
        var mostReaders = 0;
        var (reads, writes, violations) = (0, 0, 0);
        var request = new LockRequest { Expiry = TimeSpan.FromSeconds(5), WaitTimeout = TimeSpan.FromSeconds(20) };
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(4);
        var writerTasks = Enumerable.Range(0, 3).Select(async w =>
        {
            while (DateTime.UtcNow < until)
            {
                await using (await factories[w].AcquireWriteAsync(resource, request, Clusters.Bound()))
                {
                    if (Interlocked.Increment(ref writers) != 1 || Volatile.Read(ref readers) != 0)
                    {
                        Interlocked.Increment(ref violations);
                    }

                    var seen = Volatile.Read(ref value);
                    await Task.Delay(5, Clusters.Bound());
                    Volatile.Write(ref value, seen + 1);
                    Interlocked.Decrement(ref writers);
                    Interlocked.Increment(ref writes);
                }

                await Task.Delay(20, Clusters.Bound());
            }
        });
        var readerTasks = Enumerable.Range(0, 6).Select(async r =>
        {
            while (DateTime.UtcNow < until)
            {
                await using (await factories[r].AcquireReadAsync(resource, request, Clusters.Bound()))
                {
                    ClientFactories.RaiseTo(ref mostReaders, Interlocked.Increment(ref readers));
                    var before = Volatile.Read(ref value);
                    await Task.Delay(10, Clusters.Bound());
                    if (Volatile.Read(ref writers) != 0 || Volatile.Read(ref value) != before)
                    {
                        Interlocked.Increment(ref violations);
                    }

                    Interlocked.Decrement(ref readers);
                    Interlocked.Increment(ref reads);
                }
            }
        });
        await Task.WhenAll(writerTasks.Concat(readerTasks)).WaitAsync(TimeSpan.FromSeconds(60), Clusters.Bound());

        Assert.Equal(0, violations);
        Assert.Equal(writes, value);
        Assert.True(writes >= 3 && reads >= 6, $"{writes} writes, {reads} reads");
        Assert.True(mostReaders > 1, "readers never shared the lock");
    }

    [Fact]
    public async Task A_waiting_writer_is_not_starved_by_a_stream_of_overlapping_readers()
    {
        var resource = Clusters.UniqueResource("rw-stream");
        using var stop = new CancellationTokenSource();
        var request = new LockRequest { Expiry = TimeSpan.FromSeconds(5), WaitTimeout = TimeSpan.FromSeconds(30) };

        // four readers, each taking the lock again as soon as it let go: some reader always holds it
        var stream = Enumerable.Range(0, 4).Select(async r =>
        {
            await Task.Delay(r * 25, Clusters.Bound());
            while (!stop.IsCancellationRequested)
            {
                await using (await Locks.AcquireReadAsync(resource, request, Clusters.Bound()))
                {
                    await Task.Delay(100, Clusters.Bound());
                }
            }
        }).ToList();
        await Task.Delay(300, Clusters.Bound());

        var waited = System.Diagnostics.Stopwatch.StartNew();
        await using (var writer = await Locks.TryAcquireWriteAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(5) }, Clusters.Bound()))
        {
            Assert.NotNull(writer);
            Assert.True(await writer.GetFencingTokenAsync(Clusters.Bound()) > 0);
        }

        await stop.CancelAsync();
        await Task.WhenAll(stream).WaitAsync(TimeSpan.FromSeconds(30), Clusters.Bound());
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(5), $"the writer waited {waited.Elapsed}");
    }

    [Fact]
    public async Task A_writer_waiting_in_the_same_process_is_woken_by_the_readers_release_rather_than_left_to_its_back_off()
    {
        var resource = Clusters.UniqueResource("rw-wake");
        // pauses of 5 s and a wait of 3 s: only the local wake-up at the release can serve the writer
        await using var patient = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints, o => o.MinRetryDelay = o.MaxRetryDelay = TimeSpan.FromSeconds(5)), Clusters.Bound());
        var reader = await patient.AcquireReadAsync(resource, cancellationToken: Clusters.Bound());
        var writing = patient.AcquireWriteAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(3) }, Clusters.Bound());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await Probe.KeysContainingAsync($"{resource}}}:rw:wants")).Count < 2) // the writer was refused and announced itself
        {
            Assert.True(DateTime.UtcNow < deadline, "the writer never announced itself");
            await Task.Delay(20, Clusters.Bound());
        }

        await reader.ReleaseAsync(Clusters.Bound());
        await using var writer = await writing;
        Assert.Equal(LockStatus.Held, writer.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_caller_waiting_in_another_process_is_woken_by_a_release_rather_than_left_to_its_back_off(bool writerWaits)
    {
        var resource = Clusters.UniqueResource("rw-room");
        // the waiter's pauses are 5 s and it may wait 3 s: only the wake-up the release publishes can serve it
        await using var patient = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints, o => o.MinRetryDelay = o.MaxRetryDelay = TimeSpan.FromSeconds(5)), Clusters.Bound());
        var holder = writerWaits
            ? await Locks.AcquireReadAsync(resource, cancellationToken: Clusters.Bound())
            : await Locks.AcquireWriteAsync(resource, cancellationToken: Clusters.Bound());
        var request = new LockRequest { WaitTimeout = TimeSpan.FromSeconds(3) };
        var waiting = writerWaits ? patient.AcquireWriteAsync(resource, request, Clusters.Bound()) : patient.AcquireReadAsync(resource, request, Clusters.Bound());
        var room = $"{resource}}}:rw:wants:waiting";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await Probe.KeysContainingAsync(room)).Count < 2) // its ticket is in the room on a majority
        {
            Assert.True(DateTime.UtcNow < deadline, "the waiter never took a place in the room");
            await Task.Delay(20, Clusters.Bound());
        }

        await holder.ReleaseAsync(Clusters.Bound());
        await using var woken = await waiting;
        Assert.Equal(LockStatus.Held, woken.Status);
        await woken.ReleaseAsync(Clusters.Bound());
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await Probe.KeysContainingAsync(room)).Count > 0) // and it left the room
        {
            Assert.True(DateTime.UtcNow < deadline, "the waiter's ticket stayed in the room");
            await Task.Delay(20, Clusters.Bound());
        }
    }

    [Fact]
    public async Task A_reader_does_not_queue_behind_a_lock_waiter_of_the_same_name_in_its_process()
    {
        var resource = Clusters.UniqueResource("lines");
        await using var other = await Locks.AcquireAsync(resource, cancellationToken: Clusters.Bound()); // the plain lock, held elsewhere
        await using var process = await RedLockFactory.ConnectAsync(Clusters.Options(Nodes.Endpoints), Clusters.Bound());
        var lockWaiter = process.TryAcquireAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(6) }, Clusters.Bound());
        await Task.Delay(100, Clusters.Bound()); // the lock's waiter is first in its line

        // a plain lock and a reader-writer lock of one name do not exclude each other, so neither waits for the other
        await using var reader = await process.AcquireReadAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(3) }, Clusters.Bound());

        Assert.False(lockWaiter.IsCompleted);
        await other.ReleaseAsync(Clusters.Bound());
        await using var handle = await lockWaiter;
        Assert.NotNull(handle);
    }

    [Fact]
    public async Task Both_kinds_extend_and_release_and_a_writer_blocks_readers_until_it_releases()
    {
        var resource = Clusters.UniqueResource("rw-kinds");
        var reader = await Locks.AcquireReadAsync(resource, cancellationToken: Clusters.Bound());
        Assert.True(await reader.ExtendAsync(cancellationToken: Clusters.Bound()));
        Assert.Null(await Locks.TryAcquireWriteAsync(resource, cancellationToken: Clusters.Bound()));
        await reader.ReleaseAsync(Clusters.Bound());

        // the refused writer announced itself for a second: readers wait for it, then the writer gets in
        await using var writer = await Locks.AcquireWriteAsync(resource, cancellationToken: Clusters.Bound());
        Assert.Equal(resource, writer.Resource);
        Assert.True(await writer.ExtendAsync(cancellationToken: Clusters.Bound()));
        Assert.Null(await Locks.TryAcquireReadAsync(resource, cancellationToken: Clusters.Bound()));
        Assert.Null(await Locks.TryAcquireWriteAsync(resource, cancellationToken: Clusters.Bound()));
        await writer.ReleaseAsync(Clusters.Bound());
        await using var after = await Locks.TryAcquireReadAsync(resource, cancellationToken: Clusters.Bound());
        Assert.NotNull(after);
    }

    [Fact]
    public async Task Bad_input_names_the_parameter_and_writes_nothing()
    {
        var resource = $"bad-rw-{Guid.NewGuid():N}";
        Assert.Equal("resource", (await Assert.ThrowsAsync<ArgumentException>(() => Locks.AcquireReadAsync(" ", cancellationToken: Clusters.Bound()))).ParamName);
        Assert.Equal("resource", (await Assert.ThrowsAsync<ArgumentException>(() => Locks.TryAcquireWriteAsync(new string('r', 2000), cancellationToken: Clusters.Bound()))).ParamName);
        Assert.Equal("request.Expiry", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Locks.TryAcquireReadAsync(resource, new LockRequest { Expiry = TimeSpan.FromMilliseconds(1) }, Clusters.Bound()))).ParamName);
        Assert.Equal("request.WaitTimeout", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Locks.AcquireWriteAsync(resource, new LockRequest { WaitTimeout = TimeSpan.FromSeconds(-2) }, Clusters.Bound()))).ParamName);
        Assert.Empty(await Probe.KeysContainingAsync(resource));
    }
}

public sealed class ReaderWriterOnThreeNodes(ThreeNodes nodes) : ReaderWriterTests(nodes), IClassFixture<ThreeNodes>;
