-- Drops the waiters of KEYS[2] (waiting room) not seen in KEYS[3] (last seen, node ms) for stale_ms: they gave up
-- without saying so, or died. Needs now_ms and stale_ms.
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now_ms - stale_ms)) do
  redis.call('ZREM', KEYS[2], gone)
  redis.call('ZREM', KEYS[3], gone)
end
