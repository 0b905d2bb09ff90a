// Bad input, table-driven: wrong types, missing fields, no payload, null,
// scalars/arrays instead of objects, 1 MB strings, unknown events, events out
// of order, and raw Engine.IO frames the official client never sends (the
// original Node server crashed on `42["chat-message"]` and `42["signal"]`).
// Afterwards a pair made before the bad input still relays, a fresh pair
// still matches and relays, and the server is healthy.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  waitFor, collect, emitAck, httpGet, redisCommand, CLIENT_ORIGIN,
} from '../lib/harness.mjs';
import {
  MODES, ztest, join, pair, profile, assertPair, assertAccepted, assertRefused, assertAckShape, barrier,
} from '../lib/contract.mjs';

const EVENTS = ['matched', 'partner-left', 'signal', 'chat-message'];
const MB = 'x'.repeat(1024 * 1024);
const NONE = Symbol('no payload');

// Payloads that are not objects at all, for every event.
const SHAPES = [
  ['no payload', NONE],
  ['null', null],
  ['number', 42],
  ['zero', 0],
  ['string', 'hello'],
  ['empty string', ''],
  ['array', ['a', 1]],
  ['empty array', []],
  ['boolean', true],
  ['empty object', {}],
  ['1 MB string', MB],
];

// Wrong field types / missing fields, per event.
const FIELDS = {
  'join-queue': [
    ['name number', { name: 123, gender: 'male', region: 'asia' }],
    ['name object', { name: { first: 'x' }, gender: 'male', region: 'asia' }],
    ['name array', { name: ['x'], gender: 'male', region: 'asia' }],
    ['all null', { name: null, gender: null, region: null }],
    ['gender/region wrong types', { name: 'Ok', gender: 5, region: [] }],
    ['missing name', { gender: 'male', region: 'asia' }],
    ['1 MB name', { name: MB, gender: 'male', region: 'asia' }],
  ],
  signal: [
    ['to number', { to: 123, data: { type: 'offer' } }],
    ['to null', { to: null, data: {} }],
    ['to array', (t) => ({ to: [t], data: {} })],
    ['to object', (t) => ({ to: { id: t }, data: {} })],
    ['missing to', { data: { type: 'offer' } }],
    ['valid shape, idle sender', (t) => ({ to: t, data: { type: 'offer', sdp: 'v=0' } })],
    ['1 MB data', (t) => ({ to: t, data: MB })],
  ],
  'chat-message': [
    ['message number', { message: 42 }],
    ['message null', { message: null }],
    ['message object', { message: { text: 'hi' } }],
    ['message array', { message: ['hi'] }],
    ['missing message', { text: 'hi' }],
    ['valid shape, idle sender', { message: 'hello' }],
    ['1 MB message', { message: MB }],
  ],
  next: [['junk object', { foo: 'bar' }]],
  'leave-queue': [['junk object', { foo: 'bar' }]],
};

/** The first `event` payload in log, or the next one on socket (deadline). */
function logged(log, socket, event, timeout = 5000) {
  const e = log.find((x) => x.event === event);
  if (e) return Promise.resolve(e.payload);
  return waitFor(socket, event, { timeout });
}

/** emit with an ack; resolves {ack} or {disconnected:true} (deadline). */
function sendBad(socket, event, payload, timeout = 8000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { cleanup(); reject(new Error(`no ack and no disconnect for ${event} within ${timeout} ms`)); }, timeout);
    const onDisc = () => { cleanup(); resolve({ disconnected: true }); };
    const cleanup = () => { clearTimeout(t); socket.off('disconnect', onDisc); };
    socket.on('disconnect', onDisc);
    const cb = (ack) => { cleanup(); resolve({ ack }); };
    if (payload === NONE) socket.emit(event, cb);
    else socket.emit(event, payload, cb);
  });
}

