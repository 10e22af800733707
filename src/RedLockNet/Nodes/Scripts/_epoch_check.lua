-- (put first in every script that can grant or that answers for a record, by the node layer, while restart quarantine is on) The node's data
-- epoch (see identity.lua): KEYS[#KEYS] epoch key, ARGV[#ARGV] the epoch this client last read there. A node that has
-- lost its data since has another epoch or none, whatever the client's connection saw: it grants nothing and says so.
if redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then
  return redis.error_reply('EPOCHCHANGED the node lost its data since this client last read its epoch')
end
-- the script below sees its own keys and arguments only (record_put reads an optional KEYS[3] and ARGV[5])
KEYS[#KEYS] = nil
ARGV[#ARGV] = nil
