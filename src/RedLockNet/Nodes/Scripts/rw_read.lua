-- A reader's grant of a reader-writer lock: refused while a writer holds the lock here or waits for it (writer
-- preference: a stream of readers cannot starve a writer); otherwise the reader's own key is set, like a lock, and
-- listed in the readers' index that writers check. A few listed readers whose keys are gone are dropped on the way.
-- KEYS[1] writer key, KEYS[2] waiting-writer key, KEYS[3] readers' index (a set of reader keys), KEYS[4] this
-- reader's key. ARGV[1] lock id, ARGV[2] ttl ms. A caller that waits adds KEYS[5] the lock's waiting room, KEYS[6]
-- its last-seen set, ARGV[3] its ticket, ARGV[4] the ticket's order, ARGV[5] stale ms: refused, it is registered
-- there, to be woken when a holder releases (the room only wakes; nothing is reserved). Reply OK when granted, nil
-- when not (the shape of SET NX).
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  if ARGV[3] then
    local room_key, seen_key, ticket, order, stale_ms = KEYS[5], KEYS[6], ARGV[3], ARGV[4], tonumber(ARGV[5])
    --@include waiting_join
  end
  return false
end
for _, reader in ipairs(redis.call('SRANDMEMBER', KEYS[3], 3)) do
  if redis.call('EXISTS', reader) == 0 then
    redis.call('SREM', KEYS[3], reader)
  end
end
redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[3], KEYS[4])
return redis.status_reply('OK')