/** One raw Engine.IO polling request; resolves { status, body }. */
async function pollRequest(url, method = 'GET', body = undefined) {
  const res = await fetch(url, {
    method,
    body,
    headers: { Origin: CLIENT_ORIGIN, 'Content-Type': 'text/plain;charset=UTF-8' },
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: await res.text() };
}

/** Long-polls the session at url until a payload holds a packet matching pred. */
async function pollFor(url, pred, what) {
  const deadline = Date.now() + 5000;
  const seen = [];
  while (Date.now() < deadline) {
    const res = await pollRequest(url);
    assert.equal(res.status, 200, `poll for ${what}: ${res.status} ${res.body}`);
    const packets = res.body.split('\x1e');
    seen.push(...packets);
    if (packets.some(pred)) return;
  }
  throw new Error(`no ${what} within 5 s; got ${JSON.stringify(seen).slice(0, 500)}`);
}

/**
 * A raw polling session (socket.io-client never sends a body that does not
 * decode) joined to the namespace and queued as name; returns the
 * session's polling URL.
 */
async function queuedPollingSession(serverUrl, name) {
  const base = `${serverUrl}/socket.io/?EIO=4&transport=polling`;
  const open = await pollRequest(base);
  assert.equal(open.status, 200, `handshake: ${open.status} ${open.body}`);
  const url = `${base}&sid=${encodeURIComponent(JSON.parse(open.body.slice(1)).sid)}`;
  assert.equal((await pollRequest(url, 'POST', '40')).status, 200, 'namespace connect');
  await pollFor(url, (p) => p.startsWith('40'), 'CONNECT reply');
  const joined = await pollRequest(url, 'POST', `421${JSON.stringify(['join-queue', profile(name)])}`);
  assert.equal(joined.status, 200, 'join-queue');
  await pollFor(url, (p) => p === '431[{"ok":true}]', 'join-queue ack');
  return url;
}

for (const mode of MODES) {
  describe(`[${mode.name} store] bad input`, () => {
    ztest(mode, 'table-driven bad input through socket.io-client and raw frames leaves the server and other users unharmed', { timeout: 120000 }, async (ctx) => {
      const [p1, p2] = await Promise.all([ctx.client(), ctx.client()]);
      await pair(p1, p2, 'P1', 'P2');
      const logP1 = collect(p1, EVENTS);
      const logP2 = collect(p2, EVENTS);
      const failures = [];

      // An idle socket (never joined) sends every bad payload of every event.
      let x = await ctx.client({ transports: ['websocket'] });
      let logX = collect(x, EVENTS);
      const events = ['join-queue', 'signal', 'chat-message', 'next', 'leave-queue'];
      for (const event of events) {
        const table = [...SHAPES, ...FIELDS[event]];
        for (const [label, raw] of table) {
          const payload = typeof raw === 'function' ? raw(p1.id) : raw;
          const what = `${event} ${label} (idle sender)`;
          const big = label.includes('1 MB');
          const r = await sendBad(x, event, payload);
          if (r.disconnected) {
            if (!big) failures.push(`${what}: the sender was disconnected`);
            x = await ctx.client({ transports: ['websocket'] });
            logX = collect(x, EVENTS);
            continue;
          }
          try {
            if (event === 'join-queue') assertAckShape(r.ack, what);
            else assertRefused(r.ack, what);
          } catch (e) { failures.push(e.message); }
          // back to idle whatever the join did
          const leave = await emitAck(x, 'leave-queue');
          try {
            if (event === 'join-queue' && r.ack?.ok === true) assertAccepted(leave, `leave-queue after the accepted ${what}`);
            else assertRefused(leave, `leave-queue after ${what}: X must not be queued`);
          } catch (e) { failures.push(e.message); }
          await barrier(x);
          if (logX.length) failures.push(`${what}: the sender got ${JSON.stringify(logX)}`);
          logX.length = 0;
        }
      }

      // Unknown events and events only the server sends: nothing happens.
      for (const [event, payload] of [['foo', { a: 1 }], ['matched', { roomId: 'r', partnerId: p1.id }], ['partner-left', { reason: 'next' }], ['', {}]]) {
        x.emit(event, payload);
      }
      await barrier(x);
      if (logX.length) failures.push(`unknown events: the sender got ${JSON.stringify(logX)}`);

      // A socket in a call sends malformed signal / chat-message.
      let [q1, q2] = await Promise.all([ctx.client({ transports: ['polling'] }), ctx.client()]);
      await pair(q1, q2, 'Q1', 'Q2');
      let logQ2 = collect(q2, EVENTS);
      const inCall = [
        ['signal', ...SHAPES, ['to number', { to: 5, data: {} }], ['missing to', { data: {} }], ['to a third user', () => ({ to: p1.id, data: {} })], ['1 MB data to partner', () => ({ to: q2.id, data: MB })]],
        ['chat-message', ...SHAPES, ['message number', { message: 5 }], ['message object', { message: {} }], ['1 MB message', { message: MB }]],
      ];
      for (const [event, ...table] of inCall) {
        for (const [label, raw] of table) {
          const payload = typeof raw === 'function' ? raw() : raw;
          const what = `${event} ${label} (sender in a call)`;
          const big = label.includes('1 MB');
          const r = await sendBad(q1, event, payload);
          if (r.disconnected) {
            if (!big) failures.push(`${what}: the sender was disconnected`);
            // the partner learns it and is requeued; pair it again
            try { assert.deepEqual(await logged(logQ2, q2, 'partner-left'), { reason: 'disconnect' }); } catch (e) { failures.push(`${what}: partner: ${e.message}`); }
            q1 = await ctx.client({ transports: ['polling'] });
            const m1 = waitFor(q1, 'matched');
            const m2 = logged(logQ2, q2, 'matched').catch((e) => { throw new Error(`${what}: re-pairing the partner: ${e.message}; partner log ${JSON.stringify(logQ2)}`); });
            assertAccepted(await join(q1, 'Q1b'));
            assertPair(await m1, await m2, q1, q2);
            logQ2.length = 0;
            continue;
          }
          if (event === 'chat-message' && label === '1 MB message' && r.ack?.ok === true) {
            // a larger transport limit: then the message is capped at 500
            const got = await logged(logQ2, q2, 'chat-message').catch((e) => ({ error: e.message }));
            try { assert.equal(got?.message, 'x'.repeat(500), `${what}: capped at 500`); } catch (e) { failures.push(e.message); }
            logQ2.length = 0;
            continue;
          }
          try { assertRefused(r.ack, what); } catch (e) { failures.push(e.message); }
          await barrier(q2);
          if (logQ2.length) failures.push(`${what}: the partner got ${JSON.stringify(logQ2).slice(0, 300)}`);
          logQ2.length = 0;
        }
      }

      // Raw frames the official client never sends, from a socket in a call.
      const r = await ctx.raw({ answerPings: true });
      const z = await ctx.client();
      const logZ = collect(z, EVENTS);
      r.emit('join-queue', { name: 'Raw', gender: 'other', region: 'oceania' });
      const mz = waitFor(z, 'matched');
      assertAccepted(await join(z, 'Z'));
      const zm = await mz.catch((e) => { throw new Error(`raw socket pairing: ${e.message}; raw frames ${JSON.stringify(r.frames)}; failures so far:\n${failures.join('\n')}`); });
      assert.equal(zm.partnerId, r.sid);
      await r.next((f) => f.startsWith('42["matched"'), { what: 'matched frame' });
      logZ.length = 0;
      const wellFormed = [
        '42["chat-message"]', '42["signal"]', '42["join-queue"]', '42["next-unknown"]',
        '42["chat-message",null]', '42["signal",null]', '42["signal","x"]', '42["signal",{"to":5}]',
        '42["chat-message",{"message":{"a":1}}]', '42["signal",{"to":null,"data":null}]', '42["join-queue",null]',
        // names the official client refuses to emit (reserved: see the malformed test)
        '42["newListener","x"]', '42["error",{}]', '42["removeListener","x"]',
      ];
      let ackId = 100;
      for (const frame of wellFormed) {
        r.send(frame);
        // the same event with an ack id must be answered with an ack of the documented shape
        const m = /^42\["([^"]*)"/.exec(frame);
        if (m && ['chat-message', 'signal'].includes(m[1])) {
          const id = ackId++;
          r.send(`42${id}${frame.slice(2)}`);
          try {
            const ack = await r.next((f) => f.startsWith(`43${id}[`), { timeout: 3000, what: `ack for ${frame}` });
            assertRefused(JSON.parse(ack.slice(2 + String(id).length))[0], `raw ${frame}`, 'invalid');
          } catch (e) { failures.push(`raw ${frame} with ack id: ${e.message}`); }
        }
      }
      // a barrier on the raw socket (signal to nobody, with ack id)
      r.send('42999["signal",{"to":"nobody","data":{}}]');
      try { await r.next((f) => f.startsWith('43999['), { what: 'raw barrier ack' }); } catch (e) { failures.push(`raw socket after well-formed frames: ${e.message}`); }
      if (r.isClosed) failures.push('the server closed a raw socket that sent only well-formed packets');
      await barrier(z);
      if (logZ.length) failures.push(`raw frames: the raw socket's partner got ${JSON.stringify(logZ)}`);
      // the raw socket is still in its call: a real chat goes through
      const zc = waitFor(z, 'chat-message');
      zc.catch(() => {}); // awaited below unless the ack already failed
      r.send('42998["chat-message",{"message":"raw ok"}]');
      try {
        const ack = await r.next((f) => f.startsWith('43998['), { what: 'ack for the raw socket\'s chat' });
        assert.deepEqual(JSON.parse(ack.slice(5))[0], { ok: true }, 'the raw socket\'s chat after the raw frames');
        assert.equal((await zc).message, 'raw ok', 'the raw socket is still in its call');
      } catch (e) {
        failures.push(`after the raw frames (raw socket closed: ${!!r.isClosed}; z got ${JSON.stringify(logZ)}): ${e.message}`);
      }

      // Leave the raw pair out of the queue: z leaves (R, if still there, is
      // requeued), then R leaves.
      assertAckShape(await emitAck(z, 'leave-queue'), 'z leave-queue');
      if (!r.isClosed) {
        r.send('42997["leave-queue"]');
        await r.next((f) => f.startsWith('43997['), { what: 'ack for the raw socket\'s leave-queue' }).catch((e) => failures.push(e.message));
      }

      // The server is alive and healthy.
      const h = await httpGet(`${ctx.url}/health`);
      assert.equal(h.status, 200, `health after bad input: ${h.status} ${h.body}`);

      // The pair made before the bad input still relays, and got nothing odd.
      await Promise.all([barrier(p1), barrier(p2)]);
      assert.deepEqual(logP1.concat(logP2), [], 'the existing pair must not see anything from the bad input');
      const s = waitFor(p2, 'signal');
      assertAccepted(await emitAck(p1, 'signal', { to: p2.id, data: { type: 'offer', sdp: 'after' } }));
      assert.deepEqual(await s, { from: p1.id, data: { type: 'offer', sdp: 'after' } });
      const c = waitFor(p1, 'chat-message');
      assertAccepted(await emitAck(p2, 'chat-message', { message: 'still here' }));
      assert.equal((await c).message, 'still here');

      // A fresh pair matches (with each other) and relays.
      const [f1, f2] = await Promise.all([ctx.client(), ctx.client()]);
      await pair(f1, f2, 'F1', 'F2').catch(async (e) => {
        let state = '';
        if (ctx.redis) {
          state = `queue ${JSON.stringify(await redisCommand(ctx.redis.port, 'LRANGE', 'zivro:queue:list', '0', '-1'))}, rooms ${JSON.stringify(await redisCommand(ctx.redis.port, 'HGETALL', 'zivro:rooms'))}`;
        }
        throw new Error(`fresh pair F1=${f1.id} F2=${f2.id}: ${e.message}; ${state}; P1=${p1.id} P2=${p2.id} Q1=${q1.id} Q2=${q2.id} Z=${z.id} R=${r.sid} X=${x.id}; failures so far:\n${failures.join('\n')}`);
      });
      const fs = waitFor(f2, 'signal');
      assertAccepted(await emitAck(f1, 'signal', { to: f2.id, data: { candidate: { sdpMid: '0' } } }));
      assert.deepEqual(await fs, { from: f1.id, data: { candidate: { sdpMid: '0' } } });
      const fc = waitFor(f1, 'chat-message');
      assertAccepted(await emitAck(f2, 'chat-message', { message: 'fresh' }));
      assert.equal((await fc).message, 'fresh');
      assert.equal(ctx.server.process.exitCode, null, 'server still running');

      assert.deepEqual(failures, [], `bad input failures:\n${failures.join('\n')}`);
    });

    ztest(mode, 'malformed Socket.IO packets (raw frames) close at most the sender\'s connection; the server survives', async (ctx) => {
      const [p1, p2] = await Promise.all([ctx.client(), ctx.client()]);
      await pair(p1, p2, 'P1', 'P2');
      const problems = [];
      // `42` / `421`: an EVENT packet without its array (the Node original
      // crashed on missing payloads); the rest are syntax errors.
      // The reserved event names (`disconnect`, `connect`, `disconnecting`)
      // may also close the sender's connection.
      const frames = ['42["disconnect",{}]', '42["connect"]', '42["disconnecting"]', '42', '421', '42[]', '42[1]', '42{}', '42[', '42null', '42"x"', '4x', '9', '42["chat-message",' + '"'.repeat(4) + ']', '43[]', '430[1]'];
      for (const frame of frames) {
        const junk = await ctx.raw({ answerPings: true });
        junk.send(frame);
        junk.send('42999["signal",{"to":"nobody","data":{}}]');
        await Promise.race([junk.closed, junk.next((f) => f.startsWith('43999['), { what: 'ack after junk' }).catch(() => null)]);
        junk.terminate();
        let h;
        try { h = await httpGet(`${ctx.url}/health`); } catch (e) { h = { status: `unreachable (${e.cause?.code || e.message})` }; }
        if (h.status !== 200) {
          problems.push(`frame ${JSON.stringify(frame)}: /health → ${h.status}; server exit code ${ctx.server.process.exitCode}; ${ctx.server.logs().split('\n').filter((l) => l.startsWith('panic') || l.includes('.go:')).slice(0, 4).join(' | ')}`);
          break;
        }
      }
      assert.deepEqual(problems, [], problems.join('\n'));
      // the pair made before still relays
      const c = waitFor(p2, 'chat-message');
      assertAccepted(await emitAck(p1, 'chat-message', { message: 'survived' }));
      assert.equal((await c).message, 'survived');
    });

    // Engine.IO: a payload that does not decode closes the session. The
    // library answered 200 and kept it (and its place in the queue).
    ztest(mode, 'a polling POST whose body does not decode is answered 400 and ends the session, which leaves the queue', async (ctx) => {
      const bodies = [
        ['unknown packet type', '7hello'],
        ['an unknown packet type after a good packet', '42["x",1]\x1ezz'],
        ['an empty packet', '42["x",1]\x1e\x1e42["y",2]'],
        ['broken base64', 'b@@@@'],
      ];
      for (const [what, body] of bodies) {
        const url = await queuedPollingSession(ctx.url, 'Raw');
        const refused = await pollRequest(url, 'POST', body);
        assert.equal(refused.status, 400, `${what}: POST ${JSON.stringify(body)} → ${refused.status} ${refused.body}`);
        assert.equal(JSON.parse(refused.body).code, 3, `${what}: ${refused.body}`);
        const after = await pollRequest(url);
        assert.equal(after.status, 400, `${what}: the session lives on: GET → ${after.status} ${after.body}`);
        assert.match(after.body, /Session ID unknown/, what);
        // The session's end reached the queue: the next two are paired
        // with each other, not the first of them with the raw session.
        const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
        await pair(a, b, 'A', 'B');
      }
      assert.equal((await httpGet(`${ctx.url}/health`)).status, 200, 'server healthy');
    });
  });
}
