-- The plain acquisition (SET KEYS[1] ARGV[1] NX PX ARGV[2]) as a script, for when the epoch check goes first.
-- Reply OK when granted, nil when a key stands.
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
