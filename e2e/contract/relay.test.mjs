// signal and chat-message relay, and the ack convention.
import assert from 'node:assert/strict';
import { waitFor, collect, emitAck } from '../lib/harness.mjs';
import {
  eachMode, ztest, join, pair, joinPairs, assertAccepted, assertRefused, assertAckShape, barrier,
} from '../lib/contract.mjs';

const EVENTS = ['matched', 'partner-left', 'signal', 'chat-message'];

/** Two pairs: a-b and c-d, plus the logs of every socket from now on. */
async function twoPairs(ctx) {
  const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
  await pair(a, b, 'A', 'B');
  await pair(c, d, 'C', 'D');
  const logs = new Map([a, b, c, d].map((s) => [s, collect(s, EVENTS)]));
  return { a, b, c, d, logs };
}

eachMode((mode) => {
  ztest(mode, 'signal: forwarded to the partner as {from, data} with nested JSON untouched', async (ctx) => {
    const { a, b, logs } = await twoPairs(ctx);
    const offer = {
      type: 'offer',
      sdp: 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n',
    };
    const candidate = {
      candidate: {
        candidate: 'candidate:842163049 1 udp 1677729535 192.0.2.3 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0',
        sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null,
      },
      nested: { arr: [1, 2.5, -3, true, false, null, 'x', { deep: ['é', '\u2603', ''] }], empty: {}, emptyArr: [] },
    };
    for (const data of [offer, candidate, 'plain string', 42, [1, { a: 2 }]]) {
      const got = waitFor(b, 'signal');
      assertAccepted(await emitAck(a, 'signal', { to: b.id, data }), 'signal to partner');
      assert.deepEqual(await got, { from: a.id, data });
    }
    // and the other way round
    const got = waitFor(a, 'signal');
    assertAccepted(await emitAck(b, 'signal', { to: a.id, data: { type: 'answer', sdp: 'v=0' } }));
    assert.deepEqual(await got, { from: b.id, data: { type: 'answer', sdp: 'v=0' } });
    // without an ack callback it is forwarded too
    const got2 = waitFor(b, 'signal');
    a.emit('signal', { to: b.id, data: { n: 1 } });
    assert.deepEqual(await got2, { from: a.id, data: { n: 1 } });
    assert.ok(logs.get(a).every((e) => e.event === 'signal' && e.payload.from === b.id), 'no echo to the sender');
  });

  ztest(mode, 'signal to a non-partner is refused and never delivered', async (ctx) => {
    const { a, b, c, d, logs } = await twoPairs(ctx);
    const x = await ctx.client(); // connected, never joined
    const logX = collect(x, EVENTS);
    assertRefused(await emitAck(a, 'signal', { to: c.id, data: { type: 'offer', sdp: 'steal' } }), 'signal to another pair\'s user', 'not-your-partner');
    assertRefused(await emitAck(a, 'signal', { to: x.id, data: { type: 'offer' } }), 'signal to an idle socket');
    assertRefused(await emitAck(a, 'signal', { to: a.id, data: { type: 'offer' } }), 'signal to oneself');
    assertRefused(await emitAck(x, 'signal', { to: a.id, data: { type: 'offer' } }), 'signal from an idle socket');
    a.emit('signal', { to: c.id, data: { noAck: true } });
    // barriers: anything the server had sent to c, x, a would arrive before these acks
    await Promise.all([barrier(c), barrier(x), barrier(a), barrier(d), barrier(b)]);
    assert.deepEqual(logs.get(c), []);
    assert.deepEqual(logs.get(d), []);
    assert.deepEqual(logs.get(b), []);
    assert.deepEqual(logs.get(a), []);
    assert.deepEqual(logX, []);
  });

  ztest(mode, 'signal over 32 KB is refused with an error ack; a large SDP below the limit passes', async (ctx) => {
    const { a, b, logs } = await twoPairs(ctx);
    const big = { type: 'offer', sdp: 'a'.repeat(40 * 1024) };
    assertRefused(await emitAck(a, 'signal', { to: b.id, data: big }), 'signal of 40 KB');
    assertRefused(await emitAck(a, 'signal', { to: b.id, data: { type: 'offer', sdp: 'b'.repeat(33 * 1024) } }), 'signal of 33 KB', 'too-large');
    await barrier(b);
    assert.deepEqual(logs.get(b), [], 'the oversized signal must not be forwarded');
    const ok = { type: 'offer', sdp: 'c'.repeat(16 * 1024) };
    const got = waitFor(b, 'signal');
    assertAccepted(await emitAck(a, 'signal', { to: b.id, data: ok }), 'signal of 16 KB');
    assert.deepEqual(await got, { from: a.id, data: ok });
  });

  ztest(mode, 'chat-message: trimmed, delivered only to the partner as {from, message, timestamp}', async (ctx) => {
    const { a, b, c, d, logs } = await twoPairs(ctx);
    const got = waitFor(b, 'chat-message');
    const before = Date.now();
    assertAccepted(await emitAck(a, 'chat-message', { message: '  hello there \n' }), 'chat-message');
    const m = await got;
    assert.deepEqual(Object.keys(m).sort(), ['from', 'message', 'timestamp']);
    assert.equal(m.from, a.id);
    assert.equal(m.message, 'hello there');
    assert.equal(typeof m.timestamp, 'number');
    assert.ok(Number.isInteger(m.timestamp), `timestamp ${m.timestamp} is ms since the epoch`);
    assert.ok(Math.abs(m.timestamp - before) < 5000, `timestamp ${m.timestamp} far from Date.now() ${before}`);
    const back = waitFor(a, 'chat-message');
    b.emit('chat-message', { message: 'hi, élan ☃' }); // no ack callback
    const r = await back;
    assert.equal(r.from, b.id);
    assert.equal(r.message, 'hi, élan ☃');
    await Promise.all([a, b, c, d].map(barrier));
    assert.deepEqual(logs.get(a).map((e) => e.payload.message), ['hi, élan ☃'], 'never echoed to the sender');
    assert.deepEqual(logs.get(b).map((e) => e.payload.message), ['hello there'], 'never echoed to the sender');
    assert.deepEqual(logs.get(c), [], 'never to a third client');
    assert.deepEqual(logs.get(d), [], 'never to a third client');
  });

  ztest(mode, 'chat-message: capped at 500 characters; empty after trim is dropped; non-string refused; not delivered outside a call', async (ctx) => {
    const { a, b, logs } = await twoPairs(ctx);
    const long = 'x'.repeat(600);
    const got = waitFor(b, 'chat-message');
    assertAccepted(await emitAck(a, 'chat-message', { message: long }));
    assert.equal((await got).message, 'x'.repeat(500));
    const longU = '  ' + 'é'.repeat(510);
    const gotU = waitFor(b, 'chat-message');
    a.emit('chat-message', { message: longU });
    assert.equal((await gotU).message, 'é'.repeat(500), '500 characters, not bytes');

    // empty after trim: dropped (any ack of the documented shape)
    for (const message of ['', '   ', '\n\t ']) {
      const ack = await emitAck(a, 'chat-message', { message });
      assert.ok(ack && typeof ack.ok === 'boolean', `ack for ${JSON.stringify(message)}: ${JSON.stringify(ack)}`);
      if (!ack.ok) assertRefused(ack);
    }
    for (const message of [42, null, { text: 'hi' }, ['hi'], true]) {
      assertRefused(await emitAck(a, 'chat-message', { message }), `chat-message ${JSON.stringify(message)}`);
    }
    assertRefused(await emitAck(a, 'chat-message', {}), 'chat-message without message', 'invalid');
    await barrier(b);
    assert.equal(logs.get(b).length, 2, `only the two valid messages arrive: ${JSON.stringify(logs.get(b).map((e) => e.payload.message?.slice?.(0, 20)))}`);

    const x = await ctx.client();
    // outside a call there is nobody to deliver to (refusal or a silent drop)
    assertAckShape(await emitAck(x, 'chat-message', { message: 'hello?' }), 'chat-message outside a call');
    assertAccepted(await join(x, 'X'));
    assertAckShape(await emitAck(x, 'chat-message', { message: 'hello?' }), 'chat-message while queued');
    await barrier(a);
    await barrier(b);
    assert.equal(logs.get(a).length, 0);
    assert.equal(logs.get(b).length, 2);
  });

  ztest(mode, 'acks: accepted input answers {ok:true}, refused input {ok:false, error}', async (ctx) => {
    const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
    const ma = waitFor(a, 'matched');
    assertAccepted(await join(a, 'A'), 'join-queue');
    assertRefused(await join(a, 'A'), 'join-queue again', 'busy');
    assertAccepted(await join(b, 'B'), 'join-queue');
    await ma;
    assertAccepted(await emitAck(a, 'signal', { to: b.id, data: {} }), 'signal');
    assertRefused(await emitAck(a, 'signal', { to: 'nobody', data: {} }), 'signal to nobody');
    assertAccepted(await emitAck(a, 'chat-message', { message: 'hi' }), 'chat-message');
    assertRefused(await emitAck(a, 'chat-message', { message: 1 }), 'chat-message non-string');
    assertAccepted(await emitAck(a, 'next'), 'next');
    assertAccepted(await emitAck(b, 'leave-queue'), 'leave-queue');
    assertRefused(await emitAck(b, 'leave-queue'), 'leave-queue again');
    assertRefused(await emitAck(b, 'next'), 'next after leaving', 'not-joined');
    assertAccepted(await emitAck(a, 'leave-queue'), 'leave-queue while queued');
    assertRefused(await emitAck(a, 'dance'), 'an unknown event', 'unknown-event');
  });

  ztest(mode, 'one sender\'s events take effect in order: a relay right behind a join or Next is acked after it, and never reaches the partner that the Next left', async (ctx) => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
      const acks = [];
      const acked = (what, event, payload) => emitAck(a, event, payload).then((ack) => { acks.push(what); return ack; });
      // a queues and, without waiting, relays: the relay's ack comes second
      const joined = acked('join', 'join-queue', { name: `A${round}`, gender: 'male', region: 'asia' });
      const beforeMatch = acked('signal', 'signal', { to: 'no-such-socket-id', data: {} });
      assertAccepted(await joined, 'join-queue');
      assertRefused(await beforeMatch, 'signal to nobody');
      assert.deepEqual(acks.splice(0), ['join', 'signal'], `round ${round}: acks out of order`);
      await joinPairs(a, b, `B${round}`);
      const logB = collect(b, EVENTS);
      // Next, then at once a signal and a chat line to the partner just left
      const left = waitFor(b, 'partner-left');
      const next = acked('next', 'next');
      const signal = acked('signal', 'signal', { to: b.id, data: { type: 'offer', sdp: 'late' } });
      const chat = acked('chat', 'chat-message', { message: 'late' });
      assertAccepted(await next, 'next');
      assertRefused(await signal, 'signal to the partner just left');
      assertAckShape(await chat, 'chat-message right after next');
      assert.deepEqual(acks.splice(0), ['next', 'signal', 'chat'], `round ${round}: acks out of order`);
      await left;
      await barrier(b);
      assert.deepEqual(logB.map((e) => e.event), ['partner-left'], `round ${round}: b got ${JSON.stringify(logB)}`);
      assertAccepted(await emitAck(a, 'leave-queue'), 'leave-queue at the end of a round');
      assertAccepted(await emitAck(b, 'leave-queue'), 'leave-queue at the end of a round');
      a.close();
      b.close();
    }
  });

  for (const transports of [['websocket'], ['polling']]) {
    // SIGNAL_DELAY_MS=0: 300 relays at the start of a pairing are more
    // than the server holds (signal-delay.test.mjs tests the held ones'
    // order); here they go out as they come.
    ztest(mode, `relay keeps one sender's order: 300 signals and chat messages sent back to back arrive in order (${transports})`, { env: { SIGNAL_DELAY_MS: '0' } }, async (ctx) => {
      // An offer must reach the partner before its ICE candidates, and chat
      // lines in the order they were typed; the client sends without waiting.
      const a = await ctx.client({ transports });
      const b = await ctx.client({ transports });
      await pair(a, b, 'A', 'B');
      const got = [];
      let resolveAll;
      const all = new Promise((r) => { resolveAll = r; });
      const N = 300;
      const push = (n) => { got.push(n); if (got.length === N) resolveAll(); };
      b.on('signal', (p) => push(p.data.seq));
      b.on('chat-message', (p) => push(Number(p.message)));
      for (let i = 0; i < N; i++) {
        if (i % 2) a.emit('chat-message', { message: String(i) });
        else a.emit('signal', { to: b.id, data: { seq: i, type: i === 0 ? 'offer' : 'candidate' } });
      }
      await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${got.length} of ${N} relayed within 10 s`)), 10000))]);
      const firstInversion = got.findIndex((n, i) => i > 0 && n < got[i - 1]);
      assert.equal(firstInversion, -1, `out of order at index ${firstInversion}: ...${JSON.stringify(got.slice(Math.max(0, firstInversion - 5), firstInversion + 5))}...`);
    });
  }
});
