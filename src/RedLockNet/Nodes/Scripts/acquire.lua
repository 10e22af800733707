-- Grants the lock on this node when the key is free or already holds our id.
-- KEYS[1] lock key, ARGV[1] lock id, ARGV[2] ttl in milliseconds.
-- Returns 1 when granted, 0 when another id holds it.
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if current == ARGV[1] then
  -- a repeated send of the same acquisition: still ours, refresh the ttl
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
