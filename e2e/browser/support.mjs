// Shared support for the browser tests: the stack every test file runs on,
// Debian's Chromium driven by playwright-core, client builds (cross-origin and
// same-origin), a tiny static server, an RTCPeerConnection probe, the user
// flow, screenshots, and axe-core.
// Every wait has a deadline; nothing sleeps to "let things settle".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { chromium } from 'playwright-core';
import { freePort, repoRoot, run, startRedis, startServer, until } from '../lib/harness.mjs';
import { redisCommand } from '../lib/redis.mjs';

export const clientDir = path.join(repoRoot, 'client');
export const artifactsDir = path.join(repoRoot, 'e2e', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// The machine has no internet: the background-networking flags keep Chromium
// from trying to reach Google's hosts at every start.
export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Deadlines, not expectations: on a quiet machine each takes well under a
// second (media a few), but CI shares two cores with Chromium, the server
// and Redis, and a deadline that only a quiet machine meets is a flake.
export const T = {
  ui: 20_000, // a view appears after a click
  server: 30_000, // the socket connects (start button enabled)
  match: 30_000, // matched after join / next
  media: 60_000, // remote media flows after a match
};

fs.mkdirSync(artifactsDir, { recursive: true });

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); never download a browser`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}


/**
 * Builds the client into a fresh temp dir. backendUrl: the VITE_BACKEND_URL baked
 * in at build time (cross-origin, as deployed on Vercel); undefined → the client
 * talks to its own origin (served by the Go server, STATIC_DIR).
 */
export async function buildClient({ backendUrl } = {}) {
  if (!fs.existsSync(path.join(clientDir, 'package.json'))) throw new Error(`no client at ${clientDir}`);
  if (!fs.existsSync(path.join(clientDir, 'node_modules', '.bin', 'vite'))) {
    const r = await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clientDir, env: process.env });
    if (r.code !== 0) throw new Error(`npm ci in client/ failed (exit ${r.code}):\n${r.out.slice(-3000)}`);
  }
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zivro-client-'));
  const env = { ...process.env };
  delete env.VITE_BACKEND_URL;
  if (backendUrl) env.VITE_BACKEND_URL = backendUrl;
  const vite = path.join(clientDir, 'node_modules', '.bin', 'vite');
  const r = await run(vite, ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: clientDir, env });
  if (r.code !== 0) throw new Error(`vite build failed (exit ${r.code}):\n${r.out.slice(-4000)}`);
  if (!fs.existsSync(path.join(outDir, 'index.html'))) throw new Error(`vite build produced no index.html in ${outDir}`);
  return outDir;
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** A static file server for dir on 127.0.0.1:port, with SPA fallback to index.html. */
export function startStatic(dir, port) {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    let p;
    try {
      p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    let file = path.resolve(root, '.' + p);
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      const idx = path.join(file, 'index.html');
      file = fs.existsSync(idx) ? idx : path.join(root, 'index.html');
    }
    res.writeHead(200, {
      'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
      'Cache-Control': 'no-store',
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({
      port,
      url: `http://127.0.0.1:${port}`,
      stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
    }));
  });
}

/**
 * Waits until the server's Redis shows no queued user and no room (the
 * contract's key names), so that users of one test never meet the next test's.
 */
export async function quiesce(redisPort, timeout = 15_000) {
  let state = '';
  await until(async () => {
    const q = await redisCommand(redisPort, 'LLEN', 'zivro:queue:list');
    const r = await redisCommand(redisPort, 'HLEN', 'zivro:rooms');
    state = `queue ${q}, rooms ${r}`;
    return q === 0 && r === 0;
  }, { timeout, what: () => `server state did not drain (zivro:queue:list / zivro:rooms): ${state}` });
}

/**
 * The stack of a browser test file, started by node:test's before and stopped
 * by its after: a private redis-server (redis: false: none, the server uses
 * its embedded store), the Go server, the client built and served, Chromium.
 * Cross-origin by default, as deployed: the client on its own origin, built
 * against the server's URL, which CLIENT_URL allows. sameOrigin: the client
 * built without a backend URL and served by the server itself (STATIC_DIR).
 * env: more server environment, or an async function of the stack so far
 * (redis, url) returning it, which may first start what it names (coturn, a
 * second origin for CLIENT_URL): node 20 runs a file's before hooks side by
 * side, so a hook of the file's own could not be relied on to come first
 * (after and afterEach hooks do run one by one, in the order registered).
 *
 * Returns the stack, filled in by before: redis, server, url (the origin the
 * pages open), browser, users, and user(name, prefix, opts), a new user that
 * is closed after the test. After each test, with Redis, the server must also
 * drop every user from its queue and rooms, so that no test's users meet the
 * next test's.
 */
