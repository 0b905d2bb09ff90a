// Hostile internet (issue 23, points 1, 7 and 8), from outside the process:
// every spelling of a handshake counts against MAX_CONNS_PER_IP and is
// refused during a drain; weak secrets stop the server at start and wrong
// bearer tokens have a per-address budget; /health costs the store at most
// a PING a second; a client's text reaches a log line cut; the request head
// limit is exact; ids say nothing about the instance.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  CLIENT_ORIGIN, RawClient, wsUrl, buildServer, freePort, httpGet, redisCommand, TEST_BUDGETS,
} from '../lib/harness.mjs';
import { MODES, ztest, until } from '../lib/contract.mjs';

const [EMBEDDED, REDIS] = MODES;

/** The spellings of a handshake that the engine opens a session for. */
const SPELLINGS = [
  { name: '&sid', query: '&sid' },
  { name: '&sid=', query: '&sid=' },
  { name: '&sid=&sid=x', query: '&sid=&sid=x' },
];

/** GET on a connection of its own: { status, headers, body }. */
function getOnce(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.slice(0, 200)}: timeout`)));
    req.on('error', reject);
  });
}

/** A polling handshake (an Engine.IO GET that never connects to a namespace). */
function pollHandshake(url, extraQuery) {
  return getOnce(`${url}/socket.io/?EIO=4&transport=polling${extraQuery}`, { Origin: CLIENT_ORIGIN });
}

/**
 * A websocket handshake with extraQuery: resolves { status: 101, ws, open }
 * once the Engine.IO open packet arrives (the socket is left open), or
 * { status, headers } of a refused upgrade.
 */
function wsHandshake(url, extraQuery) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url) + extraQuery, { headers: { Origin: CLIENT_ORIGIN } });
    const t = setTimeout(() => { ws.terminate(); reject(new Error(`websocket ${extraQuery}: no open packet nor refusal within 5 s`)); }, 5000);
    ws.on('error', () => {});
    ws.once('unexpected-response', (req, res) => {
      clearTimeout(t);
      res.resume();
      resolve({ status: res.statusCode, headers: res.headers });
      req.destroy();
    });
    ws.once('message', (data) => {
      clearTimeout(t);
      const s = String(data);
      if (!s.startsWith('0{')) { ws.terminate(); reject(new Error(`websocket ${extraQuery}: first frame ${s.slice(0, 100)}`)); return; }
      resolve({ status: 101, ws, open: JSON.parse(s.slice(1)) });
    });
    ws.once('close', () => { clearTimeout(t); resolve({ status: 'closed' }); });
  });
}

// ---------------------------------------------------------------- point 1

describe('[embedded store] point 1: every spelling of a handshake is counted against MAX_CONNS_PER_IP', () => {
  const cap = { MAX_CONNS_PER_IP: '3' };
  for (const sp of SPELLINGS) {
    ztest(EMBEDDED, `websocket ${sp.name}: three held, the fourth (and a plain one) get 429`, { env: cap }, async (ctx) => {
      const held = [];
      try {
        for (let i = 0; i < 3; i++) {
          const r = await wsHandshake(ctx.url, sp.query);
          assert.equal(r.status, 101, `websocket ${sp.name} #${i + 1} under the cap: ${JSON.stringify(r.status)}`);
          held.push(r.ws);
        }
        const over = await wsHandshake(ctx.url, sp.query);
        if (over.ws) held.push(over.ws);
        assert.equal(over.status, 429, `a fourth websocket ${sp.name} from one address with MAX_CONNS_PER_IP=3`);
        assert.ok(over.headers['retry-after'], '429 without Retry-After');
        const plain = await wsHandshake(ctx.url, '');
        if (plain.ws) held.push(plain.ws);
        assert.equal(plain.status, 429, `a plain websocket after three ${sp.name}`);
      } finally {
        for (const ws of held) ws.terminate();
      }
    });

    ztest(EMBEDDED, `polling ${sp.name}: three handshakes that never connect, the fourth (and a plain one) get 429`, { env: cap }, async (ctx) => {
      for (let i = 0; i < 3; i++) {
        const r = await pollHandshake(ctx.url, sp.query);
        assert.equal(r.status, 200, `polling ${sp.name} #${i + 1} under the cap: ${r.status} ${r.body.slice(0, 200)}`);
        assert.match(r.body, /^0\{.*"sid":"/, `polling ${sp.name} #${i + 1}: an open packet`);
      }
      const over = await pollHandshake(ctx.url, sp.query);
      assert.equal(over.status, 429, `a fourth polling ${sp.name} from one address with MAX_CONNS_PER_IP=3: ${over.body.slice(0, 200)}`);
      assert.ok(over.headers['retry-after'], '429 without Retry-After');
      const plain = await pollHandshake(ctx.url, '');
      assert.equal(plain.status, 429, `a plain polling handshake after three ${sp.name}`);
    });
  }
});

