-- Resume: ARGV from FIRST_ARG: user id, pid hash, the client's last offset,
-- the instance it resumes through ('' when none). Takes the user's held
-- session when the pid hash is its own: a user who joined (has a profile)
-- joins the instance's members and its profile names the instance (with a
-- fresh TTL); the stream gets the resume (k r: u the user, p its partner,
-- a the partner's address key, why the announced partner left, '' each
-- when none); then matching runs. Returns {NOT_HELD} (nothing changed) when there is no such
-- session; {RESUME_GAP} when the kept frames do not reach back to the
-- offset (the user is then ended as a lapse ends it); else {OK, the
-- offset of the next frame, the profile JSON or '', the partner or '',
-- the partner's address key or '', why the announced partner left or '',
-- then the kept frames after the offset, in order (the last has offset
-- next - 1)}.
local id, pid, after, inst = ARGV[FIRST_ARG], ARGV[FIRST_ARG + 1], tonumber(ARGV[FIRST_ARG + 2]), ARGV[FIRST_ARG + 3]
local key = HELD_PREFIX .. id
local h = redis.call('HMGET', key, 'pid', 'ann', 'next', 'first', 'lost', 'left')
if not h[1] or h[1] ~= pid then
  return { NOT_HELD }
end
local announced, next_offset, first, left = h[2] or '', h[3], tonumber(h[4]), h[6]
local frames = {}
local gap = h[5] == '1' or first > after + 1
if not gap then
  local kept = KEPT_PREFIX .. id
  local skip = after + 1 - first
  if skip < redis.call('LLEN', kept) then
    frames = redis.call('LRANGE', kept, skip, -1)
  end
end
unhold(id)
if gap then
  end_held(id)
  match()
  return { RESUME_GAP }
end
local raw = redis.call('GET', USER_PREFIX .. id)
if raw then
  -- Only a user who joined is among its instance's members, as a join
  -- does.
  if inst ~= '' then
    redis.call('SADD', MEMBERS_PREFIX .. inst, id)
  end
  local ok, p = pcall(cjson.decode, raw)
  if ok and type(p) == 'table' then
    if inst ~= '' then
      p.inst = inst
    else
      p.inst = nil
    end
    -- cjson writes an empty list as {}: leave it out, as the Go side does.
    if type(p.interests) == 'table' and #p.interests == 0 then
      p.interests = nil
    end
    raw = cjson.encode(p)
  end
  redis.call('SET', USER_PREFIX .. id, raw, 'PX', PROFILE_TTL)
else
  raw = ''
end
local partner = redis.call('HGET', K_ROOMS, id) or ''
local partner_addr = ''
if partner ~= '' then
  local p = profile(partner)
  if p then
    partner_addr = p.addr
  end
end
local why = ''
if announced ~= '' and partner ~= announced then
  why = left or 'disconnect'
end
xadd('k', 'r', 'u', id, 'p', partner, 'a', partner_addr, 'why', why)
-- Back in the queue as anyone else: it may be paired at once.
match()
local reply = { OK, next_offset, raw, partner, partner_addr, why }
for _, f in ipairs(frames) do
  reply[#reply + 1] = f
end
return reply
