-- Reconcile: ARGV[FIRST_ARG] instance, ARGV[FIRST_ARG + 1] the ID of the
-- last event the instance handled ('' when it handled every one),
-- ARGV[FIRST_ARG + 2] the users to leave alone (JSON list),
-- ARGV[FIRST_ARG + 3] its claims (JSON list of {id, profile (JSON text),
-- partner, pending}). Repairs what a failover lost, as queue.Reconciler
-- says; keep in step with ../memory/reconcile.go. Returns {restored,
-- requeued, ended, ghosts, removed, {user, its EventDone still to come,
-- ...}} (users with none left out).
local inst, after = ARGV[FIRST_ARG], ARGV[FIRST_ARG + 1]
local keep = {}
for _, id in ipairs(cjson.decode(ARGV[FIRST_ARG + 2])) do
  keep[id] = true
end
local claims = cjson.decode(ARGV[FIRST_ARG + 3])

-- emit_left for the pairing of u with about only: the instance drops it
-- when u is no longer paired with about, and a held u's resume announces
-- it only if about is the partner it was told of.
local function emit_left_about(u, about)
  xadd('k', 'l', 'u', u, 'why', 'disconnect', 'p', about)
  if redis.call('HGET', HELD_PREFIX .. u, 'ann') == about then
    redis.call('HSET', HELD_PREFIX .. u, 'left', 'disconnect')
  end
end

-- What comes after the instance's last handled event: the rooms
-- announced (its beliefs do not know them yet) and each user's EventDone.
local fresh, dones = {}, {}
if after ~= '' then
  for _, entry in ipairs(redis.call('XRANGE', K_EVENTS, '(' .. after, '+')) do
    local f, kind, room, user = entry[2], nil, nil, nil
    for i = 1, #f, 2 do
      if f[i] == 'k' then
        kind = f[i + 1]
      elseif f[i] == 'r' then
        room = f[i + 1]
      elseif f[i] == 'u' then
        user = f[i + 1]
      end
    end
    if kind == 'm' and room then
      fresh[room] = true
    elseif kind == 'd' and user then
      dones[user] = (dones[user] or 0) + 1
    end
  end
end

local restored, requeued, ended, ghosts, removed = 0, 0, 0, 0, 0
local claimed = {}
for _, c in ipairs(claims) do
  local id = c.id
  claimed[id] = true
  local pending = tonumber(c.pending) or 0
  if pending > 0 then
    if pending > (dones[id] or 0) then
      -- Its own request was lost: the call ended as its client sees it.
      c.partner = ''
    end
  end
  if not held(id) then
    if not has_profile(id) then
      redis.call('SET', USER_PREFIX .. id, c.profile, 'PX', PROFILE_TTL)
      restored = restored + 1
    end
    redis.call('SADD', MEMBERS_PREFIX .. inst, id)
    local x = redis.call('HGET', K_ROOMS, id)
    if x and x ~= c.partner then
      local room = redis.call('HGET', K_DETAILS, id)
      if not (room and fresh[room]) then
        -- The user was told of this pairing, then told it was over in
        -- what the store lost.
        dissolve(id, x)
        emit_left_about(x, id)
        emit_left_about(id, x)
        if has_profile(x) then
          enqueue(x)
        end
        ghosts = ghosts + 1
        x = nil
      end
    end
    if not x then
      if c.partner ~= '' then
        emit_left_about(id, c.partner)
        ended = ended + 1
      end
      if not queued(id) then
        enqueue(id)
        requeued = requeued + 1
      end
    end
  end
end

-- Members the instance does not claim: their leave was lost.
local key = MEMBERS_PREFIX .. inst
for _, m in ipairs(redis.call('SMEMBERS', key)) do
  if not claimed[m] and not keep[m] and not held(m) then
    dequeue(m)
    local partner = redis.call('HGET', K_ROOMS, m)
    if partner then
      dissolve(m, partner)
      emit_left_about(partner, m)
      enqueue(partner)
    end
    redis.call('SREM', key, m)
    redis.call('DEL', USER_PREFIX .. m, LAST_PREFIX .. m)
    removed = removed + 1
  end
end
match()
local coming = {}
for u, n in pairs(dones) do
  coming[#coming + 1] = u
  coming[#coming + 1] = n
end
return {restored, requeued, ended, ghosts, removed, coming}
