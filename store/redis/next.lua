-- Next: ARGV[8] user id.
local id = ARGV[8]
local partner = redis.call('HGET', K_ROOMS, id)
if partner then
  dissolve(id, partner)
  emit_done(id)
  emit_left(partner, 'next')
  enqueue(id)
  enqueue(partner)
else
  if not queued(id) and not has_profile(id) then
    return NOT_JOINED
  end
  emit_done(id)
  enqueue(id)
end
match()
return OK
