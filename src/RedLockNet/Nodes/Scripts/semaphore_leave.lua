-- A semaphore's waiter is done: it won a permit, or gave up. Its ticket leaves every slot's waiting room, and a slot
-- reserved for it passes to the next waiter of that slot (or is freed), so nobody waits for the reservation to expire.
-- KEYS[1..n] the slot keys, KEYS[n+1..3n] each slot's waiting room and last-seen set, in slot order. ARGV[1] ticket,
-- ARGV[2] handover ms, ARGV[3] stale ms, ARGV[4] wake channel prefix. Returns 1.
local n = #KEYS / 3
local handover_ms, stale_ms, wake_prefix = ARGV[2], tonumber(ARGV[3]), ARGV[4]
for i = 1, n do
  local lock_key, room_key, seen_key = KEYS[i], KEYS[n + 2 * i - 1], KEYS[n + 2 * i]
  redis.call('ZREM', room_key, ARGV[1])
  redis.call('ZREM', seen_key, ARGV[1])
  if redis.call('ZCARD', room_key) == 0 then
    redis.call('DEL', room_key, seen_key)
  end
  if redis.call('GET', lock_key) == '~' .. ARGV[1] then
    --@include handover
  end
end
return 1