describe('[redis store] point 1: during a drain every spelling of a handshake gets 503', () => {
  // The drain lasts while the instance retires itself from the store: with
  // Redis's clients paused, that is the store's operation bound (seconds),
  // long enough to try each spelling once the drain is seen.
  ztest(REDIS, 'SIGTERM with the store paused: plain, &sid, &sid= and &sid=&sid=x handshakes (polling and websocket) get 503 with Retry-After', { timeout: 30000 }, async (ctx) => {
    const port = ctx.redis.port;
    await redisCommand(port, 'CLIENT', 'PAUSE', '8000', 'ALL');
    try {
      ctx.server.process.kill('SIGTERM');
      await until(async () => (await pollHandshake(ctx.url, '')).status === 503, { timeout: 5000, interval: 20, what: 'a plain handshake refused with 503 after SIGTERM' });
      for (const sp of [{ name: 'plain', query: '' }, ...SPELLINGS]) {
        const p = await pollHandshake(ctx.url, sp.query);
        assert.equal(p.status, 503, `polling ${sp.name} during the drain: ${p.status} ${p.body.slice(0, 200)}`);
        assert.ok(p.headers['retry-after'], `polling ${sp.name}: 503 without Retry-After`);
        const w = await wsHandshake(ctx.url, sp.query);
        if (w.ws) w.ws.terminate();
        assert.equal(w.status, 503, `websocket ${sp.name} during the drain`);
        assert.ok(w.headers['retry-after'], `websocket ${sp.name}: 503 without Retry-After`);
      }
    } finally {
      await redisCommand(port, 'CLIENT', 'UNPAUSE').catch(() => {});
    }
  });
});

// ---------------------------------------------------------------- point 7

/** Hex of n random bytes: a strong secret. */
const strong = (n = 32) => crypto.randomBytes(n).toString('hex');

/**
 * Runs the binary with env until it exits or answers /health: resolves
 * { started, code, stdout, stderr }. A server that starts is killed. A port
 * taken by another process before the server's listen is retried.
 */
async function startOrRefuse(env) {
  for (let attempt = 1; ; attempt++) {
    const r = await startOrRefuseOnce(env);
    if (attempt >= 3 || !/bind: address already in use/.test(r.stderr)) return r;
  }
}

