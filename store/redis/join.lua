-- Join: ARGV[8] user id, ARGV[9] profile JSON.
local id, profile = ARGV[8], ARGV[9]
if queued(id) or redis.call('HEXISTS', K_ROOMS, id) == 1 then
  return BUSY
end
redis.call('SET', USER_PREFIX .. id, profile, 'PX', PROFILE_TTL)
enqueue(id)
match()
return OK
