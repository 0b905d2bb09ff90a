// The signal delay (SIGNAL_DELAY_MS): a user's first relays of a new
// pairing reach the partner no sooner than the delay after the sender's
// matched was sent, in the order sent; later relays are not held. No
// assertion here bounds how late anything comes: "not before" is checked
// against a time taken before the pairing could exist (just before the
// second user's join left the client), and "not held" by order alone.
import assert from 'node:assert/strict';
import { waitFor, collect } from '../lib/harness.mjs';
import { eachMode, ztest, join, assertAccepted } from '../lib/contract.mjs';

const DELAY = 1000;
const env = { SIGNAL_DELAY_MS: String(DELAY) };

/** a queued, then b joins; resolves the two matched payloads and t0. */
async function pairTimed(ctx) {
  const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
  const ma = waitFor(a, 'matched', { timeout: 10000 });
  const mb = waitFor(b, 'matched', { timeout: 10000 });
  assertAccepted(await join(a, 'Ana'));
  const t0 = Date.now(); // the pairing cannot exist before b's join is sent
  const joined = join(b, 'Bo');
  return { a, b, t0, ma, mb, joined };
}

eachMode((mode) => {
  ztest(mode, 'an offer sent at once after matched reaches the partner no sooner than the delay, in order, chat in its place', { env }, async (ctx) => {
    const { a, b, t0, ma, mb, joined } = await pairTimed(ctx);
    // Whoever is the initiator sends at once, as a client does on matched.
    const sent = [
      ['signal', { type: 'offer', sdp: { type: 'offer', sdp: 'v=0\r\n' } }],
      ['signal', { type: 'ice-candidate', candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host', sdpMid: '0', sdpMLineIndex: 0 } }],
      ['chat-message', 'hello'],
      ['signal', { type: 'ice-candidate', candidate: { candidate: 'candidate:2 1 udp 1 192.0.2.1 2 typ host', sdpMid: '0', sdpMLineIndex: 0 } }],
    ];
    let logs;
    const onMatched = (self, other) => (m) => {
      if (!m.isInitiator) return;
      logs = collect(other, ['signal', 'chat-message']);
      for (const [ev, data] of sent) {
        if (ev === 'signal') self.emit('signal', { to: m.partnerId, data });
        else self.emit('chat-message', { message: data });
      }
    };
    a.once('matched', onMatched(a, b));
    b.once('matched', onMatched(b, a));
    assertAccepted(await joined);
    const [pa, pb] = await Promise.all([ma, mb]);
    assert.equal(pa.isInitiator !== pb.isInitiator, true, 'exactly one initiator');
    const deadline = Date.now() + 15000;
    while (!logs || logs.length < sent.length) {
      assert.ok(Date.now() < deadline, `relays not all delivered within 15 s: ${JSON.stringify(logs)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(logs.map((e) => [e.event, e.event === 'signal' ? e.payload.data : e.payload.message]), sent,
      'delivered in the order sent');
    for (const e of logs) {
      assert.ok(e.t - t0 >= DELAY, `${e.event} delivered ${e.t - t0} ms after the pairing could first exist, before the delay of ${DELAY} ms`);
    }
  });

  ztest(mode, 'after the delay a relay is not held: a signal sent just before a Next reaches the partner before partner-left', { env }, async (ctx) => {
    const { a, b, ma, mb, joined } = await pairTimed(ctx);
    assertAccepted(await joined);
    const [pa, pb] = await Promise.all([ma, mb]);
    const [init, resp, mi] = pa.isInitiator ? [a, b, pa] : [b, a, pb];
    // The first relay of the pairing is held; once it arrives, the delay
    // is over on the server's clock.
    const first = waitFor(resp, 'signal', { timeout: 15000 });
    init.emit('signal', { to: mi.partnerId, data: { n: 1 } });
    assert.deepEqual((await first).data, { n: 1 });
    const log = collect(resp, ['signal', 'partner-left']);
    const left = waitFor(resp, 'partner-left', { timeout: 10000 });
    init.emit('signal', { to: mi.partnerId, data: { n: 2 } });
    init.emit('next');
    await left;
    // A held relay of an ended pairing is dropped: held, it would never come.
    assert.deepEqual(log.map((e) => e.event), ['signal', 'partner-left'], JSON.stringify(log));
    assert.deepEqual(log[0].payload.data, { n: 2 });
  });
});
