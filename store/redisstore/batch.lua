-- Batch: the joins, nexts, leaves and blocks that callers asked for while
-- another call was under way, applied one after the other as if each had
-- its own call. ARGV from ARGV[FIRST_ARG] holds triples: operation ('j' join, 'n'
-- next, 'l' leave, 'b' block), user id, argument (join: profile JSON;
-- leave: reason; block: JSON {addr, target, targetAddr}; next: unused).
-- Returns one status per triple, in order. A join's profile names the
-- instance it comes through (inst): the user joins that instance's members,
-- and the join is refused (GONE) while that instance has no presence.

local function op_join(id, raw)
  if redis.call('HEXISTS', K_ROOMS, id) == 1 then
    return BUSY
  end
  local ok, p = pcall(cjson.decode, raw)
  if ok and type(p) == 'table' and type(p.addr) == 'string' then
    local ttl = cooling_down(p.addr)
    if ttl > 0 then
      return -ttl
    end
  end
  local inst = instance_of(raw)
  if inst ~= '' and redis.call('HEXISTS', K_INSTANCES, inst) == 0 then
    return GONE
  end
  -- SADD is the "already queued?" check too.
  if redis.call('SADD', K_SET, id) == 0 then
    return BUSY
  end
  if inst ~= '' then
    redis.call('SADD', MEMBERS_PREFIX .. inst, id)
  end
  redis.call('SET', USER_PREFIX .. id, raw, 'PX', PROFILE_TTL)
  redis.call('RPUSH', K_LIST, id)
  redis.call('HSET', K_SINCE, id, now())
  match()
  return OK
end

local function op_next(id)
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
end

local function op_leave(id, why)
  local partner = redis.call('HGET', K_ROOMS, id)
  local was_queued = queued(id)
  local raw = redis.call('GET', USER_PREFIX .. id)
  local had_profile = raw ~= false
  if had_profile then
    redis.call('DEL', USER_PREFIX .. id)
    local inst = instance_of(raw)
    if inst ~= '' then
      redis.call('SREM', MEMBERS_PREFIX .. inst, id)
    end
  end
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
end

local function op_block(id, raw)
  local partner = redis.call('HGET', K_ROOMS, id)
  if not partner and not queued(id) and not has_profile(id) then
    return NOT_JOINED
  end
  local b = cjson.decode(raw)
  add_block(b.addr, block_member(id, b.addr, b.target, b.targetAddr))
  add_block(b.targetAddr, block_member(b.target, b.targetAddr, id, b.addr))
  return op_next(id)
end

local statuses = {}
for i = FIRST_ARG, #ARGV - 2, 3 do
  local op, id, arg = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local status = UNKNOWN_OP
  if op == 'j' then
    status = op_join(id, arg)
  elseif op == 'n' then
    status = op_next(id)
  elseif op == 'l' then
    status = op_leave(id, arg)
  elseif op == 'b' then
    status = op_block(id, arg)
  end
  statuses[#statuses + 1] = status
end
return statuses
