-- Writes a record next to a lock, only while that lock is ours on this node (a deposed holder cannot write).
-- KEYS[1] lock key, KEYS[2] record key, optional KEYS[3] the lock's fencing counter.
-- ARGV[1] lock id, ARGV[2] value, ARGV[3] retention in milliseconds, ARGV[4] '1' to keep an existing record
-- (write once), '0' to overwrite; with KEYS[3], ARGV[5] our fencing token: refused when the counter has passed it.
-- Returns 1 when the record now holds our value, -1 when the lock (or the fence) is not ours here, or the other
-- value already stored.
--@include holder_check
if KEYS[3] then
  local fence = tonumber(redis.call('GET', KEYS[3]) or '0')
  if fence > tonumber(ARGV[5]) then
    return -1
  end
end
if ARGV[4] == '1' then
--@include write_once
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
