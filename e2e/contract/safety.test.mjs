// Interests, report and block (issue 13): matching people want, and safety.
// Distinct users come from distinct loopback addresses (127.0.0.x, all
// routed to lo): the server keys blocks and cool-downs on the address.
import assert from 'node:assert/strict';
import { waitFor, emitAck, collect } from '../lib/harness.mjs';
import {
  eachMode, ztest, profile, join, pair, assertAccepted, assertRefused, assertPair, negativeWindow, barrier, joinPairs,
} from '../lib/contract.mjs';

/** A client connecting from 127.0.0.<host> (websocket: the transport that can bind it). */
const from = (ctx, host) => ctx.client({ transports: ['websocket'], localAddress: `127.0.0.${host}` });

const withInterests = (name, ...interests) => ({ ...profile(name), interests });

eachMode((mode) => {
  ztest(mode, 'interests: A {music} and B {chess} wait; C {music} and D {chess} join → A–C and B–D, told what they share',
    { env: { INTEREST_WAIT_MS: '20000' } }, async (ctx) => {
      const [a, b, c, d] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
      const ms = [a, b, c, d].map((s) => waitFor(s, 'matched'));
      assertAccepted(await join(a, withInterests('A', 'music')));
      assertAccepted(await join(b, withInterests('B', 'Chess')));
      assertAccepted(await join(c, withInterests('C', 'MUSIC', 'films')));
      assertAccepted(await join(d, withInterests('D', 'go', ' chess ')));
      const [ma, mb, mc, md] = await Promise.all(ms);
      assertPair(ma, mc, a, c);
      assertPair(mb, md, b, d);
      for (const m of [ma, mc]) assert.deepEqual(m.commonInterests, ['music']);
      for (const m of [mb, md]) assert.deepEqual(m.commonInterests, ['chess']);
    });

  ztest(mode, 'users without interests pair FIFO at once, past a user waiting for a shared interest; matched carries commonInterests: []',
    { env: { INTEREST_WAIT_MS: '20000' } }, async (ctx) => {
      const [a, x, y] = await Promise.all([ctx.client(), ctx.client(), ctx.client()]);
      const logA = collect(a, ['matched']);
      assertAccepted(await join(a, withInterests('A', 'music')));
      const { ma: mx, mb: my } = await pair(x, y, 'X', 'Y');
      assert.deepEqual(mx.commonInterests, []);
      assert.deepEqual(my.commonInterests, []);
      assert.deepEqual(logA, [], 'a waits for music');
    });

  ztest(mode, 'a lone tag falls back to anyone after the configured interest wait, with nobody acting',
    { env: { INTEREST_WAIT_MS: '600' } }, async (ctx) => {
      const [a, x] = await Promise.all([ctx.client(), ctx.client()]);
      const ma = waitFor(a, 'matched', { timeout: 5000 });
      const logA = collect(a, ['matched']);
      const joined = Date.now();
      assertAccepted(await join(a, withInterests('A', 'rare')));
      assertAccepted(await join(x, 'X'));
      // Bounded negative window, well inside the 600 ms wait: nothing yet.
      await negativeWindow(300);
      if (Date.now() - joined < 550) assert.deepEqual(logA, [], 'paired before the interest wait');
      const m = await ma;
      assert.equal(m.partnerId, x.id);
      assert.deepEqual(m.commonInterests, []);
      assert.ok(Date.now() - joined >= 600, `paired after ${Date.now() - joined} ms, before the 600 ms wait`);
    });

  ztest(mode, 'interests are checked: not an array of strings → refused with an error ack, nothing queued',
    async (ctx) => {
      const a = await ctx.client();
      for (const interests of ['music', [1], [{}], { music: true }]) {
        assertRefused(await join(a, { ...profile('A'), interests }), `interests ${JSON.stringify(interests)}`);
      }
      const b = await ctx.client();
      const c = await ctx.client();
      await pair(b, c, 'B', 'C'); // a never joined
    });

  // Language preference (issue 19), with the interest wait's fallback.
  ztest(mode, 'language: a user is paired first with the earliest of its language; users without one pair as before',
    { env: { INTEREST_WAIT_MS: '20000' } }, async (ctx) => {
      const [a, b, x, c, y] = await Promise.all([ctx.client(), ctx.client(), ctx.client(), ctx.client(), ctx.client()]);
      const logB = collect(b, ['matched']);
      assertAccepted(await join(a, { ...profile('A'), language: 'en' }));
      assertAccepted(await join(b, { ...profile('B'), language: 'es' }));
      assertAccepted(await join(x, 'X'));
      const pa = waitFor(a, 'matched');
      const pc = waitFor(c, 'matched');
      assertAccepted(await join(c, { ...profile('C'), language: 'en' }));
      const [ma, mc] = await Promise.all([pa, pc]);
      assertPair(ma, mc, a, c);
      await joinPairs(x, y, 'Y');
      await barrier(b);
      assert.deepEqual(logB, [], 'b waits for spanish');
    });

  ztest(mode, 'language: with nobody of it, falls back to anyone after the configured wait, with nobody acting',
    { env: { INTEREST_WAIT_MS: '600' } }, async (ctx) => {
      const [a, x] = await Promise.all([ctx.client(), ctx.client()]);
      const ma = waitFor(a, 'matched', { timeout: 5000 });
      const logA = collect(a, ['matched']);
      const joined = Date.now();
      assertAccepted(await join(a, { ...profile('A'), language: 'fr' }));
      assertAccepted(await join(x, 'X'));
      // Bounded negative window, well inside the 600 ms wait: nothing yet.
      await negativeWindow(300);
      if (Date.now() - joined < 550) assert.deepEqual(logA, [], 'paired before the wait');
      const m = await ma;
      assert.equal(m.partnerId, x.id);
      assert.ok(Date.now() - joined >= 600, `paired after ${Date.now() - joined} ms, before the 600 ms wait`);
    });

  ztest(mode, 'language is checked: not 2-3 lower-case letters → refused with an invalid ack, nothing queued',
    async (ctx) => {
      const a = await ctx.client();
      for (const language of ['EN', 'en-US', 'e', 'engl', '', ' en', 12, ['en'], {}, true]) {
        assertRefused(await join(a, { ...profile('A'), language }), `language ${JSON.stringify(language)}`, 'invalid');
      }
      const b = await ctx.client();
      const c = await ctx.client();
      await pair(b, c, 'B', 'C'); // a never joined
    });

  ztest(mode, 'block ends the call like Next; the two never meet again, also as the only two waiting, also on new connections',
    { env: { REMATCH_WINDOW_MS: '200' } }, async (ctx) => {
      const a = await from(ctx, 2);
      const b = await from(ctx, 3);
      await pair(a, b, 'A', 'B');
      const left = waitFor(b, 'partner-left');
      const logs = [collect(a, ['matched']), collect(b, ['matched'])];
      assertAccepted(await emitAck(a, 'block'), 'block');
      assert.deepEqual(await left, { reason: 'next' });
      // Without the block they would meet again 200 ms after the Next: wait
      // well past that (bounded negative window).
      await negativeWindow(800);
      assert.deepEqual(logs.map((l) => l.length), [0, 0], 'the blocked pair was matched again');
      // A third meets the one who waited longer: a (requeued first).
      const c = await from(ctx, 4);
      const mc = waitFor(c, 'matched');
      assertAccepted(await join(c, 'C'));
      assert.equal((await mc).partnerId, a.id);
      // New connections from the same two addresses, the only two waiting.
      a.close();
      c.close();
      const a2 = await from(ctx, 2);
      const log2 = collect(a2, ['matched']);
      assertAccepted(await join(a2, 'A again'));
      await negativeWindow(500);
      assert.deepEqual(log2, [], 'a new connection of the blocker was matched with the blocked');
      assertAccepted(await emitAck(b, 'block'), 'block of the partner who just left');
    });

  ztest(mode, 'block or report with no partner → refused with an error ack; report checks its reason', async (ctx) => {
    const a = await ctx.client();
    assertRefused(await emitAck(a, 'block'), 'block before joining', 'no-partner');
    assertRefused(await emitAck(a, 'report', { reason: 'spam' }), 'report before joining');
    const b = await ctx.client();
    await pair(a, b, 'A', 'B');
    for (const payload of [undefined, { reason: 'he said hi' }, { reason: 3 }, 'spam']) {
      assertRefused(await emitAck(a, 'report', payload), `report ${JSON.stringify(payload)}`);
    }
    assertAccepted(await emitAck(a, 'report', { reason: 'spam' }), 'report with a reason');
  });

  ztest(mode, 'reports from three distinct addresses put the reported address in a cool-down (joins refused) that ends when configured; one reporter repeating counts once',
    { env: { REPORT_THRESHOLD: '3', COOL_DOWN_MS: '1500', REMATCH_WINDOW_MS: '60000' }, timeout: 40000 }, async (ctx) => {
      const bad = await from(ctx, 9);
      assertAccepted(await join(bad, 'Bad'));
      const reportAfterCall = async (host, times) => {
        const r = await from(ctx, host);
        const mr = waitFor(r, 'matched');
        assertAccepted(await join(r, `R${host}`));
        assert.equal((await mr).partnerId, bad.id);
        for (let i = 0; i < times; i++) assertAccepted(await emitAck(r, 'report', { reason: 'harassment' }), `report ${i}`);
        const left = waitFor(bad, 'partner-left');
        r.close();
        await left;
      };
      await reportAfterCall(2, 3); // one reporter, three times
      await reportAfterCall(2, 1); // the same address on a new connection
      await reportAfterCall(3, 1); // a second address
      // Two distinct reporters: below the threshold, the address may join.
      const probe = await from(ctx, 9);
      const paired = waitFor(bad, 'matched');
      assertAccepted(await join(probe, 'Bad too'));
      assert.equal((await paired).partnerId, probe.id);
      const probeLeft = waitFor(bad, 'partner-left');
      probe.close();
      await probeLeft;
      await reportAfterCall(4, 1); // the third: cool-down
      // The cool-down is on the address: a reload (new connection) is refused too.
      bad.close();
      const again = await from(ctx, 9);
      const began = Date.now();
      const refused = await join(again, 'Bad');
      assertRefused(refused, 'join during the cool-down', 'cooling-down');
      assert.match(refused.error, /cooling down/);
      // Others are unaffected.
      const [x, y] = await Promise.all([from(ctx, 5), from(ctx, 6)]);
      await pair(x, y, 'X', 'Y');
      // It ends when configured (1.5 s): joins are accepted again.
      let ack = refused;
      while (ack.ok !== true) {
        assert.ok(Date.now() - began < 10000, `still refused 10 s into a 1.5 s cool-down: ${JSON.stringify(ack)}`);
        await new Promise((r) => setTimeout(r, 100)); // polling the server's answer, not waiting for an event
        ack = await join(again, 'Bad');
      }
      assert.ok(Date.now() - began <= 1500 + 1000, 'the cool-down lasted much longer than configured');
    });
});