// Our client resumes its session after a drop (README, Resuming a
// session): a browser context closed without its page's goodbye leaves the
// session held for the window, in the queue or its room, which quiesce
// would wait for. The stacks' window is short; the resume's own test has
// the default.
const STACK_ENV = { RESUME_WINDOW_MS: '1000' };

export function browserStack({ redis = true, sameOrigin = false, env = {} } = {}) {
  let clientOut;
  let staticSrv;
  const stack = {
    users: [],
    async user(name, prefix, opts = {}) {
      const u = await newUser(stack.browser, { name, prefix, ...opts });
      stack.users.push(u);
      return u;
    },
  };
  const closeUsers = async () => { for (const u of stack.users.splice(0)) await u.close(); };
  const moreEnv = async () => ({ ...STACK_ENV, ...(typeof env === 'function' ? await env(stack) : env) });

  before(async () => {
    if (redis) stack.redis = await startRedis();
    const redisUrl = stack.redis?.url;
    if (sameOrigin) {
      clientOut = await buildClient({});
      stack.server = await startServer({ redisUrl, env: { STATIC_DIR: clientOut, ...(await moreEnv()) } });
      stack.url = stack.server.url;
    } else {
      const port = await freePort();
      stack.url = `http://127.0.0.1:${port}`;
      // the server first (the harness picks its port), then the client built against it
      stack.server = await startServer({ redisUrl, env: { CLIENT_URL: stack.url, ...(await moreEnv()) } });
      clientOut = await buildClient({ backendUrl: stack.server.url });
      staticSrv = await startStatic(clientOut, port);
    }
    stack.browser = await launchBrowser();
  }, { timeout: 240_000 });

  after(async () => {
    await closeUsers();
    if (stack.browser) await stack.browser.close();
    if (staticSrv) await staticSrv.stop();
    if (stack.server) await stack.server.stop().catch(() => {});
    if (stack.redis) await stack.redis.stop();
    if (clientOut) fs.rmSync(clientOut, { recursive: true, force: true });
  });

  afterEach(async () => {
    await closeUsers();
    // every socket is gone: the server must have dropped them from queue and rooms
    if (stack.redis) await quiesce(stack.redis.port);
  });

  return stack;
}

// Injected before any page script: records every RTCPeerConnection and every
// remote track it receives, so that the tests can check nothing stale survives.
export const PC_PROBE = `(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig || Orig.__zivroProbe) return;
  const pcs = [];
  const tracks = [];
  class ProbedRTCPeerConnection extends Orig {
    constructor(...args) {
      super(...args);
      const index = pcs.length;
      pcs.push(this);
      this.addEventListener('track', (e) => tracks.push({ pc: index, track: e.track }));
    }
  }
  ProbedRTCPeerConnection.__zivroProbe = true;
  window.RTCPeerConnection = ProbedRTCPeerConnection;
  if ('webkitRTCPeerConnection' in window) window.webkitRTCPeerConnection = ProbedRTCPeerConnection;
  window.__zivroPCs = pcs;
  window.__zivroTracks = tracks;
})();
(() => {
  // every time a view's root enters the DOM: [{ id, t }] (t = Date.now())
  const watched = ['start-view', 'permission-modal', 'terms-modal', 'queue-view', 'video-chat'];
  const views = (window.__zivroViews = []);
  const sel = watched.map((id) => '[data-testid="' + id + '"]').join(',');
  const note = (el) => views.push({ id: el.getAttribute('data-testid'), t: Date.now() });
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.matches(sel)) note(n);
        n.querySelectorAll(sel).forEach(note);
      }
    }
  }).observe(document, { childList: true, subtree: true });
})();`;

/** True once view id entered the DOM at or after time since (ms since epoch). */
export async function sawViewSince(user, id, since) {
  return user.page.evaluate(([v, t]) => (window.__zivroViews || []).some((e) => e.id === v && e.t >= t), [id, since]);
}

