// Resuming a session (CONTRACT.md, "Resuming a session"): a client that
// opts in with auth {resume: true} keeps its call or its queue place
// through a drop, on any instance, and gets what it missed in order,
// exactly once; the original client's drop is a disconnect as before.
// Drops are made by a TCP proxy between the client and the server (a
// blip), and rolling restarts by SIGTERM behind it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import {
  eachMode, ztest, pair, join, assertAccepted, barrier, negativeWindow, until,
} from '../lib/contract.mjs';
import {
  startRedis, startServer, emitAck, collect, waitFor, CLIENT_ORIGIN,
} from '../lib/harness.mjs';
import { startProxy } from '../lib/proxy.mjs';

const FAST_RECONNECT = { reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 };

// A socket.io-client socket as our client makes it: resumable, reconnecting
// at once; resolved when connected. resume:false makes the original
// client's (reconnecting too, so that its second session can be seen).
function client(url, { resume = true, ...opts } = {}) {
  const sock = io(url, {
    forceNew: true,
    transports: ['websocket'],
    extraHeaders: { Origin: CLIENT_ORIGIN },
    ...(resume ? { auth: { resume: true } } : {}),
    ...FAST_RECONNECT,
    ...opts,
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { sock.close(); reject(new Error(`connect to ${url} timed out`)); }, 5000);
    sock.once('connect', () => { clearTimeout(t); resolve(sock); });
  });
}

function once(sock, event, timeout = 10000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${event}" on ${sock.id} within ${timeout} ms`)), timeout);
    sock.once(event, (...args) => { clearTimeout(t); resolve(args); });
  });
}

const chats = (log) => log.filter((e) => e.event === 'chat-message').map((e) => e.payload.message);

// Stops a socket from reconnecting by itself; back(sock) reconnects it.
function stayAway(sock) { sock.io.reconnection(false); }
async function back(sock) {
  sock.io.reconnection(true);
  const connected = once(sock, 'connect');
  sock.connect();
  await connected;
}

