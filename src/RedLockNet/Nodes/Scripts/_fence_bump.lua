-- (fragment) raises this node's fencing counter fence_key to max(counter + 1, floor) and keeps it for retention ms.
-- Expects the locals fence_key, floor (a number, the client's clock in microseconds) and retention; leaves the value
-- in fence.
-- '%.0f' keeps every digit: values stay below 2^53, exact in Lua's numbers.
local fence = tonumber(redis.call('GET', fence_key) or '0')
if fence + 1 > floor then
  fence = fence + 1
else
  fence = floor
end
redis.call('SET', fence_key, string.format('%.0f', fence), 'PX', retention)
