-- Which permits of a semaphore are taken on this node, after checking that every client of the resource agrees on
-- how many there are. Each permit is a slot, and each slot is a lock of its own (acquired, renewed and released
-- like any lock, with a waiting room of its own), so this script grants nothing. A caller that waits passes its
-- ticket: it is registered (or refreshed) in every slot's waiting room, with the same order on every node, so the
-- release of any slot hands it over to the first waiter, and slots reserved for this ticket are reported.
-- KEYS[1] the resource's lock key (the resource used as a plain lock), KEYS[2] the semaphore's record of its permit
-- count, KEYS[3..2+n] the n slot keys, one per permit; with a ticket, KEYS[3+n..2+3n] each slot's waiting room and
-- last-seen set, in slot order. ARGV[1] permit count, ARGV[2] how long the count is remembered (ms); with a ticket,
-- ARGV[3] the ticket, ARGV[4] its order, ARGV[5] stale ms.
-- Reply: one character per slot, '0' free, '1' taken, '2' reserved for this ticket; an error when the resource is
-- held here as a plain lock (SEMISLOCK) or another permit count is recorded (SEMMAXCOUNT <count>). Once checked, the
-- resource's lock key is marked '#semaphore' for as long as the count is remembered, so a plain lock of that name is
-- refused meanwhile (_semaphore_mark_check.lua).
local mark = redis.call('GET', KEYS[1])
if mark and mark ~= '#semaphore' then
  return redis.error_reply('SEMISLOCK the resource is held as a plain lock')
end
local recorded = redis.call('GET', KEYS[2])
if recorded and recorded ~= ARGV[1] then
  return redis.error_reply('SEMMAXCOUNT ' .. recorded)
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[1], '#semaphore', 'PX', ARGV[2])
local n = tonumber(ARGV[1])
local ticket = ARGV[3]
local now_ms, stale_ms
if ticket then
  local t = redis.call('TIME')
  now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  stale_ms = tonumber(ARGV[5])
end
local taken = {}
for i = 1, n do
  local holder = redis.call('GET', KEYS[2 + i])
  if ticket then
    local room_key, seen_key = KEYS[1 + n + 2 * i], KEYS[2 + n + 2 * i]
    redis.call('ZADD', room_key, 'NX', ARGV[4], ticket)
    redis.call('ZADD', seen_key, now_ms, ticket)
    redis.call('PEXPIRE', room_key, 2 * stale_ms)
    redis.call('PEXPIRE', seen_key, 2 * stale_ms)
  end
  if holder == false then
    taken[i] = '0'
  elseif ticket and holder == '~' .. ticket then
    taken[i] = '2'
  else
    taken[i] = '1'
  end
end
return table.concat(taken)
