-- A writer's grant of a reader-writer lock: refused while another writer holds it here; refused while any listed
-- reader's key still stands, and then the writer is announced as waiting (for wait ms) so that no new reader enters
-- here meanwhile; otherwise the writer's key is set, like a lock, and the announcement is dropped. Readers whose
-- keys are gone leave the index.
-- Reader keys are read by name from the index: they share the lock's hash tag, so they live in its slot.
-- KEYS[1] writer key, KEYS[2] waiting-writer key, KEYS[3] readers' index. ARGV[1] lock id, ARGV[2] ttl ms,
-- ARGV[3] wait ms. Reply OK when granted, nil when not (the shape of SET NX).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
for _, reader in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('EXISTS', reader) == 1 then
    redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
    return false
  end
  redis.call('SREM', KEYS[3], reader)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
-- the writer key keeps readers out now; a writer still waiting announces itself again if readers beat it later
redis.call('DEL', KEYS[2])
return redis.status_reply('OK')
