// /health, CORS (HTTP routes and the Socket.IO endpoint), same-origin use,
// Redis outage and recovery, graceful shutdown.
import assert from 'node:assert/strict';
import { httpGet, connect, waitFor, RawClient, wsUrl, CLIENT_ORIGIN } from '../lib/harness.mjs';
import { eachMode, ztest, pair, until } from '../lib/contract.mjs';

const EVIL = 'http://evil.test';
const POLL = '/socket.io/?EIO=4&transport=polling';

function assertAllowed(res, origin, what) {
  assert.equal(res.headers.get('access-control-allow-origin'), origin, `${what}: Access-Control-Allow-Origin`);
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true', `${what}: Access-Control-Allow-Credentials`);
}

function assertNoAcao(res, what) {
  assert.equal(res.headers.get('access-control-allow-origin'), null, `${what}: no Access-Control-Allow-Origin expected`);
}

/** Resolves 'open' when the Engine.IO open packet arrives, 'refused' otherwise. */
async function wsOutcome(url, origin) {
  const r = new RawClient(wsUrl(url), { origin, answerPings: true });
  try {
    await r.opened;
  } catch {
    r.terminate();
    return 'refused';
  }
  try {
    const f = await r.next((x) => x.startsWith('0'), { timeout: 3000, what: 'open packet' });
    r.close();
    return f.startsWith('0{') ? 'open' : `odd: ${f}`;
  } catch {
    r.terminate();
    return 'refused';
  }
}

eachMode((mode) => {
  ztest(mode, 'GET /health → 200 {"status":"ok","env":"test","uptime":<number>}', async (ctx) => {
    const r = await httpGet(`${ctx.url}/health`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /application\/json/);
    assert.deepEqual(Object.keys(r.json).sort(), ['env', 'status', 'uptime'], r.body);
    assert.equal(r.json.status, 'ok');
    assert.equal(r.json.env, 'test');
    assert.equal(typeof r.json.uptime, 'number');
    assert.ok(r.json.uptime >= 0 && r.json.uptime < 60, `uptime ${r.json.uptime} s`);
  });

  ztest(mode, 'GET /health reports NODE_ENV', { env: { NODE_ENV: 'production' } }, async (ctx) => {
    const r = await httpGet(`${ctx.url}/health`);
    assert.equal(r.status, 200);
    assert.equal(r.json.env, 'production');
  });

  ztest(mode, 'CORS on /health: CLIENT_URL origin allowed with credentials, another origin gets no ACAO', async (ctx) => {
    assertAllowed(await httpGet(`${ctx.url}/health`, { Origin: CLIENT_ORIGIN }), CLIENT_ORIGIN, '/health allowed origin');
    const evil = await httpGet(`${ctx.url}/health`, { Origin: EVIL });
    assertNoAcao(evil, '/health evil origin');
  });

  ztest(mode, 'CORS on the Socket.IO endpoint: polling handshake and websocket upgrade', async (ctx) => {
    const ok = await httpGet(`${ctx.url}${POLL}`, { Origin: CLIENT_ORIGIN });
    assert.equal(ok.status, 200, `allowed polling handshake: ${ok.status} ${ok.body}`);
    assert.ok(ok.body.startsWith('0{'), `open packet expected, got ${ok.body.slice(0, 100)}`);
    assertAllowed(ok, CLIENT_ORIGIN, 'allowed polling handshake');

    const bad = await httpGet(`${ctx.url}${POLL}`, { Origin: EVIL });
    assert.ok(bad.status >= 400 && bad.status < 500, `evil polling handshake must be refused with 4xx, got ${bad.status} ${bad.body.slice(0, 100)}`);
    assertNoAcao(bad, 'evil polling handshake');

    assert.equal(await wsOutcome(ctx.url, CLIENT_ORIGIN), 'open', 'websocket upgrade from the allowed origin');
    assert.equal(await wsOutcome(ctx.url, EVIL), 'refused', 'websocket upgrade from an evil origin');

    for (const transports of [['websocket'], ['polling']]) {
      await assert.rejects(connect(ctx.url, { transports, extraHeaders: { Origin: EVIL } }), `socket.io-client (${transports}) from an evil origin must not connect`);
    }
  });

  ztest(mode, 'CORS: CLIENT_URL may be a comma-separated list', { env: { CLIENT_URL: 'http://localhost:5173,http://allowed.test' } }, async (ctx) => {
    for (const origin of [CLIENT_ORIGIN, 'http://allowed.test']) {
      assertAllowed(await httpGet(`${ctx.url}/health`, { Origin: origin }), origin, `/health ${origin}`);
      const p = await httpGet(`${ctx.url}${POLL}`, { Origin: origin });
      assert.equal(p.status, 200, `polling handshake from ${origin}`);
      assertAllowed(p, origin, `polling handshake ${origin}`);
      assert.equal(await wsOutcome(ctx.url, origin), 'open', `websocket from ${origin}`);
    }
    assertNoAcao(await httpGet(`${ctx.url}/health`, { Origin: EVIL }), '/health evil');
    const bad = await httpGet(`${ctx.url}${POLL}`, { Origin: EVIL });
    assert.ok(bad.status >= 400 && bad.status < 500, `evil polling handshake: ${bad.status}`);
    assertNoAcao(bad, 'evil polling handshake');
    assert.equal(await wsOutcome(ctx.url, EVIL), 'refused');
  });

  ztest(mode, 'same-origin use (Origin = the server itself) works over polling and websocket', async (ctx) => {
    const a = await ctx.client({ transports: ['polling'], extraHeaders: { Origin: ctx.url } });
    const b = await ctx.client({ transports: ['websocket'], extraHeaders: { Origin: ctx.url } });
    await pair(a, b, 'A', 'B');
    const got = waitFor(b, 'chat-message');
    a.emit('chat-message', { message: 'same origin' });
    assert.equal((await got).message, 'same origin');
  });

  ztest(mode, 'graceful shutdown: SIGTERM with clients in a call → exit code 0 within 5 s', async (ctx) => {
    const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
    await pair(a, b, 'A', 'B');
    const disc = waitFor(a, 'disconnect', { timeout: 5000 });
    const t0 = Date.now();
    const r = await ctx.server.stop(5000);
    assert.deepEqual(r, { code: 0, signal: null }, `exit after SIGTERM: ${JSON.stringify(r)}`);
    assert.ok(Date.now() - t0 < 5000);
    await disc;
  });

  if (mode.redis) {
    ztest(mode, 'Redis outage: /health 503 {"status":"redis-down"} while down, 200 again after restart, and new clients are matched (no server restart)', { timeout: 60000 }, async (ctx) => {
      await ctx.redis.stop();
      const down = await until(async () => {
        const r = await httpGet(`${ctx.url}/health`, {}, 2000);
        return r.status === 503 ? r : false;
      }, { timeout: 10000, what: '/health → 503' });
      assert.deepEqual(down.json, { status: 'redis-down' });
      await ctx.redis.restart();
      const up = await until(async () => {
        const r = await httpGet(`${ctx.url}/health`, {}, 2000);
        return r.status === 200 ? r : false;
      }, { timeout: 20000, what: '/health → 200 after redis restart' });
      assert.equal(up.json.status, 'ok');
      const [a, b] = await Promise.all([ctx.client(), ctx.client()]);
      const { ma } = await pair(a, b, 'A', 'B');
      assert.equal(ma.partnerName, 'B');
      const got = waitFor(b, 'chat-message');
      a.emit('chat-message', { message: 'back' });
      assert.equal((await got).message, 'back');
    });
  }
});
