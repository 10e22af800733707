-- Claims one scheduled tick for the current lock holder, at most once per tick across holders.
-- KEYS[1] lock key, KEYS[2] the tick's marker, KEYS[3] the job's highest claimed tick.
-- ARGV[1] lock id, ARGV[2] marker value, ARGV[3] marker retention ms, ARGV[4] tick (ms since the epoch),
-- ARGV[5] retention ms of the highest-claimed record.
-- Returns 1 when the marker holds our value, -1 when the lock is not ours here, or the value another holder stored.
--@include holder_check
--@include write_once
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[4]) > last then
  redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5])
else
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return 1
