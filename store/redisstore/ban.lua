-- Ban: KEYS[1] events stream, KEYS[2] bans hash (address -> ban JSON, for
-- the list), KEYS[3] ban key prefix (see lib.lua). ARGV: address, ban JSON,
-- duration (ms, 0: until lifted), events stream max length. Records the ban (its key expires
-- with it) and announces it in the event stream ('k' 'b', 'a' address), so
-- that every instance drops the address's users.
local addr, ban, duration, prefix, maxlen = ARGV[1], ARGV[2], tonumber(ARGV[3]), KEYS[3], ARGV[4]
if duration > 0 then
  redis.call('SET', prefix .. addr, ban, 'PX', duration)
else
  redis.call('SET', prefix .. addr, ban)
end
redis.call('HSET', KEYS[2], addr, ban)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'k', 'b', 'a', addr)
return 0
