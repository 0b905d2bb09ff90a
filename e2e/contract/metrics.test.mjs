// GET /metrics: a scripted session (join, match, relay, a refusal, Next,
// leave, disconnect) moves every counter and histogram count by exactly what
// it did, and the store's figures follow. Metrics are behind METRICS_TOKEN
// on the public port here (METRICS_ADDR, a listener of their own, is tested
// in main_test.go).
import assert from 'node:assert/strict';
import { httpGet, waitFor, emitAck } from '../lib/harness.mjs';
import { eachMode, ztest, pair, join, assertAccepted, assertRefused, until } from '../lib/contract.mjs';

const TOKEN = 'c2b6e0f4a8d1937e5f0a6b2c4d8e1f3a7b9c0d2e4f6a8b1c3d5e7f9a0b2c4d6e';

/** Parses Prometheus's text format into { 'name{a="x",b="y"}': value }. */
function parse(text) {
  const samples = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable metrics line: ${line}`);
    samples[m[1] + (m[2] || '')] = Number(m[3]);
  }
  return samples;
}

async function scrape(url) {
  const r = await httpGet(`${url}/metrics`, { Authorization: `Bearer ${TOKEN}` });
  assert.equal(r.status, 200, r.body);
  return parse(r.body);
}

/** What the session must move, by exactly these amounts. */
const MOVED = {
  zivro_matches_total: 3,
  zivro_time_to_match_seconds_count: 6,
  zivro_nexts_total: 1,
  'zivro_leaves_total{reason="leave"}': 1,
  'zivro_leaves_total{reason="disconnect"}': 1,
  'zivro_call_duration_seconds_count{reason="next"}': 1,
  'zivro_call_duration_seconds_count{reason="leave"}': 1,
  'zivro_call_duration_seconds_count{reason="disconnect"}': 1,
  'zivro_relayed_total{kind="signal"}': 1,
  'zivro_relayed_total{kind="chat"}': 1,
  'zivro_refused_total{reason="not your partner"}': 1,
  // b's close: the client's disconnect packet or its transport's close,
  // whichever the server reads first (both are what closing does)
  'zivro_disconnects_total (every reason)': 1,
  'zivro_store_call_duration_seconds_count{op="join"}': 3,
  'zivro_store_call_duration_seconds_count{op="next"}': 1,
  'zivro_store_call_duration_seconds_count{op="leave"}': 2,
  // a-b matched (2), a's Next (done + partner-left), a-c matched (2), a
  // leaves (2), b-c matched (2), b disconnects (2)
  zivro_store_event_lag_seconds_count: 12,
};

/** Series that must not move at all during the session. */
const UNMOVED = [
  'zivro_store_errors_total{op="join"}', 'zivro_store_errors_total{op="next"}', 'zivro_store_errors_total{op="leave"}',
];

const CLOSE_REASONS = ['client namespace disconnect', 'transport close'];

function diff(before, after) {
  const sumDisconnects = (s) => Object.entries(s)
    .filter(([k]) => k.startsWith('zivro_disconnects_total{')).reduce((n, [, v]) => n + v, 0);
  before = { ...before, 'zivro_disconnects_total (every reason)': sumDisconnects(before) };
  after = { ...after, 'zivro_disconnects_total (every reason)': sumDisconnects(after) };
  const moved = {};
  for (const k of [...Object.keys(MOVED), ...UNMOVED]) moved[k] = (after[k] ?? 0) - (before[k] ?? 0);
  // every refusal and disconnect reason, to catch one counted twice
  for (const k of Object.keys(after)) {
    if (/^zivro_(refused|disconnects)_total\{/.test(k)) moved[k] = after[k] - (before[k] ?? 0);
  }
  return moved;
}

eachMode((mode) => {
  ztest(mode, 'GET /metrics: a scripted session moves each counter by exactly what it did', { env: { METRICS_TOKEN: TOKEN }, timeout: 60000 }, async (ctx) => {
    const unauthorized = await httpGet(`${ctx.url}/metrics`);
    assert.equal(unauthorized.status, 401, 'no token: 401');
    const wrong = await httpGet(`${ctx.url}/metrics`, { Authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401, 'a wrong token: 401');

    const before = await scrape(ctx.url);
    for (const k of ['go_goroutines', 'process_resident_memory_bytes', 'zivro_users_waiting', 'zivro_pairs_in_call']) {
      assert.ok(k in before, `${k} missing from /metrics`);
    }

    const [a, b, c] = [await ctx.client(), await ctx.client(), await ctx.client()];
    await pair(a, b); // a initiator

    const sig = waitFor(b, 'signal');
    assertAccepted(await emitAck(a, 'signal', { to: b.id, data: { type: 'offer', sdp: 'v=0' } }));
    await sig;
    const chat = waitFor(a, 'chat-message');
    assertAccepted(await emitAck(b, 'chat-message', { message: 'hello there' }));
    await chat;
    assertRefused(await emitAck(c, 'signal', { to: a.id, data: {} }), 'signal to someone else\'s partner');

    // a presses Next: b is told; both are requeued, a first, and kept
    // apart by the rematch window; c joins and is paired with a.
    const bLeft = waitFor(b, 'partner-left');
    const aMatched = waitFor(a, 'matched');
    const cMatched = waitFor(c, 'matched');
    assertAccepted(await emitAck(a, 'next'));
    assert.equal((await bLeft).reason, 'next');
    assertAccepted(await join(c, 'Carol'));
    assert.equal((await aMatched).partnerId, c.id);
    await cMatched;

    // a leaves: c is told and requeued, and paired with b, still waiting.
    const cLeft = waitFor(c, 'partner-left');
    const bMatched = waitFor(b, 'matched');
    const cMatched2 = waitFor(c, 'matched', { filter: (m) => m.partnerId === b.id });
    assertAccepted(await emitAck(a, 'leave-queue'));
    assert.equal((await cLeft).reason, 'leave');
    await Promise.all([bMatched, cMatched2]);

    // b disconnects: c is told and requeued, alone.
    const cLeft2 = waitFor(c, 'partner-left');
    b.close();
    assert.equal((await cLeft2).reason, 'disconnect');

    let last;
    try {
      await until(async () => {
        last = diff(before, await scrape(ctx.url));
        return Object.entries(MOVED).every(([k, v]) => last[k] === v) ? last : null;
      }, { timeout: 10000, interval: 100, what: 'the counters to reach the session\'s figures' });
    } catch (e) {
      e.message += `\nmoved: ${JSON.stringify(last, null, 1)}`;
      throw e;
    }
    const after = await scrape(ctx.url);
    const moved = diff(before, after);
    for (const [k, v] of Object.entries(MOVED)) assert.equal(moved[k], v, `${k} moved by ${moved[k]}, want ${v}`);
    for (const k of UNMOVED) assert.equal(moved[k], 0, `${k} moved by ${moved[k]}`);
    for (const [k, v] of Object.entries(moved)) {
      if (/^zivro_refused_total\{/.test(k) && !(k in MOVED)) assert.equal(v, 0, `${k} moved by ${v}`);
      const reason = /^zivro_disconnects_total\{reason="(.*)"\}$/.exec(k)?.[1];
      if (reason !== undefined && v !== 0) assert.ok(CLOSE_REASONS.includes(reason), `${k} moved by ${v}`);
    }

    // The store's figures: c waits alone, a (left) and c are online.
    await until(async () => {
      const s = await scrape(ctx.url);
      const sockets = s['zivro_connected_sockets{transport="polling"}'] + s['zivro_connected_sockets{transport="websocket"}'];
      return s.zivro_users_waiting === 1 && s.zivro_pairs_in_call === 0 && s.zivro_users_online === 2 && sockets === 2 ? s : null;
    }, { timeout: 10000, interval: 100, what: 'waiting 1, pairs 0, online 2, sockets 2' });
  });

  ztest(mode, 'GET /metrics is not served on the public port without METRICS_TOKEN', async (ctx) => {
    const r = await httpGet(`${ctx.url}/metrics`);
    assert.notEqual(r.status, 200);
    assert.doesNotMatch(r.body, /zivro_/);
  });
});
