-- Drops the waiters of room_key (waiting room) not seen in seen_key (last seen, node ms) for stale_ms: they gave up
-- without saying so, or died. Needs room_key, seen_key, now_ms and stale_ms.
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', seen_key, '-inf', now_ms - stale_ms)) do
  redis.call('ZREM', room_key, gone)
  redis.call('ZREM', seen_key, gone)
end
