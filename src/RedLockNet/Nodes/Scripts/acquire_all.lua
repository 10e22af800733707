-- Grants the locks on several resources at once, all or nothing on this node: where any of the lock keys stands
-- (another owner's, or a slot reserved for a waiter), nothing is written. With fencing, each resource's counter is
-- bumped as acquire_fenced.lua bumps it. One script may only touch one Redis Cluster hash slot, so the client sends
-- it only for resources whose keys share one.
-- KEYS[2i-1] resource i's lock key, KEYS[2i] its fencing counter key. ARGV[1] lock id (one for all), ARGV[2] ttl ms,
-- ARGV[3] counter retention ms, ARGV[4] floor: the client's clock in microseconds, or -1 for no fencing.
-- Reply {1, counter of resource 1, counter of resource 2, ...} (0s without fencing) when granted, {0} when a key stands,
-- an error (LOCKISSEMAPHORE) when one marks its resource as a semaphore's.
local n = #KEYS / 2
for i = 1, n do
  local holder = redis.call('GET', KEYS[2 * i - 1])
  --@include semaphore_mark_check
  if holder then
    return {0}
  end
end
local floor = tonumber(ARGV[4])
local retention = ARGV[3]
local reply = {1}
for i = 1, n do
  redis.call('SET', KEYS[2 * i - 1], ARGV[1], 'PX', ARGV[2])
  if floor >= 0 then
    local fence_key = KEYS[2 * i]
--@include fence_bump
    reply[i + 1] = fence
  else
    reply[i + 1] = 0
  end
end
return reply