eachMode((mode) => {
  ztest(mode, 'a resumable client that blips in a call resumes it: same id, recovered, what it missed in order once, its partner told nothing, chat both ways after', { timeout: 30000 }, async (ctx) => {
    const proxy = await startProxy(ctx.server.port);
    const socks = [];
    try {
      const a = await client(proxy.url);
      const b = await client(ctx.url);
      socks.push(a, b);
      assert.equal(typeof a._pid, 'string', 'the connect reply carries a pid');
      await pair(a, b);
      const aLog = collect(a, ['chat-message', 'matched', 'partner-left']);
      const bLog = collect(b, ['partner-left', 'matched']);
      const bChats = collect(b, ['chat-message']);
      assertAccepted(await emitAck(b, 'chat-message', { message: 'before' }));
      await until(() => chats(aLog).length === 1, { what: 'the first message' });
      const id = a.id;
      stayAway(a);
      const dropped = once(a, 'disconnect');
      proxy.blip();
      await dropped;
      for (let i = 0; i < 5; i++) assertAccepted(await emitAck(b, 'chat-message', { message: `away ${i}` }), `chat ${i} while away`);
      // Typed while away: socket.io-client sends it on resume.
      a.emit('chat-message', { message: 'typed while away' });
      await back(a);
      assert.equal(a.recovered, true, 'socket.recovered');
      assert.equal(a.id, id, 'same socket id');
      await until(() => chats(aLog).length === 6, { what: () => `the missed messages (got ${JSON.stringify(chats(aLog))})` });
      await barrier(a);
      assert.deepEqual(chats(aLog), ['before', 'away 0', 'away 1', 'away 2', 'away 3', 'away 4'], 'in order, exactly once');
      assert.deepEqual(bLog, [], 'the partner heard nothing of the drop');
      await until(() => chats(bChats).includes('typed while away'), { what: 'the message typed while away, sent on the resume' });
      assertAccepted(await emitAck(a, 'chat-message', { message: 'back' }));
      await until(() => chats(bChats).includes('back'), { what: 'chat after the resume, to the partner' });
      assertAccepted(await emitAck(b, 'chat-message', { message: 'welcome back' }));
      await until(() => chats(aLog).includes('welcome back'), { what: 'chat after the resume' });
    } finally {
      for (const s of socks) s.close();
      await proxy.close();
    }
  });

  ztest(mode, 'the original client (no resume) is treated as before: its blip is a disconnect, its partner is told, its reconnect is a new session', async (ctx) => {
    const proxy = await startProxy(ctx.server.port);
    const socks = [];
    try {
      const a = await client(proxy.url, { resume: false });
      const b = await client(ctx.url);
      socks.push(a, b);
      assert.equal(a._pid, undefined, 'no pid for a client that did not ask');
      await pair(a, b);
      const id = a.id;
      const left = waitFor(b, 'partner-left');
      const reconnected = once(a, 'connect');
      proxy.blip();
      assert.deepEqual(await left, { reason: 'disconnect' });
      await reconnected;
      assert.notEqual(a.id, id);
      assert.ok(!a.recovered, 'not recovered');
    } finally {
      for (const s of socks) s.close();
      await proxy.close();
    }
  });

  ztest(mode, 'when the window lapses the drop is a disconnect: the partner is told and requeued, and a late resume is a new, unrecovered session', { env: { RESUME_WINDOW_MS: '1000' }, timeout: 30000 }, async (ctx) => {
    const proxy = await startProxy(ctx.server.port);
    const socks = [];
    try {
      const a = await client(proxy.url);
      const b = await client(ctx.url);
      socks.push(a, b);
      await pair(a, b);
      const id = a.id;
      stayAway(a);
      const left = waitFor(b, 'partner-left', { timeout: 10000 });
      proxy.blip();
      assert.deepEqual(await left, { reason: 'disconnect' });
      await back(a);
      assert.equal(a.recovered, false, 'not recovered after the window');
      assert.notEqual(a.id, id, 'a new socket id');
      // The partner was requeued: a newcomer is paired with it.
      const c = await client(ctx.url);
      socks.push(c);
      const mb = waitFor(b, 'matched');
      assertAccepted(await join(c, 'Carol'));
      assert.equal((await mb).partnerId, c.id);
    } finally {
      for (const s of socks) s.close();
      await proxy.close();
    }
  });

  ztest(mode, 'a waiting user who drops keeps its queue place and is paired with nobody while away, then with the next user once back', { timeout: 30000 }, async (ctx) => {
    const proxy = await startProxy(ctx.server.port);
    const socks = [];
    try {
      const a = await client(proxy.url);
      socks.push(a);
      assertAccepted(await join(a, 'Alice'));
      stayAway(a);
      const dropped = once(a, 'disconnect');
      proxy.blip();
      await dropped;
      const c = await client(ctx.url);
      socks.push(c);
      const cLog = collect(c, ['matched']);
      assertAccepted(await join(c, 'Carol'));
      // Bounded negative window: the matching that Carol's join ran is
      // over when its ack came; a pairing with Alice would be announced
      // to Carol now.
      await negativeWindow(300);
      assert.deepEqual(cLog, [], 'nobody is paired with a user whose connection is down');
      const ma = waitFor(a, 'matched', { timeout: 10000 });
      const mc = waitFor(c, 'matched', { timeout: 10000 });
      await back(a);
      assert.equal(a.recovered, true);
      assert.equal((await ma).partnerId, c.id);
      assert.equal((await mc).partnerId, a.id);
    } finally {
      for (const s of socks) s.close();
      await proxy.close();
    }
  });

  ztest(mode, 'a goodbye ends a resumable session at once: leave-queue then disconnect tells the partner "leave" without waiting for the window', { env: { RESUME_WINDOW_MS: '60000' } }, async (ctx) => {
    const a = await client(ctx.url);
    const b = await client(ctx.url);
    try {
      await pair(a, b);
      const left = waitFor(b, 'partner-left', { timeout: 5000 });
      assertAccepted(await emitAck(a, 'leave-queue'));
      a.disconnect();
      assert.deepEqual(await left, { reason: 'leave' });
    } finally {
      a.close();
      b.close();
    }
  });

  ztest(mode, 'a goodbye alone ends a resumable session at once: disconnect() in a call tells the partner "disconnect" without waiting for the window', { env: { RESUME_WINDOW_MS: '60000' } }, async (ctx) => {
    // disconnect() sends the namespace disconnect and closes the
    // connection right after: the server reads both, and the goodbye must
    // win over the close (which alone would hold the session for 60 s).
    for (let round = 0; round < 5; round++) {
      const a = await client(ctx.url);
      const b = await client(ctx.url);
      try {
        await pair(a, b);
        const left = waitFor(b, 'partner-left', { timeout: 5000 });
        a.disconnect();
        assert.deepEqual(await left, { reason: 'disconnect' }, `round ${round}`);
      } finally {
        a.close();
        b.close();
      }
    }
  });
});