/** Waits until view id entered the DOM at or after since (it may have left again). */
export async function waitSawView(user, id, since, timeout = T.ui) {
  let hist;
  await until(async () => {
    hist = await user.page.evaluate(() => window.__zivroViews || []);
    return hist.some((e) => e.id === id && e.t >= since);
  }, { timeout, what: () => `${user.label}: [data-testid="${id}"] never appeared since the action; views seen: ${JSON.stringify(hist.filter((e) => e.t >= since).map((e) => e.id))}` });
}

/** What the probe saw, plus the remote/local videos' tracks. */
export function peerSnapshot(page) {
  return page.evaluate(() => {
    const pcs = window.__zivroPCs || [];
    const vid = (id) => document.querySelector(`[data-testid="${id}"]`);
    const tracksOf = (v) => (v && v.srcObject && v.srcObject.getTracks
      ? v.srcObject.getTracks().map((t) => ({ id: t.id, kind: t.kind, readyState: t.readyState }))
      : null);
    return {
      pcs: pcs.map((pc, i) => ({
        i,
        connectionState: pc.connectionState,
        signalingState: pc.signalingState,
        iceConnectionState: pc.iceConnectionState,
        receiverTracks: pc.getReceivers().map((r) => r.track && r.track.id).filter(Boolean),
      })),
      received: (window.__zivroTracks || []).map(({ pc, track }) => ({ pc, id: track.id, kind: track.kind, readyState: track.readyState })),
      remote: tracksOf(vid('remote-video')),
      local: tracksOf(vid('local-video')),
    };
  });
}

export const isClosed = (pc) => pc.connectionState === 'closed' || pc.signalingState === 'closed';

/**
 * A user: its own browser context (fake camera + mic, the browser's language
 * locale), a page, console and page-error logs for the failure report.
 */
export async function newUser(browser, { name, label, viewport = { width: 1280, height: 800 }, colorScheme = 'light', locale = 'en-US', prefix, initScripts = [], device = {} }) {
  const context = await browser.newContext({
    viewport,
    colorScheme,
    // The UI follows the browser's language (client/src/i18n): English
    // unless a test asks for another, whatever the machine's locale.
    locale,
    ...device,
    permissions: ['camera', 'microphone'],
    ...device, // e.g. { isMobile: true, hasTouch: true, deviceScaleFactor: 3 }
  });
  await context.addInitScript(PC_PROBE);
  for (const sc of initScripts) await context.addInitScript(sc);
  const page = await context.newPage();
  page.setDefaultTimeout(T.ui);
  const logs = [];
  page.on('console', (m) => logs.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => {
    const url = r.url();
    if (!url.includes('stun.l.google.com')) logs.push(`[requestfailed] ${url} ${r.failure()?.errorText}`);
  });
  const user = {
    name, label: label || name, context, page, logs, prefix,
    tid: (id) => page.getByTestId(id),
    shot: (step) => shot(page, `${prefix}-${step}-${label || name}`),
    close: async () => { try { await context.close(); } catch { /* already closed */ } },
  };
  return user;
}

let shotCount = 0;
/** Saves a full-page PNG in e2e/artifacts/ and returns its path. */
export async function shot(page, name) {
  const file = path.join(artifactsDir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  shotCount += 1;
  // let finite CSS transitions/animations (e.g. a theme switch) finish; spinners are infinite
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'
    || a.effect?.getComputedTiming().iterations === Infinity), null, { timeout: 3_000, polling: 50 }).catch(() => {});
  await page.screenshot({ path: file, fullPage: false, timeout: 15_000 });
  return file;
}

/** Waits until the testid is visible; the error says which user and what. */
export async function visible(user, id, timeout = T.ui) {
  try {
    await user.tid(id).first().waitFor({ state: 'visible', timeout });
  } catch (e) {
    throw new Error(`${user.label}: [data-testid="${id}"] not visible within ${timeout} ms (${firstLine(e)})`);
  }
}

export async function hidden(user, id, timeout = T.ui) {
  try {
    await user.tid(id).first().waitFor({ state: 'hidden', timeout });
  } catch (e) {
    throw new Error(`${user.label}: [data-testid="${id}"] still visible after ${timeout} ms (${firstLine(e)})`);
  }
}

