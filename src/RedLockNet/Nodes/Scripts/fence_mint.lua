-- Mints a fencing token for the current holder: bumps this node's counter for the resource to
-- max(counter + 1, floor), only while the node still holds the holder's lock key.
-- KEYS[1] lock key, KEYS[2] fencing counter key (same hash slot).
-- ARGV[1] lock id, ARGV[2] counter retention ms, ARGV[3] floor: the client's clock in microseconds.
-- Returns {1, counter} when minted here, {0, 0} when the lock is not ours on this node.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0, 0}
end
local fence_key = KEYS[2]
local floor = tonumber(ARGV[3])
local retention = ARGV[2]
--@include fence_bump
return {1, fence}
