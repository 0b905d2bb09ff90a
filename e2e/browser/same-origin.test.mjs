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

test('same origin: the app files answer as themselves with their content types, the routes as the app', { timeout: 60_000 }, async () => {
  const files = [
    ['/manifest.webmanifest', 'application/manifest+json', (b) => JSON.parse(b.toString()).short_name === 'Zivro'],
    ['/favicon.ico', 'image/x-icon', (b) => b.readUInt32LE(0) === 0x00010000],
    ['/favicon.svg', 'image/svg+xml', (b) => b.toString().startsWith('<svg')],
    ['/robots.txt', 'text/plain; charset=utf-8', (b) => b.toString().includes('User-agent:')],
    ['/icon-192.png', 'image/png', pngOf(192)],
    ['/icon-512.png', 'image/png', pngOf(512)],
    ['/icon-maskable-512.png', 'image/png', pngOf(512)],
    ['/og-image.png', 'image/png', pngOf(1200)],
    ['/terms', 'text/html; charset=utf-8', (b) => b.toString().includes('<div id="root">')],
    ['/privacy', 'text/html; charset=utf-8', (b) => b.toString().includes('<div id="root">')],
  ];
  for (const [p, type, check] of files) {
    const res = await fetch(stack.url + p);
    assert.equal(res.status, 200, p);
    assert.equal(res.headers.get('content-type')?.toLowerCase(), type, `${p}: content type`);
    assert.ok(check(Buffer.from(await res.arrayBuffer())), `${p}: not its content`);
  }
  const manifest = await (await fetch(stack.url + '/manifest.webmanifest')).json();
  for (const field of ['name', 'short_name', 'start_url', 'theme_color', 'background_color']) {
    assert.ok(manifest[field], `manifest: no ${field}`);
  }
  assert.equal(manifest.display, 'standalone');
  const sizes = manifest.icons.map((i) => `${i.sizes} ${i.purpose ?? 'any'}`);
  for (const want of ['192x192 any', '512x512 any', '512x512 maskable']) assert.ok(sizes.includes(want), `manifest icons: no ${want}`);
  const page = await (await fetch(stack.url + '/')).text();
  for (const tag of ['og:title', 'og:description', 'og:image', 'twitter:card', 'twitter:image', 'rel="manifest"', '<html lang="en">']) {
    assert.ok(page.includes(tag), `index.html: no ${tag}`);
  }
});

// A PNG whose IHDR says it is width pixels wide.
const pngOf = (width) => (b) => b.subarray(1, 4).toString() === 'PNG' && b.readUInt32BE(16) === width;

async function diag() {
  const { server } = stack;
  const st = server?.process;
  return `  server ${server?.url}: exitCode ${st?.exitCode} signal ${st?.signalCode}\n  server logs (tail):\n    ${(server?.logs() || '').trim().split('\n').slice(-12).join('\n    ')}`;
}
