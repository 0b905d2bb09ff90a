// Resuming a session in the browser (README, "Resuming a session"): two of
// our clients in a call; one goes offline for 3 s and comes back, or the
// instance they are on is restarted (taken out of rotation, SIGTERM): the
// call goes on with the same partner, no notice, chat both ways, the remote
// video still playing. The clients reach the servers through a small TCP
// proxy (the load balancer), and the heartbeat is short, so that 3 s
// offline is a drop the server sees (a browser holds an open websocket's
// frames while offline rather than closing it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { freePort, startRedis, startServer, until } from '../lib/harness.mjs';
import { startProxy } from '../lib/proxy.mjs';
import {
  T, buildClient, hidden, join, launchBrowser, newUser, openLanding, partnerNameOf, sendChat, startStatic,
  visible, waitChat, waitMatched, waitMediaFlowing, withFailureShots,
} from './support.mjs';

const HEARTBEAT = { PING_INTERVAL_MS: '1000', PING_TIMEOUT_MS: '1000' };

const stack = { users: [] };

before(async () => {
  stack.redis = await startRedis();
  const port = await freePort();
  stack.url = `http://127.0.0.1:${port}`;
  const env = { CLIENT_URL: stack.url, ...HEARTBEAT };
  stack.servers = [
    await startServer({ redisUrl: stack.redis.url, env }),
    await startServer({ redisUrl: stack.redis.url, env }),
  ];
  stack.proxy = await startProxy(stack.servers[0].port);
  stack.clientOut = await buildClient({ backendUrl: stack.proxy.url });
  stack.static = await startStatic(stack.clientOut, port);
  stack.browser = await launchBrowser();
}, { timeout: 240_000 });

after(async () => {
  for (const u of stack.users) await u.close();
  if (stack.browser) await stack.browser.close();
  if (stack.static) await stack.static.stop();
  if (stack.proxy) await stack.proxy.close();
  for (const s of stack.servers ?? []) await s.kill();
  if (stack.redis) await stack.redis.stop();
  if (stack.clientOut) fs.rmSync(stack.clientOut, { recursive: true, force: true });
});

async function user(name, prefix) {
  const u = await newUser(stack.browser, { name, prefix });
  stack.users.push(u);
  return u;
}

const resumedIn = (server) => server.logs().split('\n').filter((l) => l.includes('"session resumed"')).length;

async function pair(a, b) {
  await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
  await join(a, { gender: 'female', region: 'europe' });
  await visible(a, 'queue-view');
  await join(b, { gender: 'male', region: 'asia' });
  await Promise.all([waitMatched(a, b.name), waitMatched(b, a.name)]);
  await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b)]);
}

// The call is the same: same partner, no notice, the call view never left,
// chat both ways, the remote video playing on both sides.
async function assertSameCall(a, b, tag) {
  for (const [u, partner] of [[a, b], [b, a]]) {
    assert.equal(await partnerNameOf(u), partner.name, `${u.name}: same partner after ${tag}`);
    assert.equal(await u.tid('notice').count(), 0, `${u.name}: no notice after ${tag}`);
    assert.equal(await u.tid('resume-lost-notice').count(), 0, `${u.name}: the session was not lost`);
    assert.equal(await u.tid('queue-view').isVisible(), false, `${u.name}: never back in the queue`);
  }
  await sendChat(a, `after ${tag}, from ${a.name}`);
  await waitChat(b, 'partner', (t) => t === `after ${tag}, from ${a.name}`, `with "${tag}" from ${a.name}`);
  await sendChat(b, `after ${tag}, from ${b.name}`);
  await waitChat(a, 'partner', (t) => t === `after ${tag}, from ${b.name}`, `with "${tag}" from ${b.name}`);
  await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b)]);
}

test('one side offline for 3 s: "Reconnecting…" meanwhile, then the same call (same partner, no notice, chat both ways, video playing); chat typed offline is delivered', { timeout: 180_000 }, async () => {
  const p = 'resume-offline';
  const a = await user('Alice', p);
  const b = await user('Bob', p);
  await withFailureShots(p, () => stack.users, () => `server logs tail: ${stack.servers.map((s) => s.logs().slice(-1500)).join('\n---\n')}`, async () => {
    await pair(a, b);
    const before = resumedIn(stack.servers[0]);
    await a.context.setOffline(true);
    await visible(a, 'reconnecting', 10_000);
    await a.shot('01-reconnecting');
    await sendChat(a, 'typed while offline');
    // 3 s offline: past the server's 2 s heartbeat, so its side dropped too.
    await new Promise((r) => setTimeout(r, 3000)); // the offline span itself, not a wait for an event
    await a.context.setOffline(false);
    await hidden(a, 'reconnecting', T.server);
    await until(() => resumedIn(stack.servers[0]) > before, { timeout: 10_000, what: 'the server resumed the session' });
    await waitChat(b, 'partner', (t) => t === 'typed while offline', 'with the message typed offline');
    await assertSameCall(a, b, 'offline');
    await a.shot('02-resumed');
  });
  for (const u of stack.users.splice(0)) await u.close();
});

test('a rolling restart of the instance both are on: the same call on the other instance, nobody told anything', { timeout: 180_000 }, async () => {
  const p = 'resume-restart';
  const a = await user('Carol', p);
  const b = await user('Dave', p);
  await withFailureShots(p, () => stack.users, () => `server logs tail: ${stack.servers.map((s) => s.logs().slice(-1500)).join('\n---\n')}`, async () => {
    stack.proxy.retarget(stack.servers[0].port);
    await pair(a, b);
    const [old, next] = stack.servers;
    const before = resumedIn(next);
    stack.proxy.retarget(next.port);
    await old.stop();
    await until(() => resumedIn(next) >= before + 2, { timeout: 20_000, what: 'both sessions resumed on the other instance' });
    await Promise.all([hidden(a, 'reconnecting', T.server), hidden(b, 'reconnecting', T.server)]);
    await assertSameCall(a, b, 'the restart');
  });
});
