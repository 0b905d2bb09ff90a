// Two instances on a 3-primary Redis Cluster (REDIS_MODE=cluster): matching
// across instances, relays exactly once and spread over the shards, and a
// SIGKILLed instance's users' partners told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, connect, emitAck, until, redisCommand, closeAll,
} from '../lib/harness.mjs';
import { startRedisCluster } from '../lib/cluster.mjs';
import { profile } from '../lib/contract.mjs';

const EVENTS = ['matched', 'partner-left', 'signal', 'chat-message'];

async function user(server, index, name) {
  const sock = await connect(server.url, { transports: ['websocket'] });
  const u = { sock, id: sock.id, server: index, name, log: [] };
  for (const event of EVENTS) sock.on(event, (payload) => u.log.push({ event, payload, t: Date.now() }));
  return u;
}

function partnerOf(u) {
  const last = u.log.filter((e) => e.event === 'matched' || e.event === 'partner-left').at(-1);
  return last && last.event === 'matched' ? last.payload.partnerId : undefined;
}

async function allPaired(users) {
  const byId = new Map(users.map((u) => [u.id, u]));
  await until(() => users.every((u) => partnerOf(byId.get(partnerOf(u)) ?? { log: [] }) === u.id),
    { timeout: 30000, what: () => `all paired (unpaired: ${users.filter((u) => !partnerOf(u)).map((u) => u.name).join(' ')})` });
  return users.filter((u) => u.id < partnerOf(u)).map((u) => [u, byId.get(partnerOf(u))]);
}

// A signal and a chat each way in every pair, then a marker: once every
// marker is in, each message arrived exactly once.
async function relayExactlyOnce(pairs) {
  const sent = [];
  for (const [a, b] of pairs) {
    for (const [from, to] of [[a, b], [b, a]]) sent.push({ from, to, sdp: `sdp-${from.name}`, text: `hi ${to.name}` });
  }
  await Promise.all(sent.map(async (m) => {
    assert.deepEqual(await emitAck(m.from.sock, 'signal', { to: m.to.id, data: { type: 'offer', sdp: m.sdp } }, 10000), { ok: true });
    assert.deepEqual(await emitAck(m.from.sock, 'chat-message', { message: m.text }, 10000), { ok: true });
    assert.deepEqual(await emitAck(m.from.sock, 'signal', { to: m.to.id, data: { marker: true } }, 10000), { ok: true });
  }));
  const marked = (m) => m.to.log.some((e) => e.event === 'signal' && e.payload.from === m.from.id && e.payload.data.marker);
  await until(() => sent.every(marked), { timeout: 20000, what: () => `markers (missing ${sent.filter((m) => !marked(m)).length})` });
  for (const m of sent) {
    const sigs = m.to.log.filter((e) => e.event === 'signal' && e.payload.from === m.from.id && e.payload.data.sdp === m.sdp);
    const chats = m.to.log.filter((e) => e.event === 'chat-message' && e.payload.from === m.from.id && e.payload.message === m.text);
    assert.equal(sigs.length, 1, `signal ${m.from.name}→${m.to.name} delivered ${sigs.length} times`);
    assert.equal(chats.length, 1, `chat ${m.from.name}→${m.to.name} delivered ${chats.length} times`);
  }
}

test('REDIS_MODE=cluster, two instances: matched across instances, relays exactly once over several shards; SIGKILL: partners told', { timeout: 180000 }, async () => {
  const redis = await startRedisCluster();
  const env = { REDIS_MODE: 'cluster' };
  const servers = [await startServer({ redisUrl: redis.url, env }), await startServer({ redisUrl: `redis://127.0.0.1:${redis.ports[2]}`, env })];
  const users = [];
  try {
    for (let i = 0; i < 24; i++) users.push(await user(servers[i % 2], i % 2, `u${i}`));
    // In turn: users i and i+1, on different instances, are paired.
    for (const u of users) assert.deepEqual(await emitAck(u.sock, 'join-queue', profile(u.name), 10000), { ok: true }, `join ${u.name}`);
    const pairs = await allPaired(users);
    assert.equal(pairs.length, 12);
    assert.ok(pairs.some(([a, b]) => a.server !== b.server), 'no pair across instances');

    const before = await redis.spublishes();
    await relayExactlyOnce(pairs);
    const after = await redis.spublishes();
    const carried = redis.ports.map((p) => after[p] - before[p]);
    assert.ok(carried.filter((n) => n > 0).length > 1, `relays carried by one shard only: ${carried}`);
    // The state is in the {zivro} slot, on one primary; the relays'
    // channels in their sockets' slots.
    const owner = await redis.ownerOf('{zivro}:rooms');
    assert.ok(await redisCommand(owner, 'HLEN', '{zivro}:rooms') >= 24, 'rooms under the {zivro} tag');
    console.log(`# cluster: SPUBLISH per shard for ${pairs.length * 2 * 3} messages: ${carried.join(' ')}`);

    // SIGKILL instance 1: the partners of its users, on instance 0, are told.
    const deadIds = new Set(users.filter((u) => u.server === 1).map((u) => u.id));
    const orphans = users.filter((u) => u.server === 0 && deadIds.has(partnerOf(u)));
    assert.ok(orphans.length > 0, 'no call across the killed instance');
    const mark = new Map(orphans.map((u) => [u.id, u.log.length]));
    await servers[1].kill();
    const told = (u) => u.log.slice(mark.get(u.id)).some((e) => e.event === 'partner-left');
    await until(() => orphans.every(told), { timeout: 30000, what: () => `partner-left to the dead's partners (${orphans.filter((u) => !told(u)).length} of ${orphans.length} waiting)` });
  } finally {
    closeAll(users.map((u) => u.sock));
    for (const s of servers) await s.kill();
    await redis.stop();
  }
});
