-- Compare-and-delete: removes the lock key only while it still holds our id, and tells the waiters.
-- KEYS[1] lock key, ARGV[1] lock id.
-- Returns 1 when deleted (and published on the channel KEYS[1]..':released', which callers of other processes
-- waiting for the lock subscribe to), 0 when the key is gone or held by another id.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[1] .. ':released', '1')
  return 1
end
return 0
