-- Shared by every script: the Go side prepends this file to each of them, so
-- that matching and the data model are written once. Keep match in step with
-- match in ../memory/match.go.
--
-- KEYS: queue list, queue set, rooms, room details, events stream, queued
--       since (hash: user -> ms when last queued), instances (hash:
--       instance -> ms when its presence lapses), held (sorted set: held
--       user -> ms when its window ends), then the prefixes of the keys the
--       scripts name themselves, declared among the KEYS so that a Redis
--       Cluster routes the call to, and checks it against, their slot (the
--       hash tag's; see keys.go): user key prefix, last partner key
--       prefix, block key prefix, cool-down key prefix, members key prefix
--       (+ instance: the set of users who joined through it), then the
--       online hash (the census), then held key prefix (+ user: its held
--       session, a hash; see keys.go), kept key prefix (+ user: the frames
--       kept for it, a list), held address key prefix (+ address key: the
--       set of its held users).
-- ARGV: nonce, profile TTL (ms), rematch window (ms), scan window, stream
--       max length, interest wait (ms), block TTL (ms), max blocks per
--       address, held margin (ms: how long past its window a held session
--       and its user's profile live when nobody lapses it), then the
--       script's own arguments from ARGV[FIRST_ARG].
local K_LIST, K_SET, K_ROOMS, K_DETAILS, K_EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_SINCE, K_INSTANCES, K_HELD = KEYS[6], KEYS[7], KEYS[8]
local USER_PREFIX = KEYS[9]
local LAST_PREFIX = KEYS[10]
local BLOCK_PREFIX = KEYS[11]
local COOLDOWN_PREFIX = KEYS[12]
local MEMBERS_PREFIX = KEYS[13]
local K_ONLINE = KEYS[14]
local HELD_PREFIX = KEYS[15]
local KEPT_PREFIX = KEYS[16]
local HELD_ADDR_PREFIX = KEYS[17]
local NONCE = ARGV[1]
local PROFILE_TTL = ARGV[2]
local REMATCH_WINDOW = ARGV[3]
local SCAN = tonumber(ARGV[4])
local MAXLEN = ARGV[5]
local INTEREST_WAIT = tonumber(ARGV[6])
local BLOCK_TTL = ARGV[7]
local MAX_BLOCKS = tonumber(ARGV[8])
local HELD_MARGIN = tonumber(ARGV[9])
local FIRST_ARG = 10

-- Status codes the Go side maps to the queue package's errors. A negative
-- status is a cool-down: minus the milliseconds it still lasts. GONE: a
-- join through an instance whose presence is gone (taken over or retired).
-- TOO_MANY_HELD, NOT_HELD, RESUME_GAP: the held sessions' errors.
local OK, BUSY, NOT_JOINED, UNKNOWN_OP, GONE = 0, 1, 2, 3, 4
local TOO_MANY_HELD, NOT_HELD, RESUME_GAP = 5, 6, 7

-- Redis's clock in ms, read once per call: every step of a call happens at
-- the same instant, as under the memory store's lock.
local now_ms
local function now()
  if not now_ms then
    local t = redis.call('TIME')
    now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now_ms
end

local function xadd(...)
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*', ...)
end

local function emit_done(u)
  xadd('k', 'd', 'u', u)
end

local function held(id)
  return redis.call('EXISTS', HELD_PREFIX .. id) == 1
end

-- Tells u that its partner left for why; a held u's session records why,
-- for its Resume to announce.
local function emit_left(u, why)
  xadd('k', 'l', 'u', u, 'why', why)
  if held(u) then
    redis.call('HSET', HELD_PREFIX .. u, 'left', why)
  end
end

-- Tells u of its pairing with partner p (a candidate of match) in room r.
-- common: the shared interests, JSON (nil when none). Optional fields are
-- left out when empty: g, the partner's region; t, '1' for text-only.
local function emit_matched(u, p, r, initiator, common)
  local f = { 'k', 'm', 'u', u, 'p', p.id, 'n', p.name, 'r', r, 'i', initiator and '1' or '0', 'a', p.addr }
  if common then
    f[#f + 1], f[#f + 2] = 'c', common
  end
  if p.region ~= '' then
    f[#f + 1], f[#f + 2] = 'g', p.region
  end
  if p.text then
    f[#f + 1], f[#f + 2] = 't', '1'
  end
  xadd(unpack(f))
end

-- The instance a profile was joined through ('' when none: a caller that
-- does not track instances).
local function instance_of(raw)
  if not raw then
    return ''
  end
  local ok, p = pcall(cjson.decode, raw)
  if ok and type(p) == 'table' and type(p.inst) == 'string' then
    return p.inst
  end
  return ''
end

local function has_profile(id)
  return redis.call('EXISTS', USER_PREFIX .. id) == 1
end

-- What matching needs of a profile: nil when it is gone; else a table of
-- the name strangers see ("Stranger" when it has no usable name), the
-- address key ('' when none), the interests (a list of strings, maybe
-- empty), the region and language ('' when none) and whether the user is
-- text-only.
local function profile(id)
  local raw = redis.call('GET', USER_PREFIX .. id)
  if not raw then
    return nil
  end
  local ok, p = pcall(cjson.decode, raw)
  if not ok or type(p) ~= 'table' then
    p = {}
  end
  local function str(v)
    if type(v) == 'string' then
      return v
    end
    return ''
  end
  local c = { name = str(p.name), addr = str(p.addr), region = str(p.region), lang = str(p.lang), text = p.text == true, interests = {} }
  if c.name == '' then
    c.name = 'Stranger'
  end
  if type(p.interests) == 'table' then
    for _, t in ipairs(p.interests) do
      if type(t) == 'string' then
        c.interests[#c.interests + 1] = t
      end
    end
  end
  return c
end

-- The interests of a that b has too, in a's order (store.Common).
local function common(a, b)
  local out = {}
  for _, t in ipairs(a) do
    for _, u in ipairs(b) do
      if t == u then
        out[#out + 1] = t
        break
      end
    end
  end
  return out
end

-- What the blocks of a's address hold for a block of a and b
-- (store.BlockMember).
local function block_member(a, a_addr, b, b_addr)
  if a_addr ~= b_addr then
    return b_addr
  end
  if b < a then
    a, b = b, a
  end
  return '=' .. a .. ' ' .. b
end

local function add_block(addr, member)
  local key = BLOCK_PREFIX .. addr
  if redis.call('SISMEMBER', key, member) == 0 and redis.call('SCARD', key) >= MAX_BLOCKS then
    redis.call('SPOP', key)
  end
  redis.call('SADD', key, member)
  redis.call('PEXPIRE', key, BLOCK_TTL)
end

-- 0 when addr may join, else how many ms its cool-down still lasts.
local function cooling_down(addr)
  local ttl = redis.call('PTTL', COOLDOWN_PREFIX .. addr)
  if ttl > 0 then
    return ttl
  end
  return 0
end

local function last_partner(id)
  local v = redis.call('GET', LAST_PREFIX .. id)
  if v then
    return v
  end
  return nil
end

local function queued(id)
  return redis.call('SISMEMBER', K_SET, id) == 1
end

-- Puts id at the back of the queue; its interest wait starts now.
local function enqueue(id)
  if redis.call('SADD', K_SET, id) == 1 then
    redis.call('RPUSH', K_LIST, id)
    redis.call('HSET', K_SINCE, id, now())
  end
end

-- Removes every copy, and from the list even when the set does not know id:
-- a list and set that disagree (data written by another program) must not
-- make match loop on an entry it cannot remove.
local function dequeue(id)
  redis.call('SREM', K_SET, id)
  redis.call('LREM', K_LIST, 0, id)
  redis.call('HDEL', K_SINCE, id)
end

-- Ends the pairing of a and b and keeps them apart for the rematch window.
local function dissolve(a, b)
  redis.call('HDEL', K_ROOMS, a, b)
  redis.call('HDEL', K_DETAILS, a, b)
  redis.call('SET', LAST_PREFIX .. a, b, 'PX', REMATCH_WINDOW)
  redis.call('SET', LAST_PREFIX .. b, a, 'PX', REMATCH_WINDOW)
end

local room_seq = 0

-- Pairs waiting users until no eligible pair is left in the scanned head of
-- the queue (the rules are queue.Store's): the earliest user A with the
-- earliest later user B of A's language; or else, when A has no language or
-- is open, the earliest later B that shares an interest with A and has no
-- language or is open; or else, when A is open, the earliest later open B.
-- B is of A's mode (text-only or video), and neither may have the other as
-- unexpired last partner, nor a block of the other. Held users keep their
-- place and are skipped. Users without a profile are
-- dropped from the queue as they are scanned. Only a bounded window is read
-- per round so that a long queue does not make every state change slow.
local function match()
  while true do
    local window = redis.call('LRANGE', K_LIST, 0, SCAN - 1)
    local n = #window
    if n < 2 then
      return
    end
    local seen = {}
    local ghosts = {}
    -- What a round knows about window[i]: false for a held user or a
    -- ghost, else its profile (see profile), id, last partner and whether
    -- it is open. Read lazily: most rounds pair the first two.
    local function look(i)
      local c = seen[i]
      if c == nil then
        local id = window[i]
        if held(id) then
          c = false
        else
          c = profile(id)
          if c == nil then
            c = false
            ghosts[#ghosts + 1] = id
          else
            c.id, c.last, c.open = id, last_partner(id), true
            if #c.interests > 0 or c.lang ~= '' then
              local since = tonumber(redis.call('HGET', K_SINCE, id))
              c.open = since == nil or now() >= since + INTEREST_WAIT
            end
          end
        end
        seen[i] = c
      end
      return c
    end
    local function eligible(c, d)
      return d and d.text == c.text and d.id ~= c.id and c.last ~= d.id and d.last ~= c.id
        and redis.call('SISMEMBER', BLOCK_PREFIX .. c.addr, block_member(c.id, c.addr, d.id, d.addr)) == 0
    end
    local a, b
    for i = 1, n - 1 do
      local c = look(i)
      if c then
        if c.lang ~= '' then
          for j = i + 1, n do
            local d = look(j)
            if d and d.lang == c.lang and eligible(c, d) then
              a, b = c, d
              break
            end
          end
        end
        -- Inside its wait, a user with a language takes only its
        -- language: a shared interest counts for those without one.
        if not a and #c.interests > 0 and (c.lang == '' or c.open) then
          for j = i + 1, n do
            local d = look(j)
            if d and (d.lang == '' or d.open) and #common(c.interests, d.interests) > 0 and eligible(c, d) then
              a, b = c, d
              break
            end
          end
        end
        if not a and c.open then
          for j = i + 1, n do
            local d = look(j)
            if d and d.open and eligible(c, d) then
              a, b = c, d
              break
            end
          end
        end
      end
      if a then
        break
      end
    end
    for _, g in ipairs(ghosts) do
      dequeue(g)
    end
    if not a then
      if #ghosts == 0 then
        return
      end
      -- The ghosts made room for users beyond the window: look again.
    else
      room_seq = room_seq + 1
      local room = NONCE .. '-' .. room_seq
      local shared = common(a.interests, b.interests)
      if #shared > 0 then
        shared = cjson.encode(shared)
      else
        shared = nil
      end
      redis.call('SREM', K_SET, a.id, b.id)
      redis.call('LREM', K_LIST, 0, a.id)
      redis.call('LREM', K_LIST, 0, b.id)
      redis.call('HDEL', K_SINCE, a.id, b.id)
      redis.call('HSET', K_ROOMS, a.id, b.id, b.id, a.id)
      redis.call('HSET', K_DETAILS, a.id, room, b.id, room)
      emit_matched(b.id, a, room, false, shared)
      emit_matched(a.id, b, room, true, shared)
      -- The window held the whole queue, and fewer than two are left.
      if n < SCAN and n - 2 - #ghosts < 2 then
        return
      end
    end
  end
end

-- Takes over the users of instance inst, whose presence lapsed (or which
-- retires): each leaves its queue place and its call, and its profile and
-- last partner go; a partner who is not one of them is told
-- (disconnect) and requeued. Then inst's presence, members and census
-- figure go: nothing of it is left. The caller runs match afterwards.
-- Runs inside one script call, so exactly one caller does the work: a
-- second finds nothing left to take over.
local function take_over(inst)
  local key = MEMBERS_PREFIX .. inst
  local members = redis.call('SMEMBERS', key)
  -- In order, as the memory store does: the partners are told and requeued
  -- in a stable order.
  table.sort(members)
  local gone = {}
  for _, m in ipairs(members) do
    gone[m] = true
  end
  for _, m in ipairs(members) do
    dequeue(m)
    local partner = redis.call('HGET', K_ROOMS, m)
    if partner then
      dissolve(m, partner)
      if not gone[partner] then
        emit_left(partner, 'disconnect')
        enqueue(partner)
      end
    end
    redis.call('DEL', USER_PREFIX .. m, LAST_PREFIX .. m)
  end
  redis.call('DEL', key)
  redis.call('HDEL', K_INSTANCES, inst)
  redis.call('HDEL', K_ONLINE, inst)
  return #members
end

-- Makes key, when it exists, live at least until at (ms, Redis's clock).
local function live_until(key, at)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 or (ttl >= 0 and now() + ttl < at) then
    redis.call('PEXPIREAT', key, at)
  end
end

-- Forgets id's held session, if any, and nothing else.
local function unhold(id)
  local key = HELD_PREFIX .. id
  local addr = redis.call('HGET', key, 'addr')
  if addr then
    redis.call('SREM', HELD_ADDR_PREFIX .. addr, id)
  end
  redis.call('DEL', key, KEPT_PREFIX .. id)
  redis.call('ZREM', K_HELD, id)
end

-- Ends a user whose held session is over (lapsed, or lost frames it
-- missed) as a disconnect: it leaves the queue, its room (the partner is
-- told and requeued) and the store. The caller runs match.
local function end_held(id)
  dequeue(id)
  local partner = redis.call('HGET', K_ROOMS, id)
  if partner then
    dissolve(id, partner)
    emit_left(partner, 'disconnect')
    enqueue(partner)
  end
  local inst = instance_of(redis.call('GET', USER_PREFIX .. id))
  if inst ~= '' then
    redis.call('SREM', MEMBERS_PREFIX .. inst, id)
  end
  redis.call('DEL', USER_PREFIX .. id, LAST_PREFIX .. id)
end

-- Ends id's held session as a disconnect when its window is over (Redis's
-- clock); reports whether it did. The caller runs match.
local function lapse(id)
  local deadline = redis.call('HGET', HELD_PREFIX .. id, 'dl')
  if not deadline or tonumber(deadline) > now() then
    return false
  end
  unhold(id)
  end_held(id)
  return true
end
