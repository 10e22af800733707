-- Writes a record next to a lock, only while that lock is ours on this node (a deposed holder cannot write).
-- KEYS[1] lock key, KEYS[2] record key; ARGV[1] lock id, ARGV[2] value, ARGV[3] retention in milliseconds,
-- ARGV[4] '1' to keep an existing record (write once), '0' to overwrite.
-- Returns 1 when the record now holds our value, -1 when the lock is not ours here, or the other value already stored.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
if ARGV[4] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then
    if existing == ARGV[2] then
      return 1
    end
    return existing
  end
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
