-- Grants the lock where no key stands (like SET NX) and bumps this node's fencing counter for the resource.
-- KEYS[1] lock key, KEYS[2] fencing counter key (same hash slot).
-- ARGV[1] lock id, ARGV[2] ttl ms, ARGV[3] counter retention ms, ARGV[4] floor: the client's clock in microseconds.
-- The counter becomes max(counter + 1, floor), so it keeps rising after the counter key expired or the node
-- lost it. Returns {1, counter} when granted, {0, 0} when a key stands (another owner's), an error
-- (LOCKISSEMAPHORE) when the key marks the resource as a semaphore's.
local holder = redis.call('GET', KEYS[1])
--@include semaphore_mark_check
if holder then
  return {0, 0}
end
local fence_key = KEYS[2]
local floor = tonumber(ARGV[4])
local retention = ARGV[3]
--@include fence_bump
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, fence}
