// Measures what the server's signal delay (SIGNAL_DELAY_MS) costs in time to
// first media: for each delay, two of our clients in Chromium (fake camera)
// are paired CALLS times (B presses Next, the rematch window is short), and
// for each call and each side the time from the call view appearing (matched)
// to the first remote video frame is taken. Prints the medians per delay.
// Not a test: run it by hand, on a quiet machine.
//   cd e2e && node measure/first-media.mjs [delays=0,100,250] [calls=8]
import fs from 'node:fs';
import { freePort, startRedis, startServer } from '../lib/harness.mjs';
import { buildClient, join, launchBrowser, newUser, openLanding, startStatic, visible, waitMatched } from '../browser/support.mjs';

const delays = (process.argv[2] ?? '0,100,250').split(',').map(Number);
const calls = Number(process.argv[3] ?? 8);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** ms from the latest video-chat view to the remote video's first frame. */
async function firstMedia(user, since) {
  await user.page.waitForFunction(() => {
    const v = document.querySelector('[data-testid="remote-video"]');
    if (v && v.videoWidth > 0 && !window.__firstFrameAt) window.__firstFrameAt = Date.now();
    return Boolean(window.__firstFrameAt);
  }, null, { timeout: 60_000, polling: 'raf' });
  return user.page.evaluate((t) => {
    const view = (window.__zivroViews || []).filter((e) => e.id === 'video-chat' && e.t >= t).at(-1);
    const at = window.__firstFrameAt;
    window.__firstFrameAt = 0;
    return at - view.t;
  }, since);
}

const browser = await launchBrowser();
const results = {};
for (const delay of delays) {
  const redis = await startRedis();
  const staticPort = await freePort();
  const server = await startServer({
    redisUrl: redis.url,
    env: { CLIENT_URL: `http://127.0.0.1:${staticPort}`, SIGNAL_DELAY_MS: String(delay), REMATCH_WINDOW_MS: '100' },
  });
  const out = await buildClient({ backendUrl: server.url });
  const site = await startStatic(out, staticPort);
  const a = await newUser(browser, { name: 'Ana', prefix: 'measure' });
  const b = await newUser(browser, { name: 'Bo', prefix: 'measure' });
  const times = [];
  try {
    await Promise.all([openLanding(a, site.url), openLanding(b, site.url)]);
    let since = Date.now();
    await join(a);
    await visible(a, 'queue-view');
    await join(b, { gender: 'male', region: 'asia' });
    for (let i = 0; i < calls; i++) {
      await Promise.all([waitMatched(a, 'Bo', 60_000), waitMatched(b, 'Ana', 60_000)]);
      times.push(...await Promise.all([firstMedia(a, since), firstMedia(b, since)]));
      since = Date.now();
      await b.tid('next-button').click();
      await visible(b, 'queue-view');
    }
  } finally {
    await a.close();
    await b.close();
    await site.stop();
    await server.stop().catch(() => {});
    await redis.stop();
    fs.rmSync(out, { recursive: true, force: true });
  }
  results[delay] = { median: median(times), min: Math.min(...times), max: Math.max(...times), n: times.length };
  console.log(`SIGNAL_DELAY_MS=${delay}: time to first media median ${results[delay].median} ms (min ${results[delay].min}, max ${results[delay].max}, ${times.length} sides)`);
}
await browser.close();
console.log(JSON.stringify(results));
