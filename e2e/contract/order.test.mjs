// Announcement order under load. The original server sent `matched` for pairs
// that a next had already dissolved, and partner-left for pairings the client
// had never been told about. 8 clients press next at random (every 5–30 ms,
// for ~3 s) with REMATCH_WINDOW_MS=50; each is modelled like the React client
// (queue, or in a call with partner P in room R; pressing next → queue with no
// event from the server).
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { emitAck, waitFor, collect } from '../lib/harness.mjs';
import { MODES, ztest, join, assertAccepted, assertAckShape, until, barrier } from '../lib/contract.mjs';

const N = 8;
const PRESS_MS = 3000;
const rand = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function connectAll(ctx) {
  // a mix of transports: websocket-only, polling-only, default (upgrade)
  const opts = [{ transports: ['websocket'] }, { transports: ['polling'] }, {}];
  return Promise.all(Array.from({ length: N }, (_, i) => ctx.client(opts[i % opts.length])));
}

/** Pair-wise check of the final state, then a chat round trip per pair. */
async function assertFinalPairs(clients, lastMatched, violations) {
  const byId = new Map(clients.map((s) => [s.id, s]));
  for (const s of clients) {
    const m = lastMatched.get(s.id);
    const pm = lastMatched.get(m.partnerId);
    if (!pm || pm.partnerId !== s.id || pm.roomId !== m.roomId || pm.isInitiator === m.isInitiator) {
      violations.push(`final state not mutual: ${s.id} → ${JSON.stringify(m)}, partner → ${JSON.stringify(pm)}`);
    }
  }
  assert.deepEqual(violations, [], violations.join('\n'));
  // the server agrees: a chat from each initiator reaches exactly its partner
  for (const s of clients) {
    const m = lastMatched.get(s.id);
    if (!m.isInitiator) continue;
    const p = byId.get(m.partnerId);
    const got = waitFor(p, 'chat-message', { filter: (c) => c.message === `final ${s.id}` });
    got.catch(() => {}); // awaited below unless the ack fails first
    assertAccepted(await emitAck(s, 'chat-message', { message: `final ${s.id}` }), `final chat from ${s.id} to its believed partner ${p.id}`);
    assert.equal((await got).from, s.id);
  }
}

