#!lua flags=allow-cross-slot-keys
-- (a Redis Cluster member's shards, Redis 7.0 or later) Marks one hash slot with its shard's data epoch, so the slot's
-- granting scripts can check the epoch in their own slot (a script may touch one slot only). The shard's epoch lives in
-- its anchor key (identity.lua), another slot of the same shard: read atomically with the write, which the flag allows.
-- While the anchor holds the epoch the client read, the shard has kept its data since that epoch began, this slot's
-- keys included, so the mark is true whatever the slot key held before (a slot that moved here carries another shard's).
-- KEYS[1] the slot's epoch key; ARGV[1] the shard's anchor key (undeclared: another slot), ARGV[2] the epoch read there.
if redis.call('GET', ARGV[1]) ~= ARGV[2] then
  return redis.error_reply('EPOCHCHANGED the shard lost its data since this client last read its epoch')
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
