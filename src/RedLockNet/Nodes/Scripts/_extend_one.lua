-- (included by extend.lua and extend_shard.lua) One lock of a renewal batch: `key`, its lock `id` and new `ttl` in ms
-- are set by the includer; result[i] is 1 where the key still held our id and its ttl was set, else 0.
if redis.call('GET', key) == id then
  redis.call('PEXPIRE', key, ttl)
  result[i] = 1
else
  result[i] = 0
end
