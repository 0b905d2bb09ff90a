-- Sweep: no arguments of its own. Lapses the held sessions whose window is
-- over, drops queue entries and dissolves rooms of users whose profile has
-- expired, then matches.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_HELD, '-inf', now())) do
  if not lapse(id) then
    -- Its session expired unlapsed: its user is a ghost by now.
    redis.call('ZREM', K_HELD, id)
  end
end
for _, id in ipairs(redis.call('LRANGE', K_LIST, 0, -1)) do
  if not has_profile(id) then
    dequeue(id)
  end
end
local rooms = redis.call('HGETALL', K_ROOMS)
for i = 1, #rooms, 2 do
  local u, p = rooms[i], rooms[i + 1]
  -- The pair may have been dissolved already, seen from the other side.
  if not has_profile(u) and redis.call('HGET', K_ROOMS, u) == p then
    dissolve(u, p)
    if has_profile(p) then
      emit_left(p, 'disconnect')
      enqueue(p)
    end
  end
end
match()
return OK
