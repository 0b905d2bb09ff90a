// Moderation (issue 20): reports with evidence read back through the admin
// API, bans that drop the banned address's users on every instance and
// refuse their joins (code banned), lifts, the audit log, the token.
// Distinct users come from distinct loopback addresses (127.0.0.x): the
// server keys reports and bans on the address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startServer, connect, emitAck, waitFor, until, closeAll } from '../lib/harness.mjs';
import { eachMode, ztest, assertRefused, assertAccepted } from '../lib/contract.mjs';
import { ADMIN_TOKEN, STILL, LINES, adminApi, pairUp } from '../lib/admin.mjs';

const from = (url, host) => connect(url, { transports: ['websocket'], localAddress: `127.0.0.${host}` });
const ADMIN_ENV = { ADMIN_TOKEN, ADMIN_LABEL: 'mod-alice' };

test('[redis store] a user on instance B, banned through instance A\'s API, is dropped and its joins refused with code banned on both; lifted, it joins again; the audit log says who did what', { timeout: 60000 }, async () => {
  const redis = await startRedis();
  const servers = [];
  const sockets = [];
  try {
    servers.push(await startServer({ redisUrl: redis.url, env: ADMIN_ENV }));
    servers.push(await startServer({ redisUrl: redis.url, env: ADMIN_ENV }));
    const [a, b] = servers;
    const reporter = await from(b.url, 2);
    const bad = await from(b.url, 3);
    sockets.push(reporter, bad);
    await pairUp(reporter, bad);

    assertAccepted(await emitAck(reporter, 'report', { reason: 'nudity', evidence: { lines: LINES, still: STILL } }), 'report with evidence');
    // Read back through the other instance.
    let list;
    await until(async () => {
      list = await adminApi(a.url, 'GET', 'reports');
      return list.status === 200 && list.json.total === 1;
    }, { timeout: 5000, what: () => `the report listed on A (${list && list.text})` });
    const [summary] = list.json.reports;
    assert.equal(summary.reports, 1);
    assert.equal(summary.reporters, 1);
    assert.deepEqual(summary.reasons, { nudity: 1 });
    assert.equal(summary.evidence, 1);
    assert.equal(summary.banned, false);
    const key = summary.key;
    const one = await adminApi(a.url, 'GET', `reports/${key}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.reports.length, 1);
    assert.equal(one.json.reports[0].reported, bad.id);
    assert.deepEqual(one.json.reports[0].evidence, { lines: LINES, still: STILL });

    const dropped = new Promise((resolve) => bad.once('disconnect', resolve));
    const left = waitFor(reporter, 'partner-left', { timeout: 10000 });
    const ban = await adminApi(a.url, 'POST', 'bans', { body: { key, note: 'nudity on camera' } });
    assert.equal(ban.status, 201, ban.text);
    assert.equal(ban.json.by, 'mod-alice');
    await Promise.race([dropped, new Promise((_, reject) => setTimeout(() => reject(new Error('the banned user was not dropped within 10 s')), 10000))]);
    assert.deepEqual(await left, { reason: 'disconnect' });

    for (const s of servers) {
      const again = await from(s.url, 3);
      sockets.push(again);
      const ack = await emitAck(again, 'join-queue', { name: 'Again', gender: 'other', region: '' });
      assertRefused(ack, 'join of a banned address', 'banned');
    }
    // Another address is not banned.
    const other = await from(a.url, 4);
    sockets.push(other);
    assertAccepted(await emitAck(other, 'join-queue', { name: 'Other', gender: 'other', region: '' }), 'join of another address');

    const bans = await adminApi(b.url, 'GET', 'bans');
    assert.deepEqual(bans.json.bans.map((x) => x.key), [key]);
    assert.equal((await adminApi(b.url, 'DELETE', `bans/${key}`)).status, 200);
    const back = await from(a.url, 3);
    sockets.push(back);
    assertAccepted(await emitAck(back, 'join-queue', { name: 'Back', gender: 'other', region: '' }), 'join after the lift');

    const audit = await adminApi(a.url, 'GET', 'audit');
    assert.deepEqual(audit.json.entries.map((e) => [e.action, e.key, e.by]), [['lift', key, 'mod-alice'], ['ban', key, 'mod-alice']]);
    assert.equal(audit.json.entries[1].note, 'nudity on camera');
    for (const s of servers) {
      assert.ok(!s.logs().includes('something abusive'), 'evidence in the log');
      assert.ok(!s.logs().includes(ADMIN_TOKEN), 'the token in the log');
    }
  } finally {
    closeAll(...sockets);
    for (const s of servers) await s.kill();
    await redis.stop();
  }
});

eachMode((mode) => {
  ztest(mode, 'the original client\'s report (no evidence) is acknowledged and listed without evidence; evidence over its bounds is refused too-large, not filed',
    { env: ADMIN_ENV }, async (ctx) => {
      const reporter = await from(ctx.url, 2);
      const bad = await from(ctx.url, 3);
      try {
        await pairUp(reporter, bad);
        const lines = Array.from({ length: 21 }, (_, i) => ({ mine: i % 2 === 0, text: `line ${i}` }));
        assertRefused(await emitAck(reporter, 'report', { reason: 'spam', evidence: { lines } }), '21 lines', 'too-large');
        assertRefused(await emitAck(reporter, 'report', { reason: 'spam', evidence: { still: 'data:image/jpeg;base64,' + 'A'.repeat(17000) } }), 'a still over 12 KB', 'too-large');
        assertRefused(await emitAck(reporter, 'report', { reason: 'spam', evidence: { still: 'data:image/png;base64,iVBORw0KGgo=' } }), 'not a JPEG', 'invalid');
        assertAccepted(await emitAck(reporter, 'report', { reason: 'spam' }), 'the original client\'s report');
        const list = await adminApi(ctx.url, 'GET', 'reports');
        assert.equal(list.status, 200);
        assert.equal(list.json.total, 1);
        assert.equal(list.json.reports[0].reports, 1, 'the refused reports were not filed');
        assert.equal(list.json.reports[0].evidence, 0);
        const one = await adminApi(ctx.url, 'GET', `reports/${list.json.reports[0].key}`);
        assert.equal(one.json.reports[0].reason, 'spam');
        assert.equal(one.json.reports[0].evidence, undefined);
      } finally {
        closeAll(reporter, bad);
      }
    });

  ztest(mode, 'a report\'s evidence is read back, then gone after REPORT_EVIDENCE_TTL_MS (the report stays)',
    { env: { ...ADMIN_ENV, REPORT_EVIDENCE_TTL_MS: '1500' } }, async (ctx) => {
      const reporter = await from(ctx.url, 2);
      const bad = await from(ctx.url, 3);
      try {
        await pairUp(reporter, bad);
        const filed = Date.now();
        assertAccepted(await emitAck(reporter, 'report', { reason: 'spam', evidence: { lines: LINES, still: STILL } }), 'report with evidence');
        const list = await adminApi(ctx.url, 'GET', 'reports');
        const key = list.json.reports[0].key;
        const first = await adminApi(ctx.url, 'GET', `reports/${key}`);
        assert.deepEqual(first.json.reports[0].evidence, { lines: LINES, still: STILL });
        let last;
        await until(async () => {
          last = await adminApi(ctx.url, 'GET', `reports/${key}`);
          return last.json.reports.length === 1 && last.json.reports[0].evidence === undefined;
        }, { timeout: 10000, what: () => `the evidence gone after its TTL (${last && last.text.slice(0, 200)})` });
        assert.ok(Date.now() - filed >= 1400, `evidence gone after ${Date.now() - filed} ms, before its 1.5 s TTL`);
      } finally {
        closeAll(reporter, bad);
      }
    });

  ztest(mode, 'the admin API: 401 without or with a wrong token (and the console page asks for it)', { env: ADMIN_ENV }, async (ctx) => {
    for (const path of ['reports', 'bans', 'audit']) {
      assert.equal((await adminApi(ctx.url, 'GET', path, { token: '' })).status, 401, `${path} without a token`);
      assert.equal((await adminApi(ctx.url, 'GET', path, { token: 'x'.repeat(40) })).status, 401, `${path} with a wrong token`);
      assert.equal((await adminApi(ctx.url, 'GET', path)).status, 200, `${path} with the token`);
    }
    assert.equal((await adminApi(ctx.url, 'POST', 'bans', { token: '', body: { key: '0'.repeat(32) } })).status, 401);
    const page = await fetch(`${ctx.url}/admin`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Admin token/);
  });

  ztest(mode, 'without ADMIN_TOKEN the admin routes do not exist', async (ctx) => {
    assert.equal((await adminApi(ctx.url, 'GET', 'reports')).status, 404);
    assert.equal((await adminApi(ctx.url, 'POST', 'bans', { body: { key: '0'.repeat(32) } })).status, 404);
  });
});
