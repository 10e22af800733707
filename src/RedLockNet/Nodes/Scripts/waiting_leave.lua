-- A waiter is done: it won the lock, or gave up (its wait ran out, or it was cancelled). Its ticket leaves the waiting
-- room, and a lock reserved for it passes to the next waiter (or is freed), so nobody waits for the reservation to expire.
-- KEYS[1] lock key, KEYS[2] waiting room, KEYS[3] last seen; ARGV[1] ticket, ARGV[2] handover ms, ARGV[3] stale ms,
-- ARGV[4] wake channel prefix. Returns 1.
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[2], KEYS[3])
end
if redis.call('GET', KEYS[1]) == '~' .. ARGV[1] then
  local lock_key, room_key, seen_key = KEYS[1], KEYS[2], KEYS[3]
  local handover_ms, stale_ms, wake_prefix = ARGV[2], tonumber(ARGV[3]), ARGV[4]
  --@include handover
end
return 1
