// Configuration and deployment rows of the contract: .env, STATIC_DIR
// (same-origin client), binding on every interface, SIGINT, and several
// server instances sharing one Redis.
import assert from 'node:assert/strict';
import os from 'node:os';
import { httpGet, startServer, connect, waitFor, emitAck, collect } from '../lib/harness.mjs';
import { eachMode, ztest, pair, joinPairs, join, assertPair, assertAccepted, barrier } from '../lib/contract.mjs';

const INDEX = '<!doctype html><html><head><title>zivro-static-marker</title></head><body><div id="root"></div><script type="module" src="/assets/app.js"></script></body></html>';

function nonLoopbackIPv4() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

eachMode((mode) => {
  ztest(mode, '.env in the working directory fills what the environment leaves unset', {
    server: {
      unsetEnv: ['NODE_ENV', 'CLIENT_URL'],
      files: { '.env': 'NODE_ENV=from-dotenv\nCLIENT_URL=http://dotenv.test\n' },
    },
  }, async (ctx) => {
    const h = await httpGet(`${ctx.url}/health`, { Origin: 'http://dotenv.test' });
    assert.equal(h.status, 200);
    assert.equal(h.json.env, 'from-dotenv');
    assert.equal(h.headers.get('access-control-allow-origin'), 'http://dotenv.test');
  });

  ztest(mode, 'the environment wins over .env', {
    env: { NODE_ENV: 'from-env' },
    server: { files: { '.env': 'NODE_ENV=from-dotenv\n' } },
  }, async (ctx) => {
    const h = await httpGet(`${ctx.url}/health`);
    assert.equal(h.json.env, 'from-env');
  });

  ztest(mode, 'STATIC_DIR: the built client is served by the server, and works same-origin', {
    env: { STATIC_DIR: 'dist' },
    server: { files: { 'dist/index.html': INDEX, 'dist/assets/app.js': 'console.log("zivro-app-marker");\n' } },
  }, async (ctx) => {
    const root = await httpGet(`${ctx.url}/`);
    assert.equal(root.status, 200);
    assert.match(root.body, /zivro-static-marker/);
    assert.match(root.headers.get('content-type') || '', /text\/html/);
    const js = await httpGet(`${ctx.url}/assets/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.body, /zivro-app-marker/);
    assert.match(js.headers.get('content-type') || '', /javascript/);
    const h = await httpGet(`${ctx.url}/health`);
    assert.equal(h.status, 200, '/health is not shadowed by the static files');
    assert.equal(h.json.status, 'ok');
    // the page's own origin is the server's
    const a = await ctx.client({ extraHeaders: { Origin: ctx.url } });
    const b = await ctx.client({ transports: ['polling'], extraHeaders: { Origin: ctx.url } });
    await pair(a, b, 'A', 'B');
  });

  const ip = nonLoopbackIPv4();
  ztest(mode, 'the server binds every interface (reachable on a non-loopback address)', {
    // Reported as skipped, not passed, on a machine with no such address.
    skip: ip ? false : 'this machine has no non-loopback IPv4 address',
  }, async (ctx) => {
    const h = await httpGet(`http://${ip}:${ctx.server.port}/health`);
    assert.equal(h.status, 200);
  });

  ztest(mode, 'graceful shutdown on SIGINT → exit code 0', async (ctx) => {
    const a = await ctx.client();
    assertAccepted(await join(a, 'A'));
    const disc = waitFor(a, 'disconnect', { timeout: 5000 });
    ctx.server.process.kill('SIGINT');
    const r = await Promise.race([
      ctx.server.exited,
      new Promise((_, rej) => setTimeout(() => rej(new Error('no exit within 5 s of SIGINT')), 5000)),
    ]);
    assert.deepEqual(r, { code: 0, signal: null });
    await disc;
  });

  if (mode.redis) {
    ztest(mode, 'two server instances share one Redis: users on different instances are matched and relay signal + chat; next and disconnect cross instances', { timeout: 60000 }, async (ctx) => {
      const s2 = await startServer({ redisUrl: ctx.redis.url });
      const extra = [];
      try {
        const c2 = async () => { const s = await connect(s2.url); extra.push(s); return s; };
        const a = await ctx.client();
        const b = await c2();
        const { ma, mb } = await pair(a, b, 'OnOne', 'OnTwo');
        assert.equal(ma.partnerName, 'OnTwo');
        assert.equal(mb.partnerName, 'OnOne');
        assert.equal(ma.isInitiator, true);
        const sig = waitFor(b, 'signal');
        assertAccepted(await emitAck(a, 'signal', { to: b.id, data: { type: 'offer', sdp: 'x' } }));
        assert.deepEqual(await sig, { from: a.id, data: { type: 'offer', sdp: 'x' } });
        const chat = waitFor(a, 'chat-message');
        assertAccepted(await emitAck(b, 'chat-message', { message: ' across ' }));
        const m = await chat;
        assert.equal(m.from, b.id);
        assert.equal(m.message, 'across');

        // next across instances: c (instance 2) waits; a nexts
        const c = await c2();
        assertAccepted(await join(c, 'C'));
        const logA = collect(a, ['matched', 'partner-left']);
        const plB = waitFor(b, 'partner-left');
        const mA = waitFor(a, 'matched');
        const mC = waitFor(c, 'matched');
        assertAccepted(await emitAck(a, 'next'));
        assert.deepEqual(await plB, { reason: 'next' });
        const [ma2, mc] = await Promise.all([mA, mC]);
        assertPair(ma2, mc, a, c);
        assert.equal(mc.isInitiator, true);

        // disconnect across instances: c leaves by closing; a gets partner-left
        const plA = waitFor(a, 'partner-left');
        c.close();
        assert.deepEqual(await plA, { reason: 'disconnect' });
        // b (instance 2, waiting) and a: they just skipped each other, so a
        // newcomer on instance 1 is matched with b (who waited longer)
        const d = await ctx.client();
        await joinPairs(b, d, 'D');
        await barrier(a);
        assert.deepEqual(logA.map((e) => e.event), ['matched', 'partner-left'], JSON.stringify(logA));
      } catch (e) {
        const extraLog = `\n--- second instance log tail ---\n${s2.logs().slice(-3000)}`;
        try { e.message += extraLog; } catch { /* ignore */ }
        throw e;
      } finally {
        for (const s of extra) s.close();
        await s2.kill();
      }
    });
  }
});
