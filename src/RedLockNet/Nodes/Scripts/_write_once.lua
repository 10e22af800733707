-- (fragment) keep a record that is already there: KEYS[2] record key, ARGV[2] our value.
-- Returns 1 when it already holds our value, else the other value.
local existing = redis.call('GET', KEYS[2])
if existing then
  if existing == ARGV[2] then
    return 1
  end
  return existing
end
