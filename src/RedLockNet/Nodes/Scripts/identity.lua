-- The node's identity for the restart checks: its INFO server text, its data epoch and its clock.
-- The epoch is a key without expiry that the node keeps exactly as long as it keeps its data; a node that lost its
-- data (a restart without persistence, FLUSHALL, eviction, a failover to an empty replica) has none, and this call
-- starts a new one, so the epoch also says since when the node's data has been continuous.
-- KEYS[1] epoch key; ARGV[1] random hex for a new epoch. Returns {INFO server, epoch, node time in ms}; an epoch
-- reads '<created, node ms>-<random>'.
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = now_ms .. '-' .. ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
return {redis.call('INFO', 'server'), epoch, now_ms}
