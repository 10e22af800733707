-- Grants the lock like acquire.lua and, on a new grant, bumps this node's fencing counter for the resource.
-- KEYS[1] lock key, KEYS[2] fencing counter key (same hash slot).
-- ARGV[1] lock id, ARGV[2] ttl ms, ARGV[3] counter retention ms, ARGV[4] floor: the client's clock in microseconds.
-- The counter becomes max(counter + 1, floor), so it keeps rising after the counter key expired or the node
-- lost it. Returns {1, counter} when granted (a repeated send of the same acquisition does not bump it again),
-- {0, 0} when another id holds the lock.
local current = redis.call('GET', KEYS[1])
if current ~= false and current ~= ARGV[1] then
  return {0, 0}
end
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if current == false then
  local floor = tonumber(ARGV[4])
  if fence + 1 > floor then
    fence = fence + 1
  else
    fence = floor
  end
  -- '%.0f' keeps every digit: values stay below 2^53, exact in Lua's numbers
  redis.call('SET', KEYS[2], string.format('%.0f', fence), 'PX', ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, fence}
