// Matching rules, matched payloads, next / leave-queue / disconnect.
import assert from 'node:assert/strict';
import { waitFor, collect, emitAck, redisCommand } from '../lib/harness.mjs';
import {
  eachMode, ztest, profile, join, pair, joinPairs, assertPair, assertAccepted, assertRefused, assertAckShape,
  barrier, negativeWindow,
} from '../lib/contract.mjs';

const EVENTS = ['matched', 'partner-left', 'signal', 'chat-message'];

eachMode((mode) => {
  ztest(mode, 'matched payloads: same roomId, first joiner is the only initiator, partnerId = socket.id, partnerName', async (ctx) => {
    const a = await ctx.client();
    const b = await ctx.client();
    const { ma, mb } = await pair(a, b, 'Alice', 'Bob');
    for (const m of [ma, mb]) {
      for (const k of ['roomId', 'partnerId', 'partnerName', 'isInitiator']) {
        assert.ok(k in m, `matched lacks ${k}: ${JSON.stringify(m)}`);
      }
    }
    assert.equal(ma.isInitiator, true, 'the user who joined first (waited longer) is the initiator');
    assert.equal(mb.isInitiator, false);
    assert.equal(ma.partnerName, 'Bob');
    assert.equal(mb.partnerName, 'Alice');
  });

  ztest(mode, 'the non-initiator is told first: an offer the initiator sends on matched arrives after the partner\'s matched', async (ctx) => {
    // The initiator emits its offer the moment it learns of the pair; if the
    // server told the initiator first, the offer could overtake the partner's
    // matched. One connection delivers in order, so the log order is exact.
    for (let i = 0; i < 3; i++) {
      const a = await ctx.client();
      const b = await ctx.client();
      a.once('matched', (m) => {
        assert.equal(m.isInitiator, true);
        a.emit('signal', { to: m.partnerId, data: { type: 'offer', sdp: `v=0 #${i}` } });
      });
      const logB = collect(b, EVENTS);
      const gotSignal = waitFor(b, 'signal');
      assertAccepted(await join(a, `Init${i}`));
      assertAccepted(await join(b, `Resp${i}`));
      const sig = await gotSignal;
      assert.deepEqual(sig, { from: a.id, data: { type: 'offer', sdp: `v=0 #${i}` } });
      assert.deepEqual(logB.map((e) => e.event), ['matched', 'signal'], `non-initiator log: ${JSON.stringify(logB)}`);
      assert.equal(logB[0].payload.isInitiator, false);
    }
  });

  ztest(mode, 'FIFO with 4 users: 1st+2nd paired, 3rd+4th paired', async (ctx) => {
    const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    const m = [a, b, c, d].map((s) => waitFor(s, 'matched'));
    for (const [s, n] of [[a, 'A'], [b, 'B'], [c, 'C'], [d, 'D']]) assertAccepted(await join(s, n));
    const [ma, mb, mc, md] = await Promise.all(m);
    assertPair(ma, mb, a, b);
    assertPair(mc, md, c, d);
    assert.equal(ma.isInitiator, true);
    assert.equal(mc.isInitiator, true);
    assert.notEqual(ma.roomId, mc.roomId);
  });

  ztest(mode, 'FIFO skips only ineligible users: [A,B,C,D] waiting with A-B and C-D just skipped → A+C and B+D', async (ctx) => {
    const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    await pair(a, b, 'A', 'B');
    await pair(c, d, 'C', 'D');
    const plB = waitFor(b, 'partner-left');
    assertAccepted(await emitAck(a, 'next'), 'next(A)');
    assert.deepEqual(await plB, { reason: 'next' });
    // queue is now [A, B]; C's next makes it [A, B, C, D]
    const ms = [a, b, c, d].map((s) => waitFor(s, 'matched'));
    const plD = waitFor(d, 'partner-left');
    assertAccepted(await emitAck(c, 'next'), 'next(C)');
    assert.deepEqual(await plD, { reason: 'next' });
    const [ma, mb, mc, md] = await Promise.all(ms);
    assertPair(ma, mc, a, c);
    assertPair(mb, md, b, d);
    assert.equal(ma.isInitiator, true, 'A waited longer than C');
    assert.equal(mb.isInitiator, true, 'B waited longer than D');
  });

  // Text-only mode and the partner's region (issue 19): fields the original
  // client never sends, and reads past.
  ztest(mode, 'text-only: two text-only users pair with each other while a video user waits; matched carries textOnly', async (ctx) => {
    const [v, t1, t2, v2] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    const logV = collect(v, ['matched']);
    assertAccepted(await join(v, 'Video'), 'join(video, the original payload)');
    const m1 = waitFor(t1, 'matched');
    const m2 = waitFor(t2, 'matched');
    assertAccepted(await join(t1, { ...profile('T1'), textOnly: true }));
    assertAccepted(await join(t2, { ...profile('T2'), textOnly: true }));
    const [mt1, mt2] = await Promise.all([m1, m2]);
    assertPair(mt1, mt2, t1, t2);
    assert.equal(mt1.textOnly, true);
    assert.equal(mt2.textOnly, true);
    await barrier(v);
    assert.deepEqual(logV, [], 'the video user waits: it is no text-only user\'s partner');
    const { mw, mj } = await joinPairs(v, v2, 'Video2');
    assert.equal(mw.textOnly, false, 'two video users: textOnly false');
    assert.equal(mj.textOnly, false);
  });

  ztest(mode, 'text-only: a video user and a text-only user never pair, whichever waits first', async (ctx) => {
    for (const textFirst of [true, false]) {
      const [v, t] = await Promise.all([ctx.client(), ctx.client()]);
      const logs = [collect(v, ['matched']), collect(t, ['matched'])];
      const first = textFirst ? t : v;
      const second = textFirst ? v : t;
      assertAccepted(await join(first, first === t ? { ...profile('T'), textOnly: true } : profile('V')));
      assertAccepted(await join(second, second === t ? { ...profile('T'), textOnly: true } : { ...profile('V'), textOnly: false }));
      // Bounded negative window: matching runs inside each join, so a
      // pairing would be sent before the join's ack; wait a little more
      // for a slow delivery.
      await negativeWindow(200);
      await barrier(v);
      await barrier(t);
      assert.deepEqual(logs, [[], []], `text first: ${textFirst}`);
      assertAccepted(await emitAck(v, 'leave-queue'));
      assertAccepted(await emitAck(t, 'leave-queue'));
    }
  });

  ztest(mode, 'textOnly is checked: anything but a boolean → refused with an invalid ack, nothing queued', async (ctx) => {
    const a = await ctx.client();
    for (const textOnly of ['true', 1, 0, {}, []]) {
      assertRefused(await join(a, { ...profile('A'), textOnly }), `textOnly ${JSON.stringify(textOnly)}`, 'invalid');
    }
    const b = await ctx.client();
    const c = await ctx.client();
    await pair(b, c, 'B', 'C'); // a never joined
  });

  ztest(mode, 'matched carries partnerRegion: the partner\'s region, cleaned as on join', async (ctx) => {
    const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
    const pa = waitFor(a, 'matched');
    const pb = waitFor(b, 'matched');
    assertAccepted(await join(a, profile('A', 'female', '  South\u0001 America ')));
    assertAccepted(await join(b, profile('B', 'male', `${'e'.repeat(50)}`)));
    const [ma, mb] = await Promise.all([pa, pb]);
    assertPair(ma, mb, a, b);
    assert.equal(ma.partnerRegion, 'e'.repeat(40));
    assert.equal(mb.partnerRegion, 'South America');
    const [c, d] = await Promise.all([ctx.client(), ctx.client()]);
    const { ma: mc, mb: md } = await pair(c, d, 'C', 'D'); // region 'asia', as the original client sends
    assert.equal(mc.partnerRegion, 'asia');
    assert.equal(md.partnerRegion, 'asia');
    const [e, f] = await Promise.all([ctx.client(), ctx.client()]);
    const pe = waitFor(e, 'matched');
    const pf = waitFor(f, 'matched');
    assertAccepted(await join(e, { name: 'E' }));
    assertAccepted(await join(f, { name: 'F' }));
    assert.equal((await pe).partnerRegion, '', 'no region: an empty string');
    assert.equal((await pf).partnerRegion, '');
  });

  ztest(mode, 'an empty or whitespace-only name is shown to the partner as "Stranger"', async (ctx) => {
    for (const name of ['', '   ', ' \t\n ']) {
      const a = await ctx.client();
      const b = await ctx.client();
      const { mb } = await pair(a, b, name, 'Bob');
      assert.equal(mb.partnerName, 'Stranger', `name ${JSON.stringify(name)}`);
    }
  });

  ztest(mode, 'join-queue cleaning: trimmed, control characters removed, name truncated to 20 characters', async (ctx) => {
    const cases = [
      ['  Alice  ', 'Alice'],
      ['Al\u0001i\u007fce', 'Alice'],
      ['\u0000Bo\u001bb\u0007', 'Bob'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'ABCDEFGHIJKLMNOPQRST'],
      ['   ABCDEFGHIJKLMNOPQRSTUVWXYZ   ', 'ABCDEFGHIJKLMNOPQRST'],
      ['é'.repeat(25), 'é'.repeat(20)],
      ['\u0001\u0002\u0003', 'Stranger'],
    ];
    for (const [input, expected] of cases) {
      const a = await ctx.client();
      const b = await ctx.client();
      const { mb } = await pair(a, b, input, 'Bob');
      assert.equal(mb.partnerName, expected, `name ${JSON.stringify(input)}`);
    }
  });

  if (mode.redis) {
    ztest(mode, 'Redis data model: the original key names (profile cleaned: gender ≤ 20, region ≤ 40 chars, TTL 10 min; queue list/set; rooms; room_details; last_partner 120 s)', async (ctx) => {
      const a = await ctx.client();
      assertAccepted(await join(a, { name: '  Zed\u0001  ', gender: ` ${'g'.repeat(30)} `, region: `\u0002${'r'.repeat(50)}` }));
      const raw = await redisCommand(ctx.redis.port, 'GET', `zivro:user:${a.id}`);
      assert.ok(typeof raw === 'string', `GET zivro:user:${a.id} → ${JSON.stringify(raw)}`);
      const p = JSON.parse(raw);
      assert.equal(p.name, 'Zed');
      assert.equal(p.gender, 'g'.repeat(20));
      assert.equal(p.region, 'r'.repeat(40));
      const ttl = await redisCommand(ctx.redis.port, 'TTL', `zivro:user:${a.id}`);
      assert.ok(ttl > 500 && ttl <= 600, `TTL ${ttl}`);
      const inQueue = await redisCommand(ctx.redis.port, 'LRANGE', 'zivro:queue:list', '0', '-1');
      assert.ok(Array.isArray(inQueue) && inQueue.includes(a.id), `zivro:queue:list = ${JSON.stringify(inQueue)}`);
      assert.equal(await redisCommand(ctx.redis.port, 'SISMEMBER', 'zivro:queue:set', a.id), 1, 'zivro:queue:set');
      const b = await ctx.client();
      const mb = waitFor(b, 'matched');
      assertAccepted(await join(b, 'Bob'));
      const { roomId } = await mb;
      const port = ctx.redis.port;
      assert.equal(await redisCommand(port, 'HGET', 'zivro:rooms', a.id), b.id);
      assert.equal(await redisCommand(port, 'HGET', 'zivro:rooms', b.id), a.id);
      assert.equal(await redisCommand(port, 'HGET', 'zivro:room_details', a.id), roomId, 'zivro:room_details');
      assert.equal(await redisCommand(port, 'HGET', 'zivro:room_details', b.id), roomId, 'zivro:room_details');
      assert.deepEqual(await redisCommand(port, 'LRANGE', 'zivro:queue:list', '0', '-1'), []);
      assert.equal(await redisCommand(port, 'SCARD', 'zivro:queue:set'), 0);
      // next: both remember each other for the rematch window (120 s)
      const pl = waitFor(b, 'partner-left');
      assertAccepted(await emitAck(a, 'next'));
      await pl;
      assert.equal(await redisCommand(port, 'GET', `zivro:last_partner:${a.id}`), b.id, 'zivro:last_partner');
      assert.equal(await redisCommand(port, 'GET', `zivro:last_partner:${b.id}`), a.id, 'zivro:last_partner');
      const lpTtl = await redisCommand(port, 'TTL', `zivro:last_partner:${a.id}`);
      assert.ok(lpTtl > 100 && lpTtl <= 120, `last_partner TTL ${lpTtl}`);
      assert.deepEqual(await redisCommand(port, 'LRANGE', 'zivro:queue:list', '0', '-1'), [a.id, b.id], 'sender requeued first, then the partner');
      assert.equal(await redisCommand(port, 'HGET', 'zivro:rooms', a.id), null);
      // leave: the profile is removed
      assertAccepted(await emitAck(a, 'leave-queue'));
      assert.equal(await redisCommand(port, 'GET', `zivro:user:${a.id}`), null, 'profile removed on leave');
      assert.deepEqual(await redisCommand(port, 'LRANGE', 'zivro:queue:list', '0', '-1'), [b.id]);
    });
  }

  ztest(mode, 'a second join-queue while queued or in a call is ignored (ack {ok:false})', async (ctx) => {
    const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    const logA = collect(a, EVENTS);
    const logB = collect(b, EVENTS);
    assertAccepted(await join(a, 'A'));
    assertRefused(await join(a, 'A-again'), 'second join-queue while queued');
    const mb = waitFor(b, 'matched');
    assertAccepted(await join(b, 'B'));
    assert.equal((await mb).partnerName, 'A', 'the first profile is kept');
    assertRefused(await join(a, 'A-third'), 'join-queue while in a call');
    assertRefused(await join(b, 'B-again'), 'join-queue while in a call');
    a.emit('join-queue', profile('A-no-ack')); // without an ack callback: ignored too
    // if any of those had (re)queued A or B, C would be matched with it
    await pair(c, d, 'C', 'D');
    await barrier(a);
    await barrier(b);
    assert.deepEqual(logA.map((e) => e.event), ['matched'], JSON.stringify(logA));
    assert.deepEqual(logB.map((e) => e.event), ['matched'], JSON.stringify(logB));
  });

  ztest(mode, 'next with 3 users: partner gets partner-left{next}, sender nothing; sender matched with the waiting user (who is initiator); old partner waits', async (ctx) => {
    const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    const { ma } = await pair(a, b, 'A', 'B');
    assertAccepted(await join(c, 'C'));
    const logA = collect(a, EVENTS);
    const logB = collect(b, EVENTS);
    const plB = waitFor(b, 'partner-left');
    const mA = waitFor(a, 'matched');
    const mC = waitFor(c, 'matched');
    assertAccepted(await emitAck(a, 'next'), 'next(A)');
    assert.deepEqual(await plB, { reason: 'next' });
    const [ma2, mc] = await Promise.all([mA, mC]);
    assertPair(ma2, mc, a, c);
    assert.equal(mc.isInitiator, true, 'C waited longer than the requeued A');
    assert.equal(ma2.isInitiator, false);
    assert.equal(mc.partnerName, 'A');
    assert.equal(ma2.partnerName, 'C');
    assert.notEqual(ma2.roomId, ma.roomId);
    // B waits for a newcomer (it must not be paired with A again, A is busy anyway)
    const mB = waitFor(b, 'matched');
    const mD = waitFor(d, 'matched');
    assertAccepted(await join(d, 'D'));
    const [mb2, md] = await Promise.all([mB, mD]);
    assertPair(mb2, md, b, d);
    assert.equal(mb2.isInitiator, true, 'B waited longer than D');
    await barrier(a);
    await barrier(b);
    assert.deepEqual(logA.map((e) => e.event), ['matched'], `A must get no event for its own next: ${JSON.stringify(logA)}`);
    assert.deepEqual(logB.map((e) => e.event), ['partner-left', 'matched'], JSON.stringify(logB));
  });

  ztest(mode, 'next without a partner just requeues the sender (once)', async (ctx) => {
    const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    const logA = collect(a, EVENTS);
    assertAccepted(await join(a, 'A'));
    assertAccepted(await emitAck(a, 'next'), 'next while queued');
    assertAccepted(await emitAck(a, 'next'), 'second next while queued');
    await joinPairs(a, b, 'B');
    // a duplicate queue entry for A would now be matched with C
    await pair(c, d, 'C', 'D');
    await barrier(a);
    assert.deepEqual(logA.map((e) => e.event), ['matched'], JSON.stringify(logA));
  });

  ztest(mode, 'next / leave-queue from a socket that never joined changes nothing', async (ctx) => {
    const [x, a, b] = await Promise.all([ctx.client(), ctx.client(), ctx.client()]);
    const logX = collect(x, EVENTS);
    assertRefused(await emitAck(x, 'next'), 'next from a socket that never joined');
    assertRefused(await emitAck(x, 'leave-queue'), 'leave-queue from a socket that never joined');
    x.emit('next'); // no ack callback
    x.emit('leave-queue');
    // had X been enqueued, A would be matched with X
    const { ma, mb } = await pair(a, b, 'A', 'B');
    assert.equal(ma.partnerName, 'B');
    assert.equal(mb.partnerName, 'A');
    await barrier(x);
    assert.deepEqual(logX, [], JSON.stringify(logX));
  });

  ztest(mode, 'leave-queue in a call: partner gets partner-left{leave} and is requeued; the leaver is gone', async (ctx) => {
    const [a, b, c, d, e] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    await pair(a, b, 'A', 'B');
    const logA = collect(a, EVENTS);
    const plB = waitFor(b, 'partner-left');
    assertAccepted(await emitAck(a, 'leave-queue'), 'leave-queue(A)');
    assert.deepEqual(await plB, { reason: 'leave' });
    const mb = waitFor(b, 'matched');
    const mc = waitFor(c, 'matched');
    assertAccepted(await join(c, 'C'));
    const [mb2, mc2] = await Promise.all([mb, mc]);
    assertPair(mb2, mc2, b, c);
    assert.equal(mb2.isInitiator, true, 'B waited longer');
    // A is not queued any more: D and E are matched with each other
    await pair(d, e, 'D', 'E');
    await barrier(a);
    assert.deepEqual(logA, [], `the leaver gets no event: ${JSON.stringify(logA)}`);
    // a second leave-queue has nothing to do
    assertRefused(await emitAck(a, 'leave-queue'), 'leave-queue after leaving');
  });

  ztest(mode, 'leave-queue while queued (Cancel) removes the user from the queue', async (ctx) => {
    const [a, b, c] = await Promise.all([ctx.client(), ctx.client(), ctx.client()]);
    const logA = collect(a, EVENTS);
    assertAccepted(await join(a, 'A'));
    assertAccepted(await emitAck(a, 'leave-queue'), 'leave-queue while queued');
    await pair(b, c, 'B', 'C');
    await barrier(a);
    assert.deepEqual(logA, []);
    // and A may join again afterwards
    const d = await ctx.client();
    await pair(a, d, 'A', 'D');
  });

  ztest(mode, 'disconnect in a call: partner gets partner-left{disconnect} and is requeued', async (ctx) => {
    const [a, b, c] = await Promise.all([ctx.client(), ctx.client(), ctx.client()]);
    await pair(a, b, 'A', 'B');
    const plB = waitFor(b, 'partner-left');
    a.close();
    assert.deepEqual(await plB, { reason: 'disconnect' });
    await joinPairs(b, c, 'C');
  });

  ztest(mode, 'a queued user who disconnects is never matched', async (ctx) => {
    const [a, b, c, watcher] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    assertAccepted(await join(a, 'A'));
    const disc = new Promise((r) => a.once('disconnect', r));
    a.close();
    await disc;
    // The server learns of the close asynchronously; a watcher socket sends a
    // barrier, which the server handles after it has read A's close on its
    // own connection in the common case. This is not a strict ordering proof,
    // so a match with A counts as failure only after the server had time to
    // handle the close (the barrier round trip).
    await barrier(watcher);
    const { ma, mb } = await pair(b, c, 'B', 'C');
    assert.equal(ma.partnerName, 'C');
    assert.equal(mb.partnerName, 'B');
  });

  for (const who of ['initiator', 'non-initiator']) {
    ztest(mode, `no immediate rematch: the only two waiting users who just skipped each other wait for a third (${who} presses next)`, async (ctx) => {
      const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
      await pair(a, b, 'A', 'B');
      const [presser, other] = who === 'initiator' ? [a, b] : [b, a];
      const logA = collect(a, EVENTS);
      const logB = collect(b, EVENTS);
      const pl = waitFor(other, 'partner-left');
      assertAccepted(await emitAck(presser, 'next'));
      assert.deepEqual(await pl, { reason: 'next' });
      // Negative window: with the default 120 s window a rematch would come
      // right after the next's matching run; 600 ms is far beyond that.
      await negativeWindow(600);
      assert.deepEqual(logA.concat(logB).filter((e) => e.event === 'matched'), [], 'A and B must not be matched again');
      // the presser was requeued first, so it waited longer and gets C
      const mp = waitFor(presser, 'matched');
      const mc = waitFor(c, 'matched');
      assertAccepted(await join(c, 'C'));
      const [m1, m2] = await Promise.all([mp, mc]);
      assertPair(m1, m2, presser, c);
      assert.equal(m1.isInitiator, true);
      await joinPairs(other, d, 'D');
    });
  }

  ztest(mode, 'no immediate rematch after leave-queue: the leaver who rejoins is not paired with the partner it left', async (ctx) => {
    const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
    await pair(a, b, 'A', 'B');
    const logA = collect(a, EVENTS);
    const logB = collect(b, EVENTS);
    const pl = waitFor(b, 'partner-left');
    assertAccepted(await emitAck(a, 'leave-queue'));
    assert.deepEqual(await pl, { reason: 'leave' });
    assertAccepted(await join(a, 'A'));
    // Negative window, as above: a rematch would follow the join at once.
    await negativeWindow(600);
    assert.deepEqual(logA.concat(logB).filter((e) => e.event === 'matched'), [], 'B remembers A: no rematch');
    await joinPairs(b, c, 'C');
    await joinPairs(a, d, 'D');
  });

  ztest(mode, 'REMATCH_WINDOW_MS=1500: two users who skipped each other are matched again after the window, with a new roomId', { env: { REMATCH_WINDOW_MS: '1500' } }, async (ctx) => {
    const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
    const { ma } = await pair(a, b, 'A', 'B');
    const ma2 = waitFor(a, 'matched', { timeout: 6000 });
    const mb2 = waitFor(b, 'matched', { timeout: 6000 });
    const pl = waitFor(b, 'partner-left');
    const t0 = Date.now();
    assertAccepted(await emitAck(a, 'next'));
    assert.deepEqual(await pl, { reason: 'next' });
    const [m1, m2] = await Promise.all([ma2, mb2]);
    const elapsed = Date.now() - t0;
    assertPair(m1, m2, a, b);
    assert.notEqual(m1.roomId, ma.roomId, 'a new pairing gets a new roomId');
    assert.ok(elapsed >= 1000, `rematched after ${elapsed} ms, before the 1500 ms window`);
    assert.equal(m1.isInitiator, true, 'A was requeued first');
  });

  ztest(mode, 'roomId differs each time the same two users meet again (REMATCH_WINDOW_MS=300)', { env: { REMATCH_WINDOW_MS: '300' } }, async (ctx) => {
    const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
    const { ma } = await pair(a, b, 'A', 'B');
    const rooms = [ma.roomId];
    for (const presser of [b, a]) {
      const ma2 = waitFor(a, 'matched', { timeout: 4000 });
      const mb2 = waitFor(b, 'matched', { timeout: 4000 });
      assertAccepted(await emitAck(presser, 'next'));
      const [m1, m2] = await Promise.all([ma2, mb2]);
      assertPair(m1, m2, a, b);
      rooms.push(m1.roomId);
    }
    assert.equal(new Set(rooms).size, 3, `roomIds: ${JSON.stringify(rooms)}`);
  });

  ztest(mode, 'join-queue immediately followed by a disconnect leaves no ghost in the queue (12 rounds)', { timeout: 60000 }, async (ctx) => {
    // The join and the disconnect of one socket must take effect in that
    // order. If the disconnect were handled first (and found nothing to
    // remove), the join would enqueue a socket that is gone: x would be
    // "matched" with it and never hear partner-left, and y would wait.
    const problems = [];
    for (let i = 0; i < 12; i++) {
      const g = await ctx.client({ transports: [i % 3 === 2 ? 'polling' : 'websocket'] });
      const gid = g.id;
      g.emit('join-queue', profile(`Ghost${i}`));
      g.close();
      const [x, y] = await Promise.all([ctx.client(), ctx.client()]);
      const logX = collect(x, ['matched', 'partner-left']);
      const xy = waitFor(x, 'matched', { filter: (m) => m.partnerId === y.id, timeout: 4000 });
      assertAccepted(await join(x, `X${i}`));
      assertAccepted(await join(y, `Y${i}`));
      try {
        await xy;
      } catch {
        const show = logX.map((e) => (e.event === 'matched' ? `matched(${e.payload.partnerId === gid ? 'the closed socket' : e.payload.partnerId})` : `partner-left(${e.payload.reason})`)).join(' ');
        problems.push(`round ${i}: x was never matched with y; x saw: ${show || 'nothing'}`);
      }
      for (const s2 of [x, y]) assertAckShape(await emitAck(s2, 'leave-queue'), 'leave-queue');
      x.close();
      y.close();
      if (problems.length) break;
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  ztest(mode, 'requests of one socket take effect in the order sent: join-queue then leave-queue back to back leaves it out of the queue (24 rounds)', { timeout: 60000 }, async (ctx) => {
    const problems = [];
    for (let i = 0; i < 24; i++) {
      const a = await ctx.client({ transports: [i % 2 ? 'polling' : 'websocket'] });
      const logA = collect(a, ['matched', 'partner-left']);
      a.emit('join-queue', profile(`A${i}`));
      a.emit('leave-queue');
      await barrier(a); // handled after both
      const [x, y] = await Promise.all([ctx.client(), ctx.client()]);
      const xy = waitFor(x, 'matched', { timeout: 4000 });
      assertAccepted(await join(x, `X${i}`));
      assertAccepted(await join(y, `Y${i}`));
      const m = await xy.catch((e) => ({ error: e.message }));
      if (m.partnerId !== y.id) problems.push(`round ${i}: x was matched with ${m.partnerId === a.id ? 'a, which had left' : JSON.stringify(m)}`);
      await barrier(a);
      if (logA.some((e) => e.event === 'partner-left')) problems.push(`round ${i}: a saw ${JSON.stringify(logA)}`);
      for (const s2 of [a, x, y]) assertAckShape(await emitAck(s2, 'leave-queue'), 'leave-queue');
      for (const s2 of [a, x, y]) s2.close();
      if (problems.length) break;
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });
});
