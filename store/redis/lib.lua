-- Shared by every script: the Go side prepends this file to each of them, so
-- that matching and the data model are written once. Keep match in step with
-- match in ../memory/memory.go.
--
-- KEYS: queue list, queue set, rooms, room details, events stream.
-- ARGV: nonce, profile TTL (ms), rematch window (ms), scan window, stream
--       max length, user key prefix, last partner key prefix, then the
--       script's own arguments from ARGV[8].
local K_LIST, K_SET, K_ROOMS, K_DETAILS, K_EVENTS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local NONCE = ARGV[1]
local PROFILE_TTL = ARGV[2]
local REMATCH_WINDOW = ARGV[3]
local SCAN = tonumber(ARGV[4])
local MAXLEN = ARGV[5]
local USER_PREFIX = ARGV[6]
local LAST_PREFIX = ARGV[7]

-- Status codes the Go side maps to the queue package's errors.
local OK, BUSY, NOT_JOINED, UNKNOWN_OP = 0, 1, 2, 3

local function xadd(...)
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', MAXLEN, '*', ...)
end

local function emit_done(u)
  xadd('k', 'd', 'u', u)
end

local function emit_left(u, why)
  xadd('k', 'l', 'u', u, 'why', why)
end

local function emit_matched(u, p, n, r, initiator)
  xadd('k', 'm', 'u', u, 'p', p, 'n', n, 'r', r, 'i', initiator and '1' or '0')
end

local function has_profile(id)
  return redis.call('EXISTS', USER_PREFIX .. id) == 1
end

-- The name strangers see: nil when the profile is gone, "Stranger" when it
-- has no usable name.
local function profile_name(id)
  local raw = redis.call('GET', USER_PREFIX .. id)
  if not raw then
    return nil
  end
  local ok, p = pcall(cjson.decode, raw)
  if ok and type(p) == 'table' and type(p.name) == 'string' and p.name ~= '' then
    return p.name
  end
  return 'Stranger'
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

local function enqueue(id)
  if redis.call('SADD', K_SET, id) == 1 then
    redis.call('RPUSH', K_LIST, id)
  end
end

-- Removes every copy, and from the list even when the set does not know id:
-- a list and set that disagree (data written by another program) must not
-- make match loop on an entry it cannot remove.
local function dequeue(id)
  redis.call('SREM', K_SET, id)
  redis.call('LREM', K_LIST, 0, id)
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
-- the queue: the earliest user A with the earliest later user B that neither
-- has as unexpired last partner. Users without a profile are dropped from the
-- queue as they are scanned. Only a bounded window is read per round so that
-- a long queue does not make every state change slow.
local function match()
  while true do
    local window = redis.call('LRANGE', K_LIST, 0, SCAN - 1)
    local n = #window
    if n < 2 then
      return
    end
    local seen = {}
    local ghosts = {}
    -- What a round knows about window[i]: false for a ghost, else its
    -- name and last partner. Read lazily: most rounds pair the first two.
    local function look(i)
      local c = seen[i]
      if c == nil then
        local id = window[i]
        local name = profile_name(id)
        if name == nil then
          c = false
          ghosts[#ghosts + 1] = id
        else
          c = { id = id, name = name, last = last_partner(id) }
        end
        seen[i] = c
      end
      return c
    end
    local a, b
    for i = 1, n - 1 do
      local c = look(i)
      if c then
        for j = i + 1, n do
          local d = look(j)
          if d and d.id ~= c.id and c.last ~= d.id and d.last ~= c.id then
            a, b = c, d
            break
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
      redis.call('SREM', K_SET, a.id, b.id)
      redis.call('LREM', K_LIST, 0, a.id)
      redis.call('LREM', K_LIST, 0, b.id)
      redis.call('HSET', K_ROOMS, a.id, b.id, b.id, a.id)
      redis.call('HSET', K_DETAILS, a.id, room, b.id, room)
      emit_matched(b.id, a.id, a.name, room, false)
      emit_matched(a.id, b.id, b.name, room, true)
      -- The window held the whole queue, and fewer than two are left.
      if n < SCAN and n - 2 - #ghosts < 2 then
        return
      end
    end
  end
end
