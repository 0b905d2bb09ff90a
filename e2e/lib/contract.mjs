// Shared helpers for the contract tests: one fresh server (and, in Redis
// mode, one fresh private redis-server) per test, so that no test can see
// another test's sockets in the queue.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  startRedis, startServer, connect, waitFor, emitAck, RawClient, wsUrl, until,
} from './harness.mjs';

export { until };

export const MODES = [
  { name: 'embedded', redis: false },
  { name: 'redis', redis: true },
];

/** One describe block per store mode. */
export function eachMode(fn) {
  for (const mode of MODES) {
    describe(`[${mode.name} store]`, () => fn(mode));
  }
}

/**
 * Starts redis (Redis mode) and the server with env, runs fn(ctx), and always
 * cleans up. On failure the error message gets the server's log tail.
 */
export async function withServer(mode, env, fn, serverOpts = {}) {
  const redis = mode.redis ? await startRedis() : null;
  let server;
  const sockets = [];
  const raws = [];
  try {
    server = await startServer({ redisUrl: redis?.url, env, ...serverOpts });
    const ctx = {
      mode,
      redis,
      server,
      url: server.url,
      /** a connected socket.io-client socket, closed after the test */
      async client(opts = {}) {
        const s = await connect(server.url, opts);
        sockets.push(s);
        return s;
      },
      /** a raw Engine.IO websocket (handshake done unless handshake:false) */
      async raw(opts = {}) {
        const { handshake = true, ...rest } = opts;
        const r = new RawClient(wsUrl(server.url), rest);
        raws.push(r);
        if (handshake) await r.handshake();
        return r;
      },
    };
    await fn(ctx);
  } catch (e) {
    if (server) {
      const tail = server.logs().slice(-4000);
      const extra = `\n--- server log tail (${mode.name}) ---\n${tail}`;
      try { e.message += extra; } catch { /* read-only */ }
      try { if (typeof e.stack === 'string' && !e.stack.includes(extra)) e.stack += extra; } catch { /* read-only */ }
    }
    throw e;
  } finally {
    for (const s of sockets) s.close();
    for (const r of raws) r.terminate();
    if (server) {
      // SIGKILL: graceful shutdown has its own test, and costs seconds here
      await server.kill();
    }
    if (redis) await redis.stop();
  }
}

/** test() that runs fn(ctx) against a fresh server in this mode. */
export function ztest(mode, name, opts, fn) {
  if (typeof opts === 'function') { fn = opts; opts = {}; }
  const { env = {}, timeout = 30000, only, skip, server: serverOpts = {} } = opts;
  const t = only ? test.only : test;
  t(name, { timeout, skip }, () => withServer(mode, env, fn, serverOpts));
}

export function profile(name, gender = 'male', region = 'asia') {
  return { name, gender, region };
}

/** join-queue with an ack; returns the ack. */
export function join(socket, p) {
  return emitAck(socket, 'join-queue', typeof p === 'string' ? profile(p) : p);
}

export function assertAccepted(ack, what = 'ack') {
  assert.deepEqual(ack, { ok: true }, `${what}: expected {ok:true}, got ${JSON.stringify(ack)}`);
}

/** The stable codes of refused acks (README, Socket.IO contract). */
export const REFUSAL_CODES = [
  'invalid', 'unknown-event', 'too-large', 'rate-limited', 'too-many-pending', 'too-many-held',
  'busy', 'not-joined', 'no-partner', 'not-your-partner', 'draining', 'cooling-down', 'banned', 'unavailable',
];

/** A refused ack: {ok:false, code, error}; code, when given, is the one expected. */
export function assertRefused(ack, what = 'ack', code = undefined) {
  assert.ok(ack && typeof ack === 'object', `${what}: expected an object ack, got ${JSON.stringify(ack)}`);
  assert.equal(ack.ok, false, `${what}: expected ok:false, got ${JSON.stringify(ack)}`);
  assert.equal(typeof ack.error, 'string', `${what}: expected a string error, got ${JSON.stringify(ack)}`);
  assert.ok(ack.error.length > 0, `${what}: empty error string`);
  assert.ok(REFUSAL_CODES.includes(ack.code), `${what}: expected a code of ${REFUSAL_CODES.join(', ')}, got ${JSON.stringify(ack)}`);
  if (code !== undefined) assert.equal(ack.code, code, `${what}: expected code ${code}, got ${JSON.stringify(ack)}`);
}

/** An ack of the documented shape, accepted or refused. */
export function assertAckShape(ack, what = 'ack') {
  assert.ok(ack && typeof ack === 'object', `${what}: expected an object ack, got ${JSON.stringify(ack)}`);
  if (ack.ok === true) return;
  assertRefused(ack, what);
}

/**
 * Ordering barrier: a side-effect-free request with an ack (a signal to a
 * socket id that does not exist, which must be refused). Everything the
 * server sent to this socket before it handled the barrier arrives first,
 * because one connection delivers in order.
 */
export async function barrier(socket) {
  const ack = await emitAck(socket, 'signal', { to: 'no-such-socket-id', data: { barrier: true } });
  assertRefused(ack, 'barrier signal to an unknown id');
}

/**
 * a joins, then b joins (each acked, so the order is fixed); both get
 * matched. Returns { ma, mb } (a waited longer → a is the initiator).
 */
export async function pair(a, b, nameA = 'Alice', nameB = 'Bob') {
  const pa = waitFor(a, 'matched');
  const pb = waitFor(b, 'matched');
  assertAccepted(await join(a, nameA), `join-queue(${nameA})`);
  assertAccepted(await join(b, nameB), `join-queue(${nameB})`);
  const [ma, mb] = await Promise.all([pa, pb]);
  assertPair(ma, mb, a, b);
  return { ma, mb };
}

/** `waiting` is queued already: `joiner` joins and the two are paired. */
export async function joinPairs(waiting, joiner, name) {
  const pw = waitFor(waiting, 'matched');
  const pj = waitFor(joiner, 'matched');
  assertAccepted(await join(joiner, name), `join-queue(${name})`);
  const [mw, mj] = await Promise.all([pw, pj]);
  assertPair(mw, mj, waiting, joiner);
  return { mw, mj };
}

/** ma/mb are the matched payloads of sockets a and b, paired together. */
export function assertPair(ma, mb, a, b) {
  assert.equal(ma.partnerId, b.id, `matched.partnerId for ${a.id}: expected ${b.id}, got ${JSON.stringify(ma)}`);
  assert.equal(mb.partnerId, a.id, `matched.partnerId for ${b.id}: expected ${a.id}, got ${JSON.stringify(mb)}`);
  assert.equal(typeof ma.roomId, 'string');
  assert.ok(ma.roomId.length > 0, 'roomId empty');
  assert.equal(ma.roomId, mb.roomId, 'both sides must get the same roomId');
  assert.equal(typeof ma.isInitiator, 'boolean');
  assert.equal(typeof mb.isInitiator, 'boolean');
  assert.ok(ma.isInitiator !== mb.isInitiator, `exactly one initiator: ${JSON.stringify([ma, mb])}`);
}

/** Resolves after ms: ONLY for bounded negative windows (say why at the call). */
export function negativeWindow(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
