-- Report: KEYS[1] reports stream, KEYS[2] reporters key prefix, KEYS[3]
-- cool-down key prefix, KEYS[4] evidence key prefix, KEYS[5] evidence list
-- (the prefixes are declared among the KEYS for a Redis Cluster's sake,
-- see lib.lua). ARGV: reporter id, reporter address, reported id, reported
-- address, reason, report window (ms), threshold, cool-down (ms), stream
-- max length, reporter network, evidence (JSON, "" for none), evidence TTL
-- (ms), evidence kept (how many reports keep theirs). Keeps the report in
-- the stream, its evidence under
-- a key of its own (expiring after the TTL; the list of reports with
-- evidence, newest first, is trimmed to the number kept, and the evidence
-- of those that fall off is deleted), and counts its reporter's network
-- (see queue.Peer.Net: one subscriber's addresses are one reporter) once
-- in the reported address's recent reporters (a sorted set by time);
-- at the threshold, the reported address cools down and its count starts
-- again. Returns 1 when it started a cool-down, else 0.
local reporter, reporter_addr, reported, reported_addr, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local window, threshold, cool_down = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local maxlen, reports_prefix, cooldown_prefix = ARGV[9], KEYS[2], KEYS[3]
local reporter_net = ARGV[10]
local evidence, evidence_ttl, evidence_keep = ARGV[11], ARGV[12], tonumber(ARGV[13])
local evidence_prefix, evidence_list = KEYS[4], KEYS[5]

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local has_evidence = '0'
if evidence ~= '' then
  has_evidence = '1'
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*',
  'reporter', reporter, 'reporter_addr', reporter_addr,
  'reported', reported, 'reported_addr', reported_addr,
  'reason', reason, 'at', now, 'evidence', has_evidence)

if evidence ~= '' then
  redis.call('SET', evidence_prefix .. id, evidence, 'PX', evidence_ttl)
  redis.call('LPUSH', evidence_list, id)
  while redis.call('LLEN', evidence_list) > evidence_keep do
    local old = redis.call('RPOP', evidence_list)
    redis.call('DEL', evidence_prefix .. old)
  end
end

local key = reports_prefix .. reported_addr
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
redis.call('ZADD', key, now, reporter_net)
if redis.call('ZCARD', key) < threshold then
  redis.call('PEXPIRE', key, window)
  return 0
end
redis.call('DEL', key)
redis.call('SET', cooldown_prefix .. reported_addr, '1', 'PX', cool_down)
return 1