// Two instances on one Redis behind the proxy.
async function twoInstances(env = {}) {
  const redis = await startRedis();
  const s1 = await startServer({ redisUrl: redis.url, env });
  const s2 = await startServer({ redisUrl: redis.url, env });
  const proxy = await startProxy(s1.port);
  return {
    redis, s1, s2, proxy,
    async stop() {
      await proxy.close();
      await Promise.all([s1.kill(), s2.kill()]);
      await redis.stop();
    },
  };
}

for (const serverSees of [true, false]) {
  test(`[redis store] a client resumes on another instance${serverSees ? '' : ' while its old connection is still open there (it noticed the drop first)'}: recovered, what it missed once and in order, the partner told nothing`, { timeout: 40000 }, async () => {
    const c = await twoInstances();
    const socks = [];
    try {
      const a = await client(c.proxy.url);
      const b = await client(c.s2.url);
      socks.push(a, b);
      await pair(a, b);
      const aLog = collect(a, ['chat-message', 'partner-left']);
      const bLog = collect(b, ['partner-left']);
      const id = a.id;
      stayAway(a);
      const dropped = once(a, 'disconnect');
      c.proxy.blip({ serverSees });
      await dropped;
      c.proxy.retarget(c.s2.port);
      for (let i = 0; i < 5; i++) assertAccepted(await emitAck(b, 'chat-message', { message: `m${i}` }));
      await back(a);
      assert.equal(a.recovered, true);
      assert.equal(a.id, id);
      await until(() => chats(aLog).length === 5, { timeout: 10000, what: () => `the missed messages (got ${JSON.stringify(chats(aLog))})` });
      await barrier(a);
      assert.deepEqual(chats(aLog), ['m0', 'm1', 'm2', 'm3', 'm4']);
      assert.deepEqual(bLog, []);
      const got = waitFor(b, 'chat-message', { filter: (m) => m.message === 'from the other instance' });
      assertAccepted(await emitAck(a, 'chat-message', { message: 'from the other instance' }));
      await got;
    } finally {
      for (const s of socks) s.close();
      await c.stop();
    }
  });
}

test('[redis store] a rolling restart drops no call of a resumable client: the instance is taken out of rotation and SIGTERMed, its users resume on the other, their partners notice nothing; the original client\'s calls end as before', { timeout: 60000 }, async () => {
  const c = await twoInstances();
  const socks = [];
  try {
    const users = [];
    for (let i = 0; i < 20; i++) users.push(await client(i % 2 === 0 ? c.proxy.url : c.s2.url));
    socks.push(...users);
    const plainA = await client(c.proxy.url, { resume: false, reconnection: false });
    const plainB = await client(c.s2.url);
    socks.push(plainA, plainB);
    const pairs = [];
    for (let i = 0; i < users.length; i += 2) {
      await pair(users[i], users[i + 1], `u${i}`, `u${i + 1}`);
      pairs.push([users[i], users[i + 1]]);
    }
    await pair(plainA, plainB, 'plainA', 'plainB');
    const ids = users.map((u) => u.id);
    const logs = users.map((u) => collect(u, ['partner-left', 'matched']));
    const plainLeft = waitFor(plainB, 'partner-left', { timeout: 20000 });
    const reconnected = users.filter((_, i) => i % 2 === 0).map((u) => once(u, 'connect', 20000));
    c.proxy.retarget(c.s2.port);
    await c.s1.stop();
    await Promise.all(reconnected);
    users.forEach((u, i) => {
      assert.equal(u.id, ids[i], `user ${i} kept its id`);
      if (i % 2 === 0) assert.equal(u.recovered, true, `user ${i} recovered`);
    });
    assert.deepEqual(await plainLeft, { reason: 'disconnect' }, 'the original client\'s call ended as before');
    await Promise.all(pairs.map(async ([a, b], i) => {
      const atB = waitFor(b, 'chat-message', { filter: (m) => m.message === `after ${i}`, timeout: 10000 });
      assertAccepted(await emitAck(a, 'chat-message', { message: `after ${i}` }, 10000));
      await atB;
      const atA = waitFor(a, 'chat-message', { filter: (m) => m.message === `reply ${i}`, timeout: 10000 });
      assertAccepted(await emitAck(b, 'chat-message', { message: `reply ${i}` }, 10000));
      await atA;
    }));
    logs.forEach((log, i) => assert.deepEqual(log, [], `user ${i} was told nothing`));
  } finally {
    for (const s of socks) s.close();
    await c.stop();
  }
});
