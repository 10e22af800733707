-- Compare-and-delete, handing the lock to the first waiter of the resource's waiting room when one waits.
-- KEYS[1] lock key, KEYS[2] waiting room (zset ticket -> order), KEYS[3] last seen (zset ticket -> node ms);
-- ARGV[1] lock id, ARGV[2] handover ms, ARGV[3] stale ms, ARGV[4] wake channel prefix.
-- Returns 1 when released (deleted, or reserved for the first waiter), 0 when the key is gone or held by another id.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local lock_key, room_key, seen_key = KEYS[1], KEYS[2], KEYS[3]
local handover_ms, stale_ms, wake_prefix = ARGV[2], tonumber(ARGV[3]), ARGV[4]
--@include handover
return 1
