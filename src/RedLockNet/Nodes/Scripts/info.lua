-- Reads an INFO section through a script, so the check works without admin mode on the client.
-- ARGV[1] section name. Returns the INFO text.
return redis.call('INFO', ARGV[1])
