-- Reads a record kept next to a lock. KEYS[1] record key. Returns its value, or nil when absent.
return redis.call('GET', KEYS[1])