const firstLine = (e) => String(e && e.message).split('\n')[0];

/** Waits for <html class="dark"> to be on (true) or off (false). */
export async function waitTheme(user, dark, timeout = T.ui) {
  try {
    await user.page.waitForFunction((d) => document.documentElement.classList.contains('dark') === d, dark, { timeout });
  } catch {
    const cls = await user.page.evaluate(() => document.documentElement.className);
    throw new Error(`${user.label}: expected <html> ${dark ? 'with' : 'without'} class "dark", got class="${cls}"`);
  }
}

/** Opens the landing page and waits until the start button is enabled (socket connected). */
export async function openLanding(user, url) {
  await user.page.goto(url, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  await visible(user, 'start-view', T.ui);
  try {
    await user.page.waitForFunction(
      () => { const b = document.querySelector('[data-testid="start-button"]'); return b && !b.disabled; },
      null, { timeout: T.server },
    );
  } catch {
    throw new Error(`${user.label}: start-button still disabled after ${T.server} ms (socket never connected?)`);
  }
}

const STEP = ['permission-modal', 'terms-modal', 'queue-view', 'video-chat']
  .map((id) => `[data-testid="${id}"]:visible`).join(', ');

/** The step of the flow on screen after Start: one of STEP's testids. */
async function stepOf(user, after) {
  try {
    const step = user.page.locator(STEP).first();
    await step.waitFor({ state: 'visible', timeout: T.ui });
    return await step.getAttribute('data-testid');
  } catch (e) {
    throw new Error(`${user.label}: no permission modal, terms modal, queue or call ${T.ui} ms after ${after} (${firstLine(e)})`);
  }
}

/**
 * Landing form → permission modal → terms modal → queue (or straight into a
 * call when a partner waits). The app skips the permission modal when the
 * browser already allows the camera (see FIRST_VISIT) and the terms once
 * accepted on the device: each is passed when shown. shots: save a
 * screenshot at every step. Returns the steps shown ({ permission, terms }).
 */
export async function join(user, { gender = 'female', region = 'europe', shots = false } = {}) {
  const { tid } = user;
  await tid('name-input').fill(user.name);
  await tid('gender-select').selectOption(gender);
  await tid('region-select').selectOption(region);
  if (shots) await user.shot('01-landing-filled');
  await tid('start-button').click();
  const shown = { permission: false, terms: false };
  let step = await stepOf(user, 'start-button');
  if (step === 'permission-modal') {
    shown.permission = true;
    if (shots) await user.shot('02-permission-modal');
    await tid('permission-allow').click();
    await hidden(user, 'permission-modal');
    step = await stepOf(user, 'permission-allow');
  }
  if (step !== 'terms-modal') return shown;
  shown.terms = true;
  const acceptDisabled = await tid('terms-accept').isDisabled();
  if (!acceptDisabled) throw new Error(`${user.label}: terms-accept is enabled before terms-checkbox is checked`);
  await tid('terms-checkbox').check();
  try {
    await user.page.waitForFunction(
      () => { const b = document.querySelector('[data-testid="terms-accept"]'); return b && !b.disabled; },
      null, { timeout: T.ui },
    );
  } catch {
    throw new Error(`${user.label}: terms-accept still disabled after checking terms-checkbox`);
  }
  if (shots) await user.shot('03-terms-modal');
  await tid('terms-accept').click();
  // the queue view, or a call right away when a partner was waiting
  try {
    await user.page.locator('[data-testid="queue-view"]:visible, [data-testid="video-chat"]:visible').first()
      .waitFor({ state: 'visible', timeout: T.ui });
  } catch (e) {
    throw new Error(`${user.label}: neither queue-view nor video-chat visible ${T.ui} ms after terms-accept (${firstLine(e)})`);
  }
  if (shots && await tid('queue-view').isVisible()) await user.shot('04-queue');
  return shown;
}

/** Waits for the call view showing the given partner's name. */
export async function waitMatched(user, partnerName, timeout = T.match) {
  await visible(user, 'video-chat', timeout);
  let got;
  await until(async () => {
    got = (await user.tid('partner-name').first().textContent({ timeout: 1000 }))?.trim();
    return partnerName === undefined ? got : got === partnerName;
  }, { timeout: 5_000, what: () => `${user.label}: partner-name expected "${partnerName}", got "${got}"` });
  return got;
}

/** Current partner-name text of a user in a call. */
export async function partnerNameOf(user) {
  return (await user.tid('partner-name').first().textContent({ timeout: 2000 }))?.trim();
}

/**
 * Remote media flows: remote-video has videoWidth > 0 and its currentTime
 * advances; the connecting overlay goes away; connection-state says connected.
 */
export async function waitMediaFlowing(user, timeout = T.media) {
  const { page } = user;
  const deadline = Date.now() + timeout;
  const left = () => Math.max(1000, deadline - Date.now());
  const stateOf = () => page.evaluate(() => {
    const v = document.querySelector('[data-testid="remote-video"]');
    const cs = document.querySelector('[data-testid="connection-state"]');
    return v ? {
      videoWidth: v.videoWidth, currentTime: v.currentTime, readyState: v.readyState, paused: v.paused,
      hasSrc: !!v.srcObject, connectionState: cs && cs.textContent.trim(),
    } : null;
  });
  try {
    await page.waitForFunction(() => {
      const v = document.querySelector('[data-testid="remote-video"]');
      return v && v.videoWidth > 0;
    }, null, { timeout: left(), polling: 100 });
  } catch {
    throw new Error(`${user.label}: remote-video never got videoWidth > 0 within ${timeout} ms; state ${JSON.stringify(await stateOf().catch(() => null))}`);
  }
  const t0 = await page.evaluate(() => document.querySelector('[data-testid="remote-video"]').currentTime);
  try {
    await page.waitForFunction((t) => {
      const v = document.querySelector('[data-testid="remote-video"]');
      return v && v.currentTime > t + 0.3;
    }, t0, { timeout: left(), polling: 100 });
  } catch {
    throw new Error(`${user.label}: remote-video currentTime did not advance past ${t0} + 0.3 s; state ${JSON.stringify(await stateOf().catch(() => null))}`);
  }
  // the remote video shows remote tracks, not the local camera
  const snap = await peerSnapshot(page);
  const localIds = new Set((snap.local || []).map((t) => t.id));
  if ((snap.remote || []).some((t) => localIds.has(t.id))) {
    throw new Error(`${user.label}: remote-video shows the local camera's track(s): ${JSON.stringify(snap)}`);
  }
  // audio flows too: inbound audio bytes grow on an open connection
  let audio;
  try {
    await until(async () => {
      const now = await page.evaluate(async () => {
        let bytes = 0;
        for (const pc of window.__zivroPCs || []) {
          if (pc.connectionState === 'closed') continue;
          const stats = await pc.getStats();
          stats.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') bytes += r.bytesReceived || 0; });
        }
        return bytes;
      });
      const grew = audio !== undefined && now > audio;
      audio = now;
      return grew;
    }, { timeout: Math.min(left(), 15_000), interval: 250, what: () => `${user.label}: no inbound audio flowing (bytesReceived stuck at ${audio})` });
  } catch (e) {
    throw new Error(e.message);
  }
  await hidden(user, 'connecting-overlay', left());
  let cs;
  await until(async () => {
    cs = (await user.tid('connection-state').first().textContent({ timeout: 1000 }))?.trim().toLowerCase();
    return cs === 'connected';
  }, { timeout: Math.min(left(), 10_000), what: () => `${user.label}: connection-state expected "connected", got "${cs}"` });
}

/** Opens the chat panel if it is not open yet. */
export async function openChat(user) {
  if (!(await user.tid('chat-panel').first().isVisible())) {
    await user.tid('chat-toggle').click();
  }
  await visible(user, 'chat-panel');
}

/** Sends a message through the chat input + send button. */
export async function sendChat(user, text) {
  await openChat(user);
  await user.tid('chat-input').fill(text);
  await user.tid('chat-send').click();
}

/** Texts of chat-message elements with data-from = from. */
export function chatTexts(user, from) {
  return user.page.evaluate((f) => [...document.querySelectorAll(`[data-testid="chat-message"][data-from="${f}"]`)]
    .map((e) => e.textContent), from);
}

/** Waits until a chat-message from `from` satisfies pred(text); returns that text. */
export async function waitChat(user, from, pred, what, timeout = T.ui) {
  let texts = [];
  const hit = await until(async () => {
    texts = await chatTexts(user, from);
    return texts.find((t) => pred(t.trim()));
  }, { timeout, what: () => `${user.label}: no chat-message[data-from="${from}"] ${what}; got ${JSON.stringify(texts.map((t) => t.length > 80 ? `${t.slice(0, 40)}…(${t.length} chars)` : t))}` });
  return hit.trim();
}

/**
 * Runs body; on failure saves a screenshot of every open page and appends
 * their paths and the pages' last log lines to the error.
 */
export async function withFailureShots(name, users, diag, body) {
  try {
    return await body();
  } catch (e) {
    const lines = [];
    if (diag) {
      try { lines.push(await diag()); } catch (de) { lines.push(`(diag failed: ${firstLine(de)})`); }
    }
    for (const u of users()) {
      if (!u || u.page.isClosed()) continue;
      try {
        const f = await shot(u.page, `FAIL-${name}-${u.label}`);
        let where = '';
        try {
          where = await u.page.evaluate(() => [...document.querySelectorAll('[data-testid]')]
            .filter((e) => e.offsetParent !== null || e.tagName === 'VIDEO')
            .map((e) => e.getAttribute('data-testid')).join(' '));
        } catch { /* page gone */ }
        lines.push(`  ${u.label}: screenshot ${f}\n    visible testids: ${where}`);
      } catch (se) {
        lines.push(`  ${u.label}: no screenshot (${firstLine(se)})`);
      }
      if (u.logs.length) lines.push(`    last page logs:\n      ${u.logs.slice(-8).join('\n      ')}`);
    }
    e.message += `\n--- at failure:\n${lines.join('\n')}`;
    throw e;
  }
}

/**
 * No stale partner survives a change of partner. inCall: exactly one
 * RTCPeerConnection (the one whose receivers feed remote-video) is open and
 * connected, every other one is closed; remote-video's tracks are all live and
 * all from that connection; every track received on an older connection has
 * ended. Not in a call: every connection is closed.
 */
export async function assertNoStalePeers(user, { inCall, minPcs = 1 }) {
  const snap = await peerSnapshot(user.page);
  const dump = () => JSON.stringify(snap);
  const who = user.label;
  const open = snap.pcs.filter((pc) => !isClosed(pc));
  if (snap.pcs.length < minPcs) {
    throw new Error(`${who}: expected at least ${minPcs} RTCPeerConnection instance(s), the probe saw ${snap.pcs.length}: ${dump()}`);
  }
  if (!inCall) {
    if (open.length !== 0) {
      throw new Error(`${who}: out of a call, expected every RTCPeerConnection closed; still open: #${open.map((p) => `${p.i} (${p.connectionState}/${p.signalingState})`).join(', #')}; ${dump()}`);
    }
    return snap;
  }
  if (!snap.remote || snap.remote.length === 0) throw new Error(`${who}: remote-video has no srcObject tracks: ${dump()}`);
  const remoteIds = new Set(snap.remote.map((t) => t.id));
  const feeding = snap.pcs.filter((pc) => pc.receiverTracks.some((id) => remoteIds.has(id)));
  if (feeding.length !== 1) {
    throw new Error(`${who}: expected exactly one RTCPeerConnection feeding remote-video, got ${feeding.length} (#${feeding.map((p) => p.i).join(', #')}): ${dump()}`);
  }
  const cur = feeding[0];
  if (cur.connectionState !== 'connected') {
    throw new Error(`${who}: the current RTCPeerConnection #${cur.i} is "${cur.connectionState}", expected "connected": ${dump()}`);
  }
  const stale = snap.pcs.filter((pc) => pc.i !== cur.i && !isClosed(pc));
  if (stale.length) {
    throw new Error(`${who}: stale RTCPeerConnection(s) not closed after a change of partner: #${stale.map((p) => `${p.i} (${p.connectionState}/${p.signalingState})`).join(', #')}; current #${cur.i}; ${dump()}`);
  }
  if (open.length > 1) throw new Error(`${who}: ${open.length} RTCPeerConnections open at once: ${dump()}`);
  const notLive = snap.remote.filter((t) => t.readyState !== 'live');
  if (notLive.length) throw new Error(`${who}: remote-video holds non-live track(s) ${JSON.stringify(notLive)}: ${dump()}`);
  const foreign = snap.remote.filter((t) => !cur.receiverTracks.includes(t.id));
  if (foreign.length) throw new Error(`${who}: remote-video holds track(s) not from the current connection #${cur.i}: ${JSON.stringify(foreign)}: ${dump()}`);
  const oldLive = snap.received.filter((t) => t.pc !== cur.i && t.readyState !== 'ended');
  if (oldLive.length) throw new Error(`${who}: track(s) received on an older RTCPeerConnection are still ${oldLive.map((t) => `${t.kind}:${t.readyState}@#${t.pc}`).join(', ')}: ${dump()}`);
  return snap;
}

/**
 * The colour actually painted behind a testid's element: the first opaque
 * background up the tree (up to <html>), as [r, g, b], and its luminance 0..1.
 */
export async function effectiveBackground(user, id) {
  return user.page.evaluate((tid) => {
    let el = document.querySelector(`[data-testid="${tid}"]`);
    while (el) {
      const c = getComputedStyle(el).backgroundColor;
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (m) {
        const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
        if (a >= 0.5) {
          return { rgb: [r, g, b], luminance: (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255, on: el.tagName.toLowerCase() };
        }
      }
      el = el.parentElement;
    }
    return { rgb: [255, 255, 255], luminance: 1, on: 'canvas (nothing painted)' };
  }, id);
}

/** The page behind the view is dark (luminance < 0.3) or light (> 0.7). */
export async function assertPaintedTheme(user, id, dark) {
  const bg = await effectiveBackground(user, id);
  const ok = dark ? bg.luminance < 0.3 : bg.luminance > 0.7;
  if (!ok) {
    throw new Error(`${user.label}: in ${dark ? 'dark' : 'light'} mode the background behind [data-testid="${id}"] is rgb(${bg.rgb.join(', ')}) (luminance ${bg.luminance.toFixed(2)}, painted on <${bg.on}>), expected a ${dark ? 'dark' : 'light'} one`);
  }
}

/**
 * A first visit (init script): with the fake media UI Chromium reports the
 * camera and microphone granted from the start, as to a returning visitor,
 * and the app skips its permission step. This answers "prompt" instead
 * until getUserMedia has once succeeded on the origin (kept in
 * localStorage, as the browser keeps a grant), then the browser's answer.
 */
export const FIRST_VISIT = `(() => {
  const KEY = 'e2e-media-granted';
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => { const s = await gum(c); localStorage.setItem(KEY, '1'); return s; };
  const query = navigator.permissions.query.bind(navigator.permissions);
  navigator.permissions.query = async (d) => {
    if ((d?.name === 'camera' || d?.name === 'microphone') && !localStorage.getItem(KEY)) return { state: 'prompt' };
    return query(d);
  };
})()`;

/** getUserMedia refused, as when a person blocks the camera (init script). */
export const DENY_MEDIA = `(() => {
  if (!navigator.mediaDevices) return;
  navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
})();`;

/**
 * The candidate types of the selected pair of the user's open, connected
 * RTCPeerConnection: { local, remote } (e.g. 'relay', 'host'), or null.
 */
export async function selectedPair(user) {
  return user.page.evaluate(async () => {
    for (const pc of (window.__zivroPCs || []).slice().reverse()) {
      if (pc.connectionState !== 'connected') continue;
      const stats = await pc.getStats();
      const byId = new Map();
      stats.forEach((s) => byId.set(s.id, s));
      let pair;
      stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId); });
      if (!pair) continue;
      return { local: byId.get(pair.localCandidateId)?.candidateType, remote: byId.get(pair.remoteCandidateId)?.candidateType };
    }
    return null;
  });
}

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core on the page as it is: fails on any serious or critical violation. */
export async function axe(u, view) {
  // The settled page, as for a screenshot: a colour caught mid-transition
  // (the start button enabled as the socket connects, a view fading in)
  // is no colour anybody reads.
  await u.page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'
    || a.effect?.getComputedTiming().iterations === Infinity), null, { timeout: 3_000, polling: 50 }).catch(() => {});
  await u.page.evaluate(AXE);
  const violations = await u.page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${u.label}: axe on the ${view} view:\n${JSON.stringify(bad, null, 2)}`);
}
