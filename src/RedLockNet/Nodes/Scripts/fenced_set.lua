-- A write to a resource protected by fencing tokens: refuses a token lower than the highest one seen.
-- KEYS[1] a hash holding fields 'value' and 'fence'. ARGV[1] value, ARGV[2] token, ARGV[3] ttl ms (0: none).
-- Returns 1 when written, 0 when refused (a later holder has written already).
local seen = tonumber(redis.call('HGET', KEYS[1], 'fence') or '-1')
if tonumber(ARGV[2]) < seen then
  return 0
end
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'fence', ARGV[2])
if tonumber(ARGV[3]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
