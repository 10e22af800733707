-- Acquisition through the resource's waiting room, for a caller that waits: it holds a ticket (ARGV[3]) whose order
-- (ARGV[4]) is the same on every node, so every node agrees who is first. Granted when the lock is reserved for this
-- ticket, or when it is free and this ticket is first; otherwise the ticket is (re)registered and refused. A granted
-- ticket stays in the room: if the attempt wins no majority, the release of this grant hands the key straight back to
-- it, so it keeps its place; the winner takes its ticket out of every room afterwards (waiting_leave.lua).
-- KEYS[1] lock key, KEYS[2] waiting room (zset ticket -> order), KEYS[3] last seen (zset ticket -> node ms);
-- ARGV[1] lock id, ARGV[2] ttl ms, ARGV[3] ticket, ARGV[4] order, ARGV[5] stale ms.
-- Reply {1, 0} when granted, {0, 0} when not (the shape of acquire_fenced.lua, without a counter), an error
-- (LOCKISSEMAPHORE) when the lock key marks the resource as a semaphore's (nothing is registered then).
local holder = redis.call('GET', KEYS[1])
--@include semaphore_mark_check
local room_key, seen_key, ticket, order, stale_ms = KEYS[2], KEYS[3], ARGV[3], ARGV[4], tonumber(ARGV[5])
--@include waiting_join
local granted = 0
if holder == '~' .. ARGV[3] or (holder == false and redis.call('ZRANGE', KEYS[2], 0, 0)[1] == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  granted = 1
end
return {granted, 0}
