#!lua flags=allow-cross-slot-keys
-- (a Redis Cluster member's shard, Redis 7.0 or later) extend.lua for a batch whose locks lie in many hash slots of one
-- shard: a script may declare keys of one slot only, so the lock keys come as arguments (the flag lets the script
-- touch keys of any slot this shard owns). KEYS[1] one of the locks' keys (it routes the call to the shard);
-- ARGV[3i-2] lock key, ARGV[3i-1] its lock id, ARGV[3i] its new ttl in milliseconds. Returns an array as extend.lua
-- does: 1 where the key still held our id and its ttl was set, 0 where it was gone or held by another id.
local result = {}
for i = 1, #ARGV / 3 do
  local key, id, ttl = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  --@include extend_one
end
return result
