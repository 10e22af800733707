namespace RedLockNet.Engine.Leases;

/// <summary>
/// Leases ordered by <see cref="Lease.RenewAt"/>: a binary min-heap in which each lease knows its own slot, so a
/// released lease leaves in O(log n) instead of the O(n) search of <see cref="PriorityQueue{TElement, TPriority}.Remove"/>,
/// and a lease is never queued twice (queuing it again moves it). Not thread-safe: the renewer holds its lock.
/// </summary>
internal sealed class LeaseQueue
{
    private Lease[] _heap = new Lease[16];

    public int Count { get; private set; }

    /// <summary>Queues <paramref name="lease"/> to be due at <paramref name="at"/>, or moves it there if it is queued.</summary>
    public void Enqueue(Lease lease, long at)
    {
        lease.RenewAt = at;
        if (lease.QueueSlot >= 0)
        {
            Restore(lease.QueueSlot);
            return;
        }

        if (Count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }

        Place(lease, Count++);
        SiftUp(lease.QueueSlot);
    }

    /// <summary>The lease due first, without removing it.</summary>
    public bool TryPeek(out Lease lease, out long at)
    {
        if (Count == 0)
        {
            lease = null!;
            at = 0;
            return false;
        }

        lease = _heap[0];
        at = lease.RenewAt;
        return true;
    }

    /// <summary>Removes and returns the lease due first.</summary>
    public Lease Dequeue()
    {
        var first = _heap[0];
        Remove(first);
        return first;
    }

    /// <summary>Takes <paramref name="lease"/> out of the queue; false when it was not in it.</summary>
    public bool Remove(Lease lease)
    {
        var slot = lease.QueueSlot;
        if (slot < 0 || slot >= Count || !ReferenceEquals(_heap[slot], lease))
        {
            return false;
        }

        lease.QueueSlot = -1;
        var last = _heap[--Count];
        _heap[Count] = null!;
        if (slot < Count)
        {
            Place(last, slot);
            Restore(slot);
        }

        return true;
    }

    public void Clear()
    {
        for (var i = 0; i < Count; i++)
        {
            _heap[i].QueueSlot = -1;
            _heap[i] = null!;
        }

        Count = 0;
    }

    /// <summary>Moves the lease at <paramref name="slot"/> up or down until the heap order holds again.</summary>
    private void Restore(int slot)
    {
        if (slot > 0 && _heap[slot].RenewAt < _heap[(slot - 1) / 2].RenewAt)
        {
            SiftUp(slot);
        }
        else
        {
            SiftDown(slot);
        }
    }

    private void SiftUp(int slot)
    {
        var lease = _heap[slot];
        while (slot > 0)
        {
            var parent = (slot - 1) / 2;
            if (_heap[parent].RenewAt <= lease.RenewAt)
            {
                break;
            }

            Place(_heap[parent], slot);
            slot = parent;
        }

        Place(lease, slot);
    }

    private void SiftDown(int slot)
    {
        var lease = _heap[slot];
        while (true)
        {
            var child = (2 * slot) + 1;
            if (child >= Count)
            {
                break;
            }

            if (child + 1 < Count && _heap[child + 1].RenewAt < _heap[child].RenewAt)
            {
                child++;
            }

            if (lease.RenewAt <= _heap[child].RenewAt)
            {
                break;
            }

            Place(_heap[child], slot);
            slot = child;
        }

        Place(lease, slot);
    }

    private void Place(Lease lease, int slot)
    {
        _heap[slot] = lease;
        lease.QueueSlot = slot;
    }
}
