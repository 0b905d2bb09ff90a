-- Beat: ARGV[FIRST_ARG] instance, ARGV[FIRST_ARG + 1] presence TTL (ms).
-- Renews the instance's presence, and takes over every other instance
-- whose presence has lapsed (take_over in lib.lua), then matches the
-- partners it requeued. Redis's clock decides what lapsed, so the
-- instances' clocks need not agree. Returns {1 when the instance's
-- presence was still there (lapsed or not) before this beat, else 0 (a new
-- instance, one that was taken over, or a Redis that lost its data); the
-- number of instances taken over}.
local inst, ttl = ARGV[FIRST_ARG], tonumber(ARGV[FIRST_ARG + 1])
local kept = redis.call('HEXISTS', K_INSTANCES, inst)
redis.call('HSET', K_INSTANCES, inst, now() + ttl)
local taken = 0
local all = redis.call('HGETALL', K_INSTANCES)
for i = 1, #all, 2 do
  if all[i] ~= inst and tonumber(all[i + 1]) <= now() then
    take_over(all[i])
    taken = taken + 1
  end
end
if taken > 0 then
  match()
end
return {kept, taken}
