-- Incarnation: KEYS[1] incarnation key, ARGV[1] a fresh random value, used
-- when the key is missing (a Redis that has lost its data).
local v = redis.call('GET', KEYS[1])
if not v then
  v = ARGV[1]
  redis.call('SET', KEYS[1], v)
end
return v
