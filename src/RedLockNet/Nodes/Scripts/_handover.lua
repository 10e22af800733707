-- Frees the lock lock_key: when live waiters are in the waiting room room_key, the key is reserved for the first of
-- them ('~' .. ticket, for handover_ms, so nobody arriving now can take it first) and its owner is woken on the
-- channel wake_prefix .. owner (the ticket's part before the dot); otherwise the key is deleted. A hand-over time of 0
-- marks a room whose waiters are woken but not handed the key.
-- Needs lock_key, room_key, seen_key (the room's last-seen set), handover_ms, stale_ms and wake_prefix.
local first = nil
if redis.call('EXISTS', room_key) == 1 then
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  --@include waiting_prune
  first = redis.call('ZRANGE', room_key, 0, 0)[1]
end
if first and tonumber(handover_ms) == 0 then
  -- a room whose waiters are only woken (a reader-writer lock's, where several may get in): the key is freed and the
  -- first waiter told to try again; only the first, since waking a herd splits the votes (the others keep polling)
  redis.call('DEL', lock_key)
  local owner = string.match(first, '^([^.]+)%.')
  if owner then
    redis.call('PUBLISH', wake_prefix .. owner, first)
  end
elseif first then
  redis.call('SET', lock_key, '~' .. first, 'PX', handover_ms)
  local owner = string.match(first, '^([^.]+)%.')
  if owner then
    redis.call('PUBLISH', wake_prefix .. owner, first)
  end
else
  redis.call('DEL', lock_key)
end