for (const mode of MODES) {
  describe(`[${mode.name} store] announcement order`, () => {
    ztest(mode, 'random next presses (React-like clients): strict order model, unique rooms, consistent end state', { env: { REMATCH_WINDOW_MS: '50' }, timeout: 60000 }, async (ctx) => {
      const clients = await connectAll(ctx);
      const violations = [];
      const rooms = new Map(); // roomId → [{user, partner, isInitiator}]
      // roomId → id of the user who pressed next on it. A client presses next
      // only in a call that its partner has not already ended: the protocol
      // cannot tell which call a next that crosses the partner's next was
      // meant for, so the model would otherwise blame the server for it (the
      // chaos test below covers crossing presses with a weaker model).
      const endedBy = new Map();
      const st = new Map();
      const lastMatched = new Map();
      let matches = 0;
      for (const s of clients) {
        const c = { state: 'queue', partner: null, room: null, history: [] };
        st.set(s, c);
        s.on('matched', (m) => {
          matches++;
          c.history.push(`matched(${m.roomId} with ${m.partnerId})`);
          lastMatched.set(s.id, m);
          if (c.state !== 'queue') violations.push(`${s.id}: matched ${JSON.stringify(m)} while in call ${c.room} with ${c.partner} (history ${c.history.slice(-6).join(', ')})`);
          const seen = rooms.get(m.roomId) || [];
          if (seen.length >= 2 || (seen.length === 1 && (seen[0].user !== m.partnerId || seen[0].partner !== s.id || seen[0].isInitiator === m.isInitiator))) {
            violations.push(`room ${m.roomId} reused or inconsistent: ${JSON.stringify(seen)} then ${s.id} ${JSON.stringify(m)}`);
          }
          seen.push({ user: s.id, partner: m.partnerId, isInitiator: m.isInitiator });
          rooms.set(m.roomId, seen);
          Object.assign(c, { state: 'call', partner: m.partnerId, room: m.roomId });
        });
        s.on('partner-left', (p) => {
          c.history.push(`partner-left(${p && p.reason})`);
          if (c.state !== 'call') {
            violations.push(`${s.id}: partner-left ${JSON.stringify(p)} while in the queue (history ${c.history.slice(-6).join(', ')})`);
          } else if (endedBy.get(c.room) !== c.partner) {
            violations.push(`${s.id}: partner-left ${JSON.stringify(p)} for room ${c.room} which its partner ${c.partner} did not end (history ${c.history.slice(-6).join(', ')})`);
          }
          if (!p || p.reason !== 'next') violations.push(`${s.id}: partner-left reason ${JSON.stringify(p)}, expected next`);
          Object.assign(c, { state: 'queue', partner: null, room: null });
        });
      }
      for (const s of clients) assertAccepted(await join(s, `U${clients.indexOf(s)}`));

      const end = Date.now() + PRESS_MS;
      await Promise.all(clients.map(async (s) => {
        const c = st.get(s);
        while (Date.now() < end) {
          await pause(rand(5, 30)); // the random press schedule, not a settle wait
          if (c.state === 'call' && !endedBy.has(c.room)) {
            endedBy.set(c.room, s.id);
            c.history.push(`next(${c.room})`);
            s.emit('next');
            Object.assign(c, { state: 'queue', partner: null, room: null });
          }
        }
      }));

      // Stop pressing: everyone ends up in a call (windows expire after 50 ms).
      await until(() => clients.every((s) => st.get(s).state === 'call'), {
        timeout: 8000,
        what: 'every client in a call after the presses stop',
      }).catch((e) => {
        violations.push(`${e.message}: ${clients.map((s) => `${s.id}:${st.get(s).state} [${st.get(s).history.slice(-4).join(', ')}]`).join('; ')}`);
      });
      assert.ok(matches >= 20, `only ${matches} matched events: the test did not exercise much`);
      for (const [room, seen] of rooms) {
        if (seen.length !== 2) violations.push(`room ${room} announced to ${seen.length} user(s): ${JSON.stringify(seen)}`);
      }
      for (const s of clients) {
        const c = st.get(s);
        if (c.state === 'call') {
          const pc = [...st].find(([o]) => o.id === c.partner)?.[1];
          if (!pc || pc.partner !== s.id || pc.room !== c.room) violations.push(`${s.id} believes it is with ${c.partner} in ${c.room}, the partner believes ${pc && `${pc.partner} in ${pc.room}`}`);
        }
      }
      await assertFinalPairs(clients, lastMatched, violations);
    });

    ztest(mode, 'chaos: crossing next presses, also while queued: rooms unique, no partner-left without a matched before it, consistent end state', { env: { REMATCH_WINDOW_MS: '50' }, timeout: 60000 }, async (ctx) => {
      const clients = await connectAll(ctx);
      const violations = [];
      const rooms = new Map();
      const lastMatched = new Map();
      const last = new Map(); // id → 'matched' | 'partner-left' (the last announcement)
      let matches = 0;
      for (const s of clients) {
        s.on('matched', (m) => {
          matches++;
          lastMatched.set(s.id, m);
          last.set(s.id, 'matched');
          const seen = rooms.get(m.roomId) || [];
          if (seen.length >= 2 || (seen.length === 1 && (seen[0].user !== m.partnerId || seen[0].partner !== s.id || seen[0].isInitiator === m.isInitiator))) {
            violations.push(`room ${m.roomId} reused or inconsistent: ${JSON.stringify(seen)} then ${s.id} ${JSON.stringify(m)}`);
          }
          seen.push({ user: s.id, partner: m.partnerId, isInitiator: m.isInitiator });
          rooms.set(m.roomId, seen);
        });
        s.on('partner-left', (p) => {
          // each pairing ends at most once for a user, and only after it was announced
          if (last.get(s.id) !== 'matched') violations.push(`${s.id}: partner-left ${JSON.stringify(p)} without a matched since the last one (last: ${last.get(s.id)})`);
          if (!p || p.reason !== 'next') violations.push(`${s.id}: partner-left reason ${JSON.stringify(p)}, expected next`);
          last.set(s.id, 'partner-left');
        });
      }
      for (const s of clients) assertAccepted(await join(s, `C${clients.indexOf(s)}`));
      const end = Date.now() + PRESS_MS;
      await Promise.all(clients.map(async (s) => {
        while (Date.now() < end) {
          await pause(rand(5, 30)); // the random press schedule
          s.emit('next');
        }
      }));
      // Every next sent has been handled once each client's barrier is acked.
      await Promise.all(clients.map(barrier));
      // Quiescence: every client's last announcement is a matched, mutually,
      // and the server agrees (each initiator's chat is accepted). A mutual
      // view alone can be transient here: a partner-left that the partner's
      // own crossing next made stale may be dropped, and the two are then
      // queued until the 50 ms window lets the server pair them again.
      await until(async () => {
        const mutual = clients.every((s) => {
          const m = lastMatched.get(s.id);
          const pm = m && lastMatched.get(m.partnerId);
          return last.get(s.id) === 'matched' && pm && pm.partnerId === s.id && pm.roomId === m.roomId
            && last.get(m.partnerId) === 'matched';
        });
        if (!mutual) return false;
        for (const s of clients) {
          if (!lastMatched.get(s.id).isInitiator) continue;
          const ack = await emitAck(s, 'chat-message', { message: `probe ${s.id}` });
          if (!ack.ok) return false;
        }
        return true;
      }, { timeout: 8000, what: 'every client matched, mutually, after the presses stop' }).catch((e) => {
        violations.push(`${e.message}: ${clients.map((s) => `${s.id}:${last.get(s.id)}→${lastMatched.get(s.id)?.partnerId}/${lastMatched.get(s.id)?.roomId}`).join('; ')}`);
      });
      assert.ok(matches >= 20, `only ${matches} matched events`);
      // (a room may be announced to only one side here: a pairing that a
      // crossing next dissolved before its announcement must not be announced)
      await assertFinalPairs(clients, lastMatched, violations);
    });

    ztest(mode, 'join then an immediate leave / disconnect / next: the waiting user sees nothing or matched → partner-left, never a dangling matched', { timeout: 60000 }, async (ctx) => {
      const problems = [];
      for (let i = 0; i < 12; i++) {
        const variant = ['leave', 'disconnect', 'next'][i % 3];
        const [a, b, c] = await Promise.all([ctx.client(), ctx.client({ transports: [i % 2 ? 'polling' : 'websocket'] }), ctx.client()]);
        const ids = { [a.id]: 'A', [b.id]: 'B', [c.id]: 'C' };
        const show = (log) => log.map((e) => (e.event === 'matched' ? `matched(${ids[e.payload.partnerId] || `${e.payload.partnerId}: a socket of an earlier round, closed or gone`})` : `partner-left(${e.payload.reason})`)).join(' ');
        const logA = collect(a, ['matched', 'partner-left']);
        const logB = collect(b, ['matched', 'partner-left']);
        assertAccepted(await join(a, `A${i}`));
        // b joins and, without waiting for anything, leaves / closes / skips
        b.emit('join-queue', { name: `B${i}`, gender: 'female', region: 'asia' });
        if (variant === 'leave') b.emit('leave-queue');
        else if (variant === 'next') b.emit('next');
        else b.close();
        if (variant !== 'disconnect') await barrier(b); // b's requests are handled
        // After leave / disconnect, c is matched with the waiting a. After
        // next, b (the sender, requeued first) is ahead of a, and the two
        // just skipped each other: c is matched with b, a waits.
        const expectC = variant === 'next' ? 'B' : 'A';
        const mc = waitFor(c, 'matched');
        const mx = waitFor(variant === 'next' ? b : a, 'matched', { filter: (m) => m.partnerId === c.id }).catch(() => null);
        assertAccepted(await join(c, `C${i}`));
        const m = await mc.catch((e) => ({ partnerId: `nobody (${e.message})` }));
        await mx;
        await barrier(a);
        const evA = show(logA);
        const okA = variant === 'next'
          ? ['matched(B) partner-left(next)', '']
          : ['matched(C)', `matched(B) partner-left(${variant}) matched(C)`];
        if (ids[m.partnerId] !== expectC) problems.push(`#${i} ${variant}: c was matched with ${ids[m.partnerId] || m.partnerId}, expected ${expectC}; a saw "${evA}"`);
        if (!okA.includes(evA)) problems.push(`#${i} ${variant}: a saw "${evA}", expected one of ${JSON.stringify(okA)}`);
        if (variant !== 'disconnect') {
          await barrier(b);
          const evB = show(logB);
          const okB = variant === 'next' ? ['matched(A) matched(C)', 'matched(C)'] : ['', 'matched(A)'];
          if (!okB.includes(evB)) problems.push(`#${i} ${variant}: b saw "${evB}", expected one of ${JSON.stringify(okB)}`);
        }
        // leave with acks before closing, so that nobody of this round is
        // still queued when the next round joins
        for (const s2 of [a, b, c]) {
          if (s2.connected) assertAckShape(await emitAck(s2, 'leave-queue'), 'leave-queue at the end of a round');
        }
        for (const s2 of [a, b, c]) s2.close();
        if (problems.length) break; // later rounds would only inherit the damage
      }
      assert.deepEqual(problems, [], problems.join('\n'));
    });
  });
}
