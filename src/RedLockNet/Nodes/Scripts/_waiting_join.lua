-- (fragment) registers (or refreshes) the ticket ticket, of order order, in the waiting room room_key with its
-- last-seen time in seen_key, after dropping stale waiters; both keys live twice the stale time past the last visit.
-- Needs room_key, seen_key, ticket, order and stale_ms; leaves now_ms (the node's clock, ms).
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
--@include waiting_prune
redis.call('ZADD', room_key, 'NX', order, ticket)
redis.call('ZADD', seen_key, now_ms, ticket)
redis.call('PEXPIRE', room_key, 2 * stale_ms)
redis.call('PEXPIRE', seen_key, 2 * stale_ms)
