// GET /stats: the public counts { online, waiting, inCall } follow what users
// do, with the CORS of every HTTP route. The server keeps the figures for up
// to two seconds (its caching is tested in handler/web/stats_test.go), so each
// step polls until they catch up.
import assert from 'node:assert/strict';
import { httpGet, waitFor, emitAck, CLIENT_ORIGIN } from '../lib/harness.mjs';
import { eachMode, ztest, pair, join, assertAccepted, until } from '../lib/contract.mjs';

async function statsBecome(url, want, what) {
  return until(async () => {
    const r = await httpGet(`${url}/stats`, { Origin: CLIENT_ORIGIN });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(Object.keys(r.json).sort(), ['inCall', 'online', 'waiting'], r.body);
    return JSON.stringify(r.json) === JSON.stringify(want) ? r : null;
  }, { timeout: 10000, interval: 200, what: `${what}: /stats = ${JSON.stringify(want)}` });
}

eachMode((mode) => {
  ztest(mode, 'GET /stats counts who is online, waiting and in a call', async (ctx) => {
    const first = await statsBecome(ctx.url, { online: 0, waiting: 0, inCall: 0 }, 'nobody');
    assert.equal(first.headers.get('access-control-allow-origin'), CLIENT_ORIGIN);
    assert.match(first.headers.get('content-type') || '', /application\/json/);

    const [a, b, c] = [await ctx.client(), await ctx.client(), await ctx.client()];
    await statsBecome(ctx.url, { online: 3, waiting: 0, inCall: 0 }, 'three connected');
    await pair(a, b);
    assertAccepted(await join(c, 'Carol'));
    await statsBecome(ctx.url, { online: 3, waiting: 1, inCall: 2 }, 'a pair and one waiting');

    assertAccepted(await emitAck(c, 'leave-queue'));
    await statsBecome(ctx.url, { online: 3, waiting: 0, inCall: 2 }, 'the waiting one left');

    const left = waitFor(b, 'partner-left');
    a.close();
    await left;
    await statsBecome(ctx.url, { online: 2, waiting: 1, inCall: 0 }, 'a disconnected, b requeued');
  });

  ztest(mode, 'GET /stats: another origin gets no Access-Control-Allow-Origin', async (ctx) => {
    const r = await httpGet(`${ctx.url}/stats`, { Origin: 'http://evil.test' });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });
});
