-- Which permits of a semaphore are taken on this node, after checking that every client of the resource agrees on
-- how many there are. Each permit is a slot, and each slot is a lock of its own (acquired, renewed and released
-- like any lock), so this script only looks: it grants nothing.
-- KEYS[1] the resource's lock key (the resource used as a plain lock), KEYS[2] the semaphore's record of its permit
-- count, KEYS[3..] the slot keys, one per permit. ARGV[1] permit count, ARGV[2] how long the count is remembered (ms).
-- Reply: one character per slot, '1' taken, '0' free; an error when the resource is held here as a plain lock
-- (SEMISLOCK) or another permit count is recorded (SEMMAXCOUNT <count>).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('SEMISLOCK the resource is held as a plain lock')
end
local recorded = redis.call('GET', KEYS[2])
if recorded and recorded ~= ARGV[1] then
  return redis.error_reply('SEMMAXCOUNT ' .. recorded)
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local taken = {}
for i = 3, #KEYS do
  taken[i - 2] = redis.call('EXISTS', KEYS[i]) == 1 and '1' or '0'
end
return table.concat(taken)
