-- Census: KEYS[1] online hash (instance → "count:expiry ms"), KEYS[2] queue
-- set, KEYS[3] rooms; ARGV[1] instance, ARGV[2] its online count, ARGV[3] TTL
-- of that figure (ms). Records the instance's figure, forgets the lapsed ones
-- (an instance that died without a word), and returns {online, waiting, in
-- call} in one round trip. Redis's own clock decides what lapsed, so that
-- the instances' clocks need not agree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + tonumber(ARGV[3])))
local online = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local count, expiry = string.match(all[i + 1], '^(%d+):(%d+)$')
  if count and tonumber(expiry) > now then
    online = online + tonumber(count)
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return {online, redis.call('SCARD', KEYS[2]), redis.call('HLEN', KEYS[3])}