async function startOrRefuseOnce(env) {
  const bin = await buildServer();
  const port = await freePort();
  const cwd = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR || '/tmp'), 'zivro-e2e-'));
  const childEnv = { ...process.env, PORT: String(port), NODE_ENV: 'test', LOG_FORMAT: 'json', CLIENT_URL: CLIENT_ORIGIN, ...TEST_BUDGETS, ...env };
  delete childEnv.REDIS_URL;
  const child = spawn(bin, [], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const outcome = await until(async () => {
      if (child.exitCode !== null) return { started: false };
      try {
        if ((await httpGet(`http://127.0.0.1:${port}/health`, {}, 500)).status === 200) return { started: true };
      } catch { /* not yet listening */ }
      return false;
    }, { timeout: 10000, interval: 30, what: 'the server to exit or answer /health' });
    if (outcome.started) child.kill('SIGKILL');
    const code = await exited;
    return { ...outcome, code, stdout, stderr };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

describe('point 7: weak secrets refused at start', () => {
  // TURN_URLS is set with TURN_SECRET (and only with it: alone it is a
  // fault of its own) so that the only fault is the secret's weakness.
  const base = (name) => (name === 'TURN_SECRET' ? { TURN_URLS: 'turn:127.0.0.1:3478' } : {});
  const cases = [
    { name: 'TURN_SECRET', value: 'zq9', why: 'short' },
    { name: 'TURN_SECRET', value: 'k3Jx9qLm2Pz'.repeat(4).slice(0, 40), why: 'a random string repeated' },
    { name: 'METRICS_TOKEN', value: 'qZ', why: 'short' },
    { name: 'METRICS_TOKEN', value: 'password'.repeat(5), why: 'a word repeated' },
    { name: 'ADDRESS_HASH_KEY', value: 'zq9', why: 'short' },
    { name: 'ADDRESS_HASH_KEY', value: 'x'.repeat(64), why: 'one character repeated' },
  ];
  for (const c of cases) {
    test(`${c.name} ${c.why} (${c.value.length} characters): exit non-zero, stderr names the variable, never the value`, { timeout: 15000 }, async () => {
      const r = await startOrRefuse({ ...base(c.name), [c.name]: c.value });
      assert.equal(r.started, false, `the server started with ${c.name} ${c.why}`);
      assert.notEqual(r.code, 0, 'exit code');
      assert.match(r.stderr, new RegExp(c.name), `stderr does not name ${c.name}: ${r.stderr}`);
      assert.ok(!r.stderr.includes(c.value) && !r.stdout.includes(c.value), `the value appears in the output: ${r.stderr}${r.stdout}`);
    });
  }

  test('the same variables with strong values: the server starts', { timeout: 15000 }, async () => {
    const r = await startOrRefuse({ ...base('TURN_SECRET'), TURN_SECRET: strong(), METRICS_TOKEN: strong(), ADDRESS_HASH_KEY: strong() });
    assert.equal(r.started, true, `refused strong secrets (exit ${r.code}): ${r.stderr}`);
  });
});

describe('[embedded store] point 7: a budget of wrong /metrics tokens per address', () => {
  const TOKEN = strong();
  // 127.0.0.1 is a trusted proxy: X-Forwarded-For gives each request the
  // address the test chooses.
  ztest(EMBEDDED, '10 wrong tokens → 401, then 429 with Retry-After even with the right token; another address still gets 200', {
    env: { METRICS_TOKEN: TOKEN, TRUSTED_PROXIES: '127.0.0.1' },
  }, async (ctx) => {
    const metrics = (addr, token) => getOnce(`${ctx.url}/metrics`, { 'X-Forwarded-For': addr, Authorization: `Bearer ${token}` });
    const attacker = '198.51.100.7';
    for (let i = 1; i <= 10; i++) {
      const r = await metrics(attacker, `wrong-${i}-${strong(8)}`);
      assert.equal(r.status, 401, `wrong token #${i}`);
    }
    const over = await metrics(attacker, `wrong-11-${strong(8)}`);
    assert.equal(over.status, 429, 'wrong token #11');
    assert.match(String(over.headers['retry-after']), /^[1-9][0-9]*$/, `Retry-After: ${over.headers['retry-after']}`);
    const right = await metrics(attacker, TOKEN);
    assert.equal(right.status, 429, 'the right token from an address over its budget');
    assert.match(String(right.headers['retry-after']), /^[1-9][0-9]*$/, `Retry-After: ${right.headers['retry-after']}`);
    const other = await metrics('198.51.100.8', TOKEN);
    assert.equal(other.status, 200, 'the right token from another address');
    assert.match(other.body, /zivro_/, 'another address: not the metrics');
  });
});

// ---------------------------------------------------------------- point 8

/** calls of PING so far (INFO commandstats), 0 before the first. */
async function pingCalls(port) {
  const info = await redisCommand(port, 'INFO', 'commandstats');
  const m = /cmdstat_ping:calls=(\d+)/.exec(info);
  return m ? Number(m[1]) : 0;
}

describe('[redis store] point 8: /health costs at most one store PING a second', () => {
  ztest(REDIS, '200 concurrent /health requests, twice: PINGs ≤ one a second plus the relay subscription\'s health check', { timeout: 30000 }, async (ctx) => {
    const port = ctx.redis.port;
    const before = await pingCalls(port);
    const t0 = Date.now();
    for (let wave = 0; wave < 2; wave++) {
      const rs = await Promise.all(Array.from({ length: 200 }, () => getOnce(`${ctx.url}/health`)));
      for (const r of rs) assert.equal(r.status, 200, `/health: ${r.status} ${r.body}`);
    }
    const after = await pingCalls(port);
    const seconds = (Date.now() - t0) / 1000;
    // The other PINGs: go-redis's health check of the relay's (sharded)
    // subscription, one every 3 s while it is idle (pubsub.go,
    // checkInterval). Nothing else in the server sends PING.
    const allowed = (Math.floor(seconds) + 1) + (Math.floor(seconds / 3) + 1);
    assert.ok(after - before <= allowed,
      `${after - before} PINGs for 400 /health requests in ${seconds.toFixed(2)} s; at most ${allowed} expected`);
  });
});

/** JSON log lines of the server's output. */
function logLines(server) {
  return server.logs().split('\n').filter((l) => l.length > 0);
}

describe('[embedded store] point 8: a client\'s text reaches a log line cut to 64 bytes', () => {
  ztest(EMBEDDED, 'a 30 KB unknown event name and a 15 KB path: no log line over 1 KB, nothing beyond the first 64 bytes logged', async (ctx) => {
    const eventMark = `CHATTEXT${strong(4)}`;
    const eventName = 'e'.repeat(64) + (eventMark + ' hello 203.0.113.9 ').repeat(1200).slice(0, 30 * 1024 - 64);
    const pathMark = `PATHTEXT${strong(4)}`;
    const longPath = '/' + 'p'.repeat(63) + (pathMark + '-').repeat(1000).slice(0, 15 * 1024 - 64);

    const c = await ctx.raw();
    c.send(`420${JSON.stringify([eventName])}`);
    const ack = await c.next((f) => f.startsWith('430'), { what: 'the unknown event\'s ack' });
    assert.match(ack, /"ok":false/, `ack ${ack.slice(0, 200)}`);
    await until(() => logLines(ctx.server).some((l) => l.includes('"msg":"input refused"')), { what: 'the "input refused" log line' });

    const r = await getOnce(`${ctx.url}${longPath}`);
    assert.ok(r.status >= 200 && r.status < 500, `GET of a 15 KB path: ${r.status}`);
    await until(() => logLines(ctx.server).some((l) => l.includes('"msg":"http"') && l.includes('ppp')), { what: 'the "http" log line of the long path' });

    const lines = logLines(ctx.server);
    const long = lines.filter((l) => Buffer.byteLength(l) > 1024);
    assert.deepEqual(long.map((l) => `${Buffer.byteLength(l)} bytes: ${l.slice(0, 200)}`), [], 'log lines over 1 KB');
    assert.ok(!ctx.server.logs().includes(eventMark), 'the event name beyond 64 bytes reached the log');
    assert.ok(!ctx.server.logs().includes(pathMark), 'the path beyond 64 bytes reached the log');
  });
});

/**
 * Sends a GET /health whose request line and headers (their line ends and
 * the blank line included) are exactly size bytes; resolves the status.
 */
function headStatus(port, size) {
  let head = 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: \r\n\r\n';
  head = head.replace('X-Pad: ', 'X-Pad: ' + 'p'.repeat(size - head.length));
  assert.equal(Buffer.byteLength(head), size);
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`head of ${size} bytes: no status line within 5 s (${JSON.stringify(got.slice(0, 100))})`)); }, 5000);
    s.on('error', (e) => { if (!/^HTTP\/1\.1 \d{3}/.test(got)) { clearTimeout(t); reject(e); } });
    s.on('connect', () => s.write(head));
    s.on('data', (d) => {
      got += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) { clearTimeout(t); s.destroy(); resolve(Number(m[1])); }
    });
  });
}

