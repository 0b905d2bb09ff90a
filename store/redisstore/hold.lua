-- Hold: ARGV from FIRST_ARG: user id, pid hash, the partner the client was
-- told of ('' when none), address key, instance ('' when none), the offset
-- of the next frame, the offset of the first kept frame (the next one's
-- when none is kept), window (ms), max held sessions per address, max kept
-- frames, max kept bytes, then the kept frames, oldest first. Keeps the
-- session until the window ends (see keys.go), replacing an earlier one of
-- the user: the user leaves its instance's members and stays in the queue
-- or its room, never paired; a room whose partner the client was not told
-- of is dissolved (done for the user, the partner is told and requeued,
-- the user requeued).
-- Returns OK, or TOO_MANY_HELD (nothing changed) when the address holds
-- max held sessions of other users.
local id, pid, announced, addr, inst = ARGV[FIRST_ARG], ARGV[FIRST_ARG + 1], ARGV[FIRST_ARG + 2], ARGV[FIRST_ARG + 3], ARGV[FIRST_ARG + 4]
local next_offset, first_offset = ARGV[FIRST_ARG + 5], ARGV[FIRST_ARG + 6]
local window = tonumber(ARGV[FIRST_ARG + 7])
local max_held, max_frames, max_bytes = tonumber(ARGV[FIRST_ARG + 8]), tonumber(ARGV[FIRST_ARG + 9]), tonumber(ARGV[FIRST_ARG + 10])
local first_frame = FIRST_ARG + 11

local by_addr = HELD_ADDR_PREFIX .. addr
local others = 0
for _, m in ipairs(redis.call('SMEMBERS', by_addr)) do
  if m ~= id then
    if redis.call('HGET', HELD_PREFIX .. m, 'addr') == addr then
      others = others + 1
    else
      -- Its session ended by expiry: it no longer counts.
      redis.call('SREM', by_addr, m)
    end
  end
end
if others >= max_held then
  return TOO_MANY_HELD
end

unhold(id)
local deadline = now() + window
local expires = deadline + HELD_MARGIN
local frames = #ARGV - first_frame + 1
local bytes = 0
for i = first_frame, #ARGV do
  bytes = bytes + #ARGV[i]
end
local lost = frames > max_frames or bytes > max_bytes
local key = HELD_PREFIX .. id
redis.call('HSET', key, 'pid', pid, 'ann', announced, 'addr', addr, 'inst', inst,
  'next', next_offset, 'first', first_offset, 'bytes', lost and 0 or bytes,
  'dl', deadline, 'lost', lost and '1' or '0')
redis.call('PEXPIREAT', key, expires)
if frames > 0 and not lost then
  local kept = KEPT_PREFIX .. id
  redis.call('RPUSH', kept, unpack(ARGV, first_frame))
  redis.call('PEXPIREAT', kept, expires)
end
redis.call('ZADD', K_HELD, deadline, id)
live_until(K_HELD, expires)
redis.call('SADD', by_addr, id)
live_until(by_addr, expires)
if inst ~= '' then
  redis.call('SREM', MEMBERS_PREFIX .. inst, id)
end
-- The profile lives as long as the session: if nobody lapses it, the user
-- turns into a ghost.
if has_profile(id) then
  redis.call('PEXPIREAT', USER_PREFIX .. id, expires)
end
local partner = redis.call('HGET', K_ROOMS, id)
if partner and partner ~= announced then
  -- The client never heard of this pairing: end it now rather than keep
  -- a partner waiting for a call that was never announced.
  -- Done: a matched still on its way to the user is stale.
  dissolve(id, partner)
  emit_done(id)
  emit_left(partner, 'disconnect')
  enqueue(partner)
  enqueue(id)
  match()
end
return OK
