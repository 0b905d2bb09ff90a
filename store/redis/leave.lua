-- Leave: ARGV[8] user id, ARGV[9] reason.
local id, why = ARGV[8], ARGV[9]
local partner = redis.call('HGET', K_ROOMS, id)
local was_queued = queued(id)
-- DEL both checks and removes the profile; when it finds none and id is
-- neither queued nor paired, nothing has changed.
local had_profile = redis.call('DEL', USER_PREFIX .. id) == 1
if not partner and not was_queued and not had_profile then
  return NOT_JOINED
end
dequeue(id)
emit_done(id)
if partner then
  dissolve(id, partner)
  emit_left(partner, why)
  enqueue(partner)
end
match()
return OK
