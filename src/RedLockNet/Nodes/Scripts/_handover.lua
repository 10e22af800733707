-- Frees the lock KEYS[1]: when live waiters are in the waiting room KEYS[2], the key is reserved for the first of
-- them ('~' .. ticket, for handover_ms, so nobody arriving now can take it first) and its owner is woken on the
-- channel wake_prefix .. owner (the ticket's part before the dot); otherwise the key is deleted.
-- Needs handover_ms, stale_ms and wake_prefix.
local first = nil
if redis.call('EXISTS', KEYS[2]) == 1 then
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  --@include waiting_prune
  first = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
end
if first then
  redis.call('SET', KEYS[1], '~' .. first, 'PX', handover_ms)
  local owner = string.match(first, '^([^.]+)%.')
  if owner then
    redis.call('PUBLISH', wake_prefix .. owner, first)
  end
else
  redis.call('DEL', KEYS[1])
end
