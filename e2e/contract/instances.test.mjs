// Several server instances on one Redis: matching and relays across
// instances, an instance killed (SIGKILL) or stopped (SIGTERM) mid-call, a
// restarted instance, and a Redis that loses its data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startServer, connect, emitAck, until, redisCommand, closeAll, waitFor,
} from '../lib/harness.mjs';
import { profile } from '../lib/contract.mjs';

const EVENTS = ['matched', 'partner-left', 'signal', 'chat-message'];

// A socket.io-client user connected to one instance, with everything it
// was told.
async function user(server, index, name) {
  const sock = await connect(server.url, { transports: ['websocket'] });
  const u = { sock, id: sock.id, server: index, name, log: [] };
  for (const event of EVENTS) sock.on(event, (payload) => u.log.push({ event, payload, t: Date.now() }));
  return u;
}

const matches = (u) => u.log.filter((e) => e.event === 'matched').map((e) => e.payload);
const lastMatch = (u) => matches(u).at(-1);
const lefts = (u) => u.log.filter((e) => e.event === 'partner-left').map((e) => e.payload);
// The partner a user has now: its last announcement is a match.
function partnerOf(u) {
  const last = u.log.filter((e) => e.event === 'matched' || e.event === 'partner-left').at(-1);
  return last && last.event === 'matched' ? last.payload.partnerId : undefined;
}

async function joinAll(users) {
  await Promise.all(users.map(async (u) => {
    const ack = await emitAck(u.sock, 'join-queue', profile(u.name), 10000);
    assert.deepEqual(ack, { ok: true }, `join ${u.name}`);
  }));
}

// Joins one after another: users i and i+1 (on different instances, as
// they are dealt round-robin) are paired, so every call spans two
// instances.
async function joinInTurn(users) {
  for (const u of users) {
    const ack = await emitAck(u.sock, 'join-queue', profile(u.name), 10000);
    assert.deepEqual(ack, { ok: true }, `join ${u.name}`);
  }
}

// Waits until every user is in a call with a partner who is in a call with
// it, in the same room; returns the pairs.
async function allPaired(users, timeout = 30000) {
  const byId = new Map(users.map((u) => [u.id, u]));
  await until(() => users.every((u) => {
    const p = byId.get(partnerOf(u));
    return p && partnerOf(p) === u.id && lastMatch(p).roomId === lastMatch(u).roomId;
  }), { timeout, what: () => `all paired mutually (unpaired: ${users.filter((u) => !partnerOf(u)).map((u) => u.name).join(' ')})` });
  const pairs = [];
  for (const u of users) {
    const p = byId.get(partnerOf(u));
    if (u.id < p.id) pairs.push([u, p]);
  }
  return pairs;
}

// Sends a signal and a chat message from each to the other of every pair,
// then a marker; once every marker has arrived, each message has arrived
// exactly once (a duplicate would come on the same path, before it).
async function relayExactlyOnce(pairs, tag) {
  const sent = [];
  for (const [a, b] of pairs) {
    for (const [from, to] of [[a, b], [b, a]]) {
      sent.push({ from, to, data: { type: 'offer', sdp: `${tag}-${from.name}` }, text: `hi ${tag} ${to.name}` });
    }
  }
  await Promise.all(sent.map(async (m) => {
    // What the sender was told, for a refusal's message.
    const told = () => `${m.from.name}@${m.from.server}→${m.to.name}@${m.to.server}; ${m.from.name} was told ${JSON.stringify(m.from.log.filter((e) => e.event === 'matched' || e.event === 'partner-left').slice(-3).map((e) => [e.event, e.payload.partnerId ?? e.payload.reason, e.t]))}; ${m.to.name} is ${m.to.id}, disconnected: ${m.to.sock.disconnected}`;
    assert.deepEqual(await emitAck(m.from.sock, 'signal', { to: m.to.id, data: m.data }, 10000), { ok: true }, told());
    assert.deepEqual(await emitAck(m.from.sock, 'chat-message', { message: m.text }, 10000), { ok: true }, told());
    assert.deepEqual(await emitAck(m.from.sock, 'signal', { to: m.to.id, data: { marker: tag } }, 10000), { ok: true }, told());
  }));
  await until(() => sent.every((m) => m.to.log.some((e) => e.event === 'signal' && e.payload.from === m.from.id && e.payload.data.marker === tag)),
    { timeout: 20000, what: () => `every marker delivered (missing: ${sent.filter((m) => !m.to.log.some((e) => e.event === 'signal' && e.payload.from === m.from.id && e.payload.data.marker === tag)).map((m) => `${m.from.name}@${m.from.server}→${m.to.name}@${m.to.server} got ${JSON.stringify(m.to.log.filter((e) => e.payload.from === m.from.id).map((e) => e.payload.data ?? e.payload.message))}`).join('; ')})` });
  for (const m of sent) {
    const sigs = m.to.log.filter((e) => e.event === 'signal' && e.payload.from === m.from.id && e.payload.data.sdp === m.data.sdp);
    const chats = m.to.log.filter((e) => e.event === 'chat-message' && e.payload.from === m.from.id && e.payload.message === m.text);
    assert.equal(sigs.length, 1, `signal ${m.from.name}→${m.to.name} (instances ${m.from.server}→${m.to.server}) delivered ${sigs.length} times`);
    assert.equal(chats.length, 1, `chat ${m.from.name}→${m.to.name} (instances ${m.from.server}→${m.to.server}) delivered ${chats.length} times`);
  }
}

