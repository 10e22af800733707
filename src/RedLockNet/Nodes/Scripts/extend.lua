-- Compare-then-pexpire for one or many locks (renewals are batched per node).
-- KEYS[i] lock key; ARGV[2i-1] its lock id; ARGV[2i] its new ttl in milliseconds.
-- Returns an array: 1 where the key still held our id and its ttl was set, 0 where it was gone or held by
-- another id. An expired key is never re-created.
local result = {}
for i, key in ipairs(KEYS) do
  local id, ttl = ARGV[2 * i - 1], ARGV[2 * i]
  --@include extend_one
end
return result
