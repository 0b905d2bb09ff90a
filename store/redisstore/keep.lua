-- Keep: KEYS[1] a user's held session (a hash, see keys.go), KEYS[2] its
-- kept frames; ARGV[1] a frame, ARGV[2] max kept frames, ARGV[3] max kept
-- bytes, ARGV[4] a sharded pub/sub channel or ''. When the user is held,
-- appends the frame with the next offset (past the bounds, marks the
-- session lost and drops its frames instead) and returns 1; else publishes
-- the frame to the channel, when given, and returns 0. Stands alone (no
-- lib.lua): relays call it for every frame.
local key, kept, frame = KEYS[1], KEYS[2], ARGV[1]
if redis.call('EXISTS', key) == 0 then
  if ARGV[4] ~= '' then
    redis.call('SPUBLISH', ARGV[4], frame)
  end
  return 0
end
redis.call('HINCRBY', key, 'next', 1)
if redis.call('HGET', key, 'lost') == '1' then
  return 1
end
local bytes = redis.call('HINCRBY', key, 'bytes', #frame)
if redis.call('LLEN', kept) + 1 > tonumber(ARGV[2]) or bytes > tonumber(ARGV[3]) then
  redis.call('HSET', key, 'lost', '1', 'bytes', 0)
  redis.call('DEL', kept)
  return 1
end
redis.call('RPUSH', kept, frame)
local ttl = redis.call('PTTL', key)
if ttl > 0 then
  redis.call('PEXPIRE', kept, ttl)
end
return 1