async function redisState(redis) {
  const [list, set, rooms, instances] = await Promise.all([
    redisCommand(redis.port, 'LRANGE', 'zivro:queue:list', '0', '-1'),
    redisCommand(redis.port, 'SMEMBERS', 'zivro:queue:set'),
    redisCommand(redis.port, 'HKEYS', 'zivro:rooms'),
    redisCommand(redis.port, 'HKEYS', 'zivro:instances'),
  ]);
  return { queued: new Set([...list, ...set]), rooms: new Set(rooms), instances };
}

// Nothing of the users ids is left in Redis: queue, rooms, profiles, last
// partners.
async function assertNoneLeft(redis, ids, what) {
  const st = await redisState(redis);
  for (const id of ids) {
    assert.ok(!st.queued.has(id), `${what}: ${id} still queued`);
    assert.ok(!st.rooms.has(id), `${what}: ${id} still in a room`);
    for (const key of [`zivro:user:${id}`, `zivro:last_partner:${id}`]) {
      assert.equal(await redisCommand(redis.port, 'EXISTS', key), 0, `${what}: ${key} still in Redis`);
    }
  }
}

// The instances' warnings and errors (JSON log lines), for a failure's
// message: what the servers saw of it.
function warnings(servers) {
  return servers.map((s, i) => `\n--- instance ${i}: warnings and errors ---\n${s.logs().split('\n')
    .filter((l) => /"level":"(WARN|ERROR)"/.test(l)).slice(-30).join('\n')}`).join('');
}

async function cluster(n, env = {}) {
  const redis = await startRedis();
  const servers = [];
  for (let i = 0; i < n; i++) servers.push(await startServer({ redisUrl: redis.url, env: { ...env } }));
  return { redis, servers };
}

// Users are spread round-robin over the instances; the orphans of a dead
// instance are matched again (with one more user when they are odd).
async function rematchOrphans(orphans, spare) {
  const extra = [];
  if (orphans.length % 2 === 1) {
    extra.push(await spare());
    await joinAll(extra);
  }
  return { pairs: await allPaired([...orphans, ...extra], 30000), extra };
}

