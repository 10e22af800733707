-- (fragment) a lock key that marks its resource as in use as a semaphore (semaphore_scan.lua sets '#semaphore' there)
-- is not a lock to grant or to wait for: the caller mixed the two kinds, and is told so. Expects the local holder
-- (the lock key's value, or false).
if holder == '#semaphore' then
  return redis.error_reply('LOCKISSEMAPHORE the resource is in use as a semaphore')
end