describe('[embedded store] point 8: request line and headers', () => {
  ztest(EMBEDDED, 'exactly 16,384 bytes get through, 16,385 and 20,480 get 431', async (ctx) => {
    assert.equal(await headStatus(ctx.server.port, 16383), 200, '16,383 bytes');
    assert.equal(await headStatus(ctx.server.port, 16384), 200, '16,384 bytes');
    assert.equal(await headStatus(ctx.server.port, 16385), 431, '16,385 bytes');
    assert.equal(await headStatus(ctx.server.port, 20480), 431, '20,480 bytes');
  });
});

describe('[embedded store] point 8: ids share no counter', () => {
  ztest(EMBEDDED, 'the engine sids and socket ids of 50 connections end in 8 bytes far apart from each other', async (ctx) => {
    const tails = [];
    for (let i = 0; i < 50; i++) {
      const c = new RawClient(wsUrl(ctx.url));
      try {
        const { open, sid } = await c.handshake();
        for (const [what, id] of [['engine sid', open.sid], ['socket id', sid]]) {
          const raw = Buffer.from(id, 'base64url');
          assert.equal(raw.length, 18, `${what} ${id}: ${raw.length} bytes`);
          tails.push({ what, id, n: raw.readBigUInt64BE(10) });
        }
      } finally {
        c.terminate();
      }
    }
    tails.sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
    // 100 random 64-bit values: two within 2^32 of each other happen once
    // in about 400,000 runs; a counter puts them a few apart.
    const close = [];
    for (let i = 1; i < tails.length; i++) {
      if (tails[i].n - tails[i - 1].n < 2n ** 32n) close.push(`${tails[i - 1].what} ${tails[i - 1].id} and ${tails[i].what} ${tails[i].id}: ${tails[i].n - tails[i - 1].n} apart`);
    }
    assert.deepEqual(close.slice(0, 5), [], `ids whose last 8 bytes are close (${close.length} pairs)`);
  });
});
