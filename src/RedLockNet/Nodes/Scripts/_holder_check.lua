-- (fragment) only the lock's current holder on this node may write next to it: KEYS[1] lock key, ARGV[1] lock id.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
