// Trust (issue 23, points 4 to 7): whom the server believes about a
// client's address, how distinct reporters are counted, and the address
// secret that instances sharing a Redis agree on without configuration.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe } from 'node:test';
import {
  CLIENT_ORIGIN, connect, waitFor, emitAck, startServer, redisCommand,
} from '../lib/harness.mjs';
import {
  MODES, eachMode, ztest, join, pair, assertAccepted, assertRefused,
} from '../lib/contract.mjs';

/** socket.io-client options that send headers (websocket: node's ws sends them). */
const withHeaders = (headers) => ({ transports: ['websocket'], extraHeaders: { Origin: CLIENT_ORIGIN, ...headers } });

describe('[embedded store] client addresses', () => {
  const mode = MODES[0];
  ztest(mode, 'CLIENT_IP_HEADER from a peer outside TRUSTED_PROXIES is not believed: a client rotating X-Real-IP is held to MAX_CONNS_PER_IP',
    { env: { CLIENT_IP_HEADER: 'X-Real-IP', TRUSTED_PROXIES: '10.0.0.0/8', MAX_CONNS_PER_IP: '3' } }, async (ctx) => {
      for (let i = 1; i <= 3; i++) await ctx.client(withHeaders({ 'X-Real-IP': `203.0.113.${i}` }));
      await assert.rejects(ctx.client(withHeaders({ 'X-Real-IP': '203.0.113.4' })), /failed/,
        'a fourth connection claiming a fourth address was let in');
    });

  ztest(mode, 'CLIENT_IP_HEADER from a peer inside TRUSTED_PROXIES is believed',
    { env: { CLIENT_IP_HEADER: 'X-Real-IP', TRUSTED_PROXIES: '127.0.0.0/8', MAX_CONNS_PER_IP: '1' } }, async (ctx) => {
      for (let i = 1; i <= 3; i++) await ctx.client(withHeaders({ 'X-Real-IP': `203.0.113.${i}` }));
      await assert.rejects(ctx.client(withHeaders({ 'X-Real-IP': '203.0.113.1' })), /failed/,
        'a second connection of one address was let in');
    });
});

/**
 * Runs a call between victim and a reporter from address addr (through
 * X-Forwarded-For from a trusted proxy), who reports the victim and leaves.
 */
async function reportFrom(ctx, victim, addr, name) {
  const r = await ctx.client(withHeaders({ 'X-Forwarded-For': addr }));
  const mr = waitFor(r, 'matched');
  assertAccepted(await join(r, name));
  assert.equal((await mr).partnerId, victim.id, `${name} was not paired with the victim`);
  assertAccepted(await emitAck(r, 'report', { reason: 'harassment' }), `${name}'s report`);
  const left = waitFor(victim, 'partner-left');
  r.close();
  await left;
}

const reportEnv = { TRUSTED_PROXIES: '127.0.0.1', REPORT_THRESHOLD: '3', COOL_DOWN_MS: '60000', REMATCH_WINDOW_MS: '60000' };

eachMode((mode) => {
  ztest(mode, 'reporters from three /64s of one IPv6 /48 are one reporter: no cool-down; three /48s cool the reported address down',
    { env: reportEnv, timeout: 40000 }, async (ctx) => {
      const victimAddr = { 'X-Forwarded-For': '198.51.100.20' };
      const victim = await ctx.client(withHeaders(victimAddr));
      assertAccepted(await join(victim, 'Victim'));
      for (const [i, addr] of ['2001:db8:77:1::5', '2001:db8:77:2::5', '2001:db8:77:3::5'].entries()) {
        await reportFrom(ctx, victim, addr, `S${i}`);
      }
      // One subscriber's three reports: the victim's address may still join.
      const probe = await ctx.client(withHeaders(victimAddr));
      assertAccepted(await join(probe, 'Victim too'), 'join after one /48\'s reports');
      probe.close();
      await reportFrom(ctx, victim, '2001:db8:78::5', 'T1');
      await reportFrom(ctx, victim, '2001:db8:79::5', 'T2');
      const again = await ctx.client(withHeaders(victimAddr));
      const refused = await join(again, 'Victim');
      assertRefused(refused, 'join after three /48s reported', 'cooling-down');
      assert.match(refused.error, /cooling down/);
    });
});

describe('[redis store] address secret', () => {
  const mode = MODES[1];
  ztest(mode, 'two instances without ADDRESS_HASH_KEY agree on a cool-down: one random secret, kept in Redis, not derived from REDIS_URL',
    { env: reportEnv, timeout: 40000 }, async (ctx) => {
      const s2 = await startServer({ redisUrl: ctx.redis.url, env: reportEnv });
      const extra = [];
      try {
        const victimIP = '198.51.100.20';
        const victimAddr = { 'X-Forwarded-For': victimIP };
        // The victim joins through the first instance; its reporters come
        // through both.
        const victim = await ctx.client(withHeaders(victimAddr));
        assertAccepted(await join(victim, 'Victim'));
        await reportFrom(ctx, victim, '192.0.2.1', 'R1');
        const viaS2 = { client: async (opts) => { const s = await connect(s2.url, opts); extra.push(s); return s; } };
        await reportFrom(viaS2, victim, '192.0.2.2', 'R2');
        await reportFrom(viaS2, victim, '192.0.2.3', 'R3');
        // The victim's address, through the second instance: refused.
        const again = await viaS2.client(withHeaders(victimAddr));
        const refused = await join(again, 'Victim');
        assertRefused(refused, 'join through the other instance during the cool-down');
        assert.match(refused.error, /cooling down/);

        // The secret is random, kept without expiry, and the keys are not
        // those of a secret derived from REDIS_URL (what the server did
        // before: whoever knew the URL could reverse them).
        const port = ctx.redis.port;
        const secret = await redisCommand(port, 'GET', 'zivro:address-key');
        assert.ok(typeof secret === 'string' && secret.length >= 32, `stored secret ${JSON.stringify(secret)}`);
        assert.equal(await redisCommand(port, 'PTTL', 'zivro:address-key'), -1, 'the secret expires');
        const keyOf = (key) => crypto.createHmac('sha256', key).update(victimIP).digest('hex').slice(0, 32);
        assert.equal(await redisCommand(port, 'EXISTS', `zivro:cooldown:${keyOf(secret)}`), 1, 'no cool-down under the stored secret\'s key');
        const derived = crypto.createHash('sha256').update(`zivro address key\x00${ctx.redis.url}`).digest();
        assert.equal(await redisCommand(port, 'EXISTS', `zivro:cooldown:${keyOf(derived)}`), 0, 'the address key derives from REDIS_URL');
      } catch (e) {
        try { e.message += `\n--- second instance log tail ---\n${s2.logs().slice(-3000)}`; } catch { /* ignore */ }
        throw e;
      } finally {
        for (const s of extra) s.close();
        await s2.kill();
      }
    });
});
