-- A writer's grant of a reader-writer lock: refused while another writer holds it here; refused while any listed
-- reader's key still stands, and then the writer is announced as waiting (for wait ms) so that no new reader enters
-- here meanwhile; otherwise the writer's key is set, like a lock, and the announcement is dropped. Readers whose
-- keys are gone leave the index.
-- Reader keys are read by name from the index: they share the lock's hash tag, so they live in its slot.
-- KEYS[1] writer key, KEYS[2] waiting-writer key, KEYS[3] readers' index. ARGV[1] lock id, ARGV[2] ttl ms,
-- ARGV[3] wait ms. A caller that waits adds KEYS[4] the lock's waiting room, KEYS[5] its last-seen set, ARGV[4] its
-- ticket, ARGV[5] the ticket's order, ARGV[6] stale ms, as rw_read.lua. Reply OK when granted, nil when not (the
-- shape of SET NX).
local function refused()
  if ARGV[4] then
    local room_key, seen_key, ticket, order, stale_ms = KEYS[4], KEYS[5], ARGV[4], ARGV[5], tonumber(ARGV[6])
    --@include waiting_join
  end
  return false
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return refused()
end
for _, reader in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('EXISTS', reader) == 1 then
    redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
    return refused()
  end
  redis.call('SREM', KEYS[3], reader)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
-- the writer key keeps readers out now; a writer still waiting announces itself again if readers beat it later
redis.call('DEL', KEYS[2])
return redis.status_reply('OK')
