// Browser test, same-origin mode: the client built without VITE_BACKEND_URL and
// served by the Go server itself (STATIC_DIR); the page opens the server's URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoStalePeers, browserStack, join, openLanding, sendChat, visible,
  waitChat, waitMatched, waitMediaFlowing, withFailureShots,
} from './support.mjs';

const stack = browserStack({ sameOrigin: true });
const { user, users } = stack;

test('same origin: the Go server serves the client; match, media both ways, chat both ways, end call', { timeout: 150_000 }, async () => {
  const p = 'sameorigin';
  const a = await user('Alice', p);
  const b = await user('Bob', p);
  // which origins the pages' Socket.IO traffic goes to
  const sioUrls = [];
  for (const u of users) {
    u.page.on('request', (r) => { if (r.url().includes('/socket.io/')) sioUrls.push(r.url()); });
    u.page.on('websocket', (ws) => { if (ws.url().includes('/socket.io/')) sioUrls.push(ws.url()); });
  }
  await withFailureShots(p, () => users, diag, async () => {
    await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
    await a.shot('00-landing');
    await join(a, { gender: 'female', region: 'south-america' });
    await visible(a, 'queue-view');
    await join(b, { gender: 'male', region: 'north-america' });
    await Promise.all([waitMatched(a, 'Bob'), waitMatched(b, 'Alice')]);
    await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b)]);
    await a.shot('01-call');
    await assertNoStalePeers(a, { inCall: true });
    await assertNoStalePeers(b, { inCall: true });

    await sendChat(a, 'same origin hello');
    await waitChat(b, 'partner', (t) => t === 'same origin hello', 'with "same origin hello"');
    await sendChat(b, 'same origin reply');
    await waitChat(a, 'partner', (t) => t === 'same origin reply', 'with "same origin reply"');
    await b.shot('02-chat');

    const host = new URL(stack.url).host;
    assert.ok(sioUrls.length > 0, 'the pages made no Socket.IO request');
    const foreign = sioUrls.filter((u) => new URL(u).host !== host);
    assert.deepEqual(foreign, [], `Socket.IO traffic went to another origin than the page's (${host})`);

    await b.tid('end-call').click();
    await visible(b, 'start-view');
    await visible(a, 'queue-view');
    await a.shot('03-partner-queue');
    await assertNoStalePeers(a, { inCall: false });
  });
});

async function diag() {
  const { server } = stack;
  const st = server?.process;
  return `  server ${server?.url}: exitCode ${st?.exitCode} signal ${st?.signalCode}\n  server logs (tail):\n    ${(server?.logs() || '').trim().split('\n').slice(-12).join('\n    ')}`;
}