test('three instances: 60 users paired mutually, relays exactly once, Next across instances; SIGKILL: partners told and rematched, the dead never matched; a restarted instance joins', { timeout: 240000 }, async () => {
  const { redis, servers } = await cluster(3);
  const users = [];
  try {
    for (let i = 0; i < 60; i++) users.push(await user(servers[i % 3], i % 3, `u${i}`));
    // Half join at once (pairs within and across instances), half in turn
    // (every pair across two instances).
    await joinAll(users.slice(0, 30));
    await joinInTurn(users.slice(30));
    let pairs = await allPaired(users);
    assert.equal(pairs.length, 30);
    const across = pairs.filter(([a, b]) => a.server !== b.server);
    assert.ok(across.length > 0, 'no pair across instances');
    await relayExactlyOnce(pairs, 'first');

    // Next across instances, twice: the four are requeued and paired anew.
    const [[a1, b1], [a2, b2]] = across;
    const before = new Map([a1, b1, a2, b2].map((u) => [u.id, lastMatch(u).roomId]));
    const leftB1 = waitFor(b1.sock, 'partner-left', { timeout: 10000 });
    const leftB2 = waitFor(b2.sock, 'partner-left', { timeout: 10000 });
    assert.deepEqual(await emitAck(a1.sock, 'next', undefined, 10000), { ok: true });
    assert.deepEqual(await emitAck(a2.sock, 'next', undefined, 10000), { ok: true });
    assert.deepEqual(await leftB1, { reason: 'next' });
    assert.deepEqual(await leftB2, { reason: 'next' });
    pairs = await allPaired(users);
    for (const u of [a1, b1, a2, b2]) assert.notEqual(lastMatch(u).roomId, before.get(u.id), `${u.name} not paired anew after Next`);
    await relayExactlyOnce(pairs, 'after-next');

    // SIGKILL instance 2 mid-call.
    const dead = users.filter((u) => u.server === 2);
    const deadIds = new Set(dead.map((u) => u.id));
    const live = users.filter((u) => u.server !== 2);
    const orphans = live.filter((u) => deadIds.has(partnerOf(u)));
    assert.ok(orphans.length > 0, 'no call across the killed instance');
    const mark = new Map(live.map((u) => [u.id, u.log.length]));
    const killedAt = Date.now();
    await servers[2].kill();
    await until(() => orphans.every((u) => u.log.slice(mark.get(u.id)).some((e) => e.event === 'partner-left')),
      { timeout: 30000, what: () => `partner-left to every partner of the dead instance's users (${orphans.filter((u) => !u.log.slice(mark.get(u.id)).some((e) => e.event === 'partner-left')).length} of ${orphans.length} waiting)` });
    for (const u of orphans) assert.deepEqual(lefts(u).at(-1), { reason: 'disconnect' });
    const told = Math.max(...orphans.map((u) => u.log.slice(mark.get(u.id)).find((e) => e.event === 'partner-left').t)) - killedAt;
    const spare = () => user(servers[0], 0, 'spare');
    const { extra } = await rematchOrphans(orphans, spare);
    for (const u of live) {
      for (const e of u.log.slice(mark.get(u.id))) {
        if (e.event === 'matched') assert.ok(!deadIds.has(e.payload.partnerId), `${u.name} matched with ${e.payload.partnerId} of the dead instance`);
      }
    }
    await assertNoneLeft(redis, [...deadIds], 'after the takeover');
    assert.equal((await redisState(redis)).instances.length, 2, 'the dead instance is still present');
    await relayExactlyOnce(await allPaired([...live, ...extra]), 'after-kill');

    // A restarted instance joins again.
    servers[2] = await startServer({ redisUrl: redis.url });
    const fresh = [await user(servers[2], 2, 'r1'), await user(servers[2], 2, 'r2')];
    await joinAll(fresh);
    const freshPairs = await allPaired(fresh);
    await relayExactlyOnce(freshPairs, 'restarted');
    assert.equal((await redisState(redis)).instances.length, 3);
    users.push(...extra, ...fresh);
    console.log(`# SIGKILL: last partner told ${told} ms after the kill (${orphans.length} partners)`);
  } catch (e) {
    e.message += warnings(servers);
    throw e;
  } finally {
    closeAll(users.map((u) => u.sock));
    for (const s of servers) await s.kill();
    await redis.stop();
  }
});

