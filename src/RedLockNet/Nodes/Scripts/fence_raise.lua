-- Second fencing round: raises this node's counter to the token the holder will use, but only while the node
-- still holds the holder's lock key (so the raise happens before any later holder can be granted here).
-- KEYS[1] lock key, KEYS[2] fencing counter key. ARGV[1] lock id, ARGV[2] token, ARGV[3] counter retention ms.
-- Returns 1 when the counter is now at least the token, 0 when the lock is no longer ours here.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if fence < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
return 1