test('SIGTERM: partners on other instances are told at once and requeued, nothing of the instance is left in Redis', { timeout: 120000 }, async () => {
  // A presence that lapses only after ten minutes: whatever the partners
  // are told comes from the drain, not from a takeover.
  const { redis, servers } = await cluster(3, { PRESENCE_TTL_MS: '600000' });
  const users = [];
  try {
    for (let i = 0; i < 24; i++) users.push(await user(servers[i % 3], i % 3, `t${i}`));
    await joinInTurn(users);
    await allPaired(users);
    const before = await redisCommand(redis.port, 'HKEYS', 'zivro:instances');
    assert.equal(before.length, 3);
    const going = users.filter((u) => u.server === 1);
    const goingIds = new Set(going.map((u) => u.id));
    const live = users.filter((u) => u.server !== 1);
    const orphans = live.filter((u) => goingIds.has(partnerOf(u)));
    assert.ok(orphans.length > 0, 'no call across the stopped instance');
    const mark = new Map(live.map((u) => [u.id, u.log.length]));
    const { code } = await servers[1].stop(20000);
    assert.equal(code, 0, 'exit code after SIGTERM');
    // Told by the drain: the instance is gone, and so is its presence.
    await until(() => orphans.every((u) => u.log.slice(mark.get(u.id)).some((e) => e.event === 'partner-left')),
      { timeout: 20000, what: 'partner-left to every partner of the stopped instance' });
    for (const u of orphans) assert.deepEqual(lefts(u).at(-1), { reason: 'disconnect' });
    const after = await redisCommand(redis.port, 'HKEYS', 'zivro:instances');
    assert.equal(after.length, 2, 'presence of the stopped instance');
    const gone = before.find((i) => !after.includes(i));
    assert.equal(await redisCommand(redis.port, 'EXISTS', `zivro:members:${gone}`), 0, 'members of the stopped instance');
    assert.equal(await redisCommand(redis.port, 'HEXISTS', 'zivro:online', gone), 0, 'census figure of the stopped instance');
    await assertNoneLeft(redis, [...goingIds], 'after SIGTERM');
    const { extra } = await rematchOrphans(orphans, () => user(servers[0], 0, 'spare'));
    for (const u of live) {
      for (const e of u.log.slice(mark.get(u.id))) {
        if (e.event === 'matched') assert.ok(!goingIds.has(e.payload.partnerId), `${u.name} matched with a user of the stopped instance`);
      }
    }
    users.push(...extra);
  } finally {
    closeAll(users.map((u) => u.sock));
    for (const s of servers) await s.kill();
    await redis.stop();
  }
});

test('Redis loses its data (FLUSHALL): users in a call are told partner-left and matched again; a chat to a partner who moved on is refused', { timeout: 60000 }, async () => {
  const { redis, servers } = await cluster(2, { HEARTBEAT_INTERVAL_MS: '500', PRESENCE_TTL_MS: '5000' });
  const users = [];
  try {
    users.push(await user(servers[0], 0, 'f0'), await user(servers[1], 1, 'f1'), await user(servers[0], 0, 'f2'), await user(servers[0], 0, 'f3'));
    await joinAll(users);
    await allPaired(users);
    const rooms = new Map(users.map((u) => [u.id, lastMatch(u).roomId]));
    const mark = new Map(users.map((u) => [u.id, u.log.length]));
    assert.equal(await redisCommand(redis.port, 'FLUSHALL'), 'OK');
    await until(() => users.every((u) => u.log.slice(mark.get(u.id)).some((e) => e.event === 'partner-left')),
      { timeout: 20000, what: 'partner-left to every user in a call after FLUSHALL' });
    const pairs = await allPaired(users);
    for (const u of users) assert.notEqual(lastMatch(u).roomId, rooms.get(u.id), `${u.name} still in its lost call`);
    // A pair on one instance: once one has moved on, the other's chat is
    // refused, never delivered into its next call.
    const local = pairs.find(([a, b]) => a.server === b.server);
    if (local) {
      const [a, b] = local;
      const aLeft = waitFor(b.sock, 'partner-left', { timeout: 10000 });
      assert.deepEqual(await emitAck(a.sock, 'next', undefined, 10000), { ok: true });
      await aLeft;
      const ack = await emitAck(b.sock, 'chat-message', { message: 'to a gone partner' }, 10000);
      assert.equal(ack.ok, false, `chat after the partner moved on: ${JSON.stringify(ack)}`);
      assert.ok(!a.log.some((e) => e.event === 'chat-message' && e.payload.message === 'to a gone partner'));
    }
  } finally {
    closeAll(users.map((u) => u.sock));
    for (const s of servers) await s.kill();
    await redis.stop();
  }
});
