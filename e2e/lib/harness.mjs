// Test harness for the Zivro Go server: builds and starts the binary and a
// private redis-server, and wraps the official socket.io-client with
// deadline-bound helpers. Every wait here has a deadline; nothing sleeps to
// "let things settle".
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { redisPing } from './redis.mjs';

export { redisCommand } from './redis.mjs';

/** Absolute path of the repository root (…/e2e/lib/harness.mjs → …). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The origin the tests use as CLIENT_URL by default. */
export const CLIENT_ORIGIN = 'http://localhost:5173';

// Every child we spawn is killed when this process exits, whatever happens.
const children = new Set();
function killChildren() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { killChildren(); process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)); });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A port that was free a moment ago (the OS picks it). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a command to its end; resolves with its exit code and output. */
export function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
  });
}

function newestGoSource(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || ['node_modules', 'client', 'e2e', 'bin', 'testdata'].includes(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestGoSource(p));
    // Go, and the files the server embeds (Lua scripts, the admin console).
    else if (/\.(go|lua|html|js)$|^go\.(mod|sum)$/.test(e.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

let buildPromise;
/**
 * Builds the server (`go build -o bin/zivro .` in repoRoot) unless ZIVRO_BIN
 * is set; returns the binary's path. Cached per process.
 */
export function buildServer() {
  if (!buildPromise) {
    buildPromise = (async () => {
      if (process.env.ZIVRO_BIN) {
        const bin = path.resolve(process.env.ZIVRO_BIN);
        if (!fs.existsSync(bin)) throw new Error(`ZIVRO_BIN=${bin} does not exist`);
        return bin;
      }
      const bin = path.join(repoRoot, 'bin', 'zivro');
      // Every test file runs in its own process: skip the (slow, on a shared
      // machine) go build when the binary is newer than every Go source.
      if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= newestGoSource(repoRoot)) return bin;
      const { code, out } = await run('go', ['build', '-o', bin, '.'], { cwd: repoRoot, env: process.env });
      if (code !== 0) throw new Error(`go build failed (exit ${code}):\n${out}`);
      return bin;
    })();
  }
  return buildPromise;
}

function waitExit(child, timeout, what) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not exit within ${timeout} ms`)), timeout);
    child.once('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal }); });
  });
}

/**
 * Starts a private, non-persistent redis-server on a free port.
 * Returns { port, url, stop(), restart() } (restart reuses the port).
 */
export async function startRedis() {
  const port = await freePort();
  let child;
  let logs = '';
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const c = child;
    c.on('exit', () => children.delete(c));
    c.stdout.on('data', (d) => { logs += d; });
    c.stderr.on('data', (d) => { logs += d; });
    const spawnErr = new Promise((_, reject) => c.on('error', (e) => {
      if (e.code === 'ENOENT') reject(new Error('redis-server not found in PATH: install it (apt-get install redis-server) to run the Redis-mode tests'));
      else reject(e);
    }));
    spawnErr.catch(() => {});
    const deadline = Date.now() + 10000;
    for (;;) {
      const ok = await Promise.race([redisPing(port), spawnErr]);
      if (ok) return;
      if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}:\n${logs}`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${logs}`);
      await sleep(50);
    }
  };
  await launch();
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await waitExit(child, 5000, 'redis-server');
    // the port must really be closed before we return
    const deadline = Date.now() + 5000;
    while (await redisPing(port, 200)) {
      if (Date.now() > deadline) throw new Error('redis-server still answers after stop');
      await sleep(50);
    }
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    async restart() { await stop(); await launch(); },
    logs: () => logs,
  };
}

/** One HTTP GET with headers; resolves { status, headers, body, json }. */
export async function httpGet(url, headers = {}, timeout = 5000) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeout);
  try {
    const res = await fetch(url, { headers, signal: ac.signal });
    const body = await res.text();
    let json;
    try { json = JSON.parse(body); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, body, json };
  } finally {
    clearTimeout(t);
  }
}

/** Budgets far above what any test uses; a test of a limit sets its own. */
export const TEST_BUDGETS = {
  MAX_CONNS_PER_IP: '100000',
  NEW_CONNS_PER_IP_PER_MINUTE: '1000000',
  COMMANDS_PER_SECOND: '100000',
  MAX_HELD_PER_IP: '100000',
};

/**
 * Starts the server binary on a free port and waits until GET /health is 200.
 * Returns { port, url, stop(), logs(), exitCode, process }. A port taken
 * between freePort and the server's listen (other test processes share the
 * machine) is retried on another port.
 */
export async function startServer(opts = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/bind: address already in use/.test(e.message)) throw e;
    }
  }
}

async function startServerOnce({ redisUrl, env = {}, unsetEnv = [], files = {} } = {}) {
  const bin = await buildServer();
  const port = await freePort();
  const childEnv = {
    ...process.env,
    PORT: String(port),
    NODE_ENV: 'test',
    // JSON lines, as in production: tests read them.
    LOG_FORMAT: 'json',
    CLIENT_URL: CLIENT_ORIGIN,
    // Every test client comes from 127.0.0.1, and many drive the protocol
    // faster than a person: the per-address and per-connection budgets of
    // real users (README, Limits) are lifted unless a test sets them.
    ...TEST_BUDGETS,
    ...env,
  };
  delete childEnv.REDIS_URL;
  if (redisUrl) childEnv.REDIS_URL = redisUrl;
  if (env.REDIS_URL) childEnv.REDIS_URL = env.REDIS_URL;
  for (const k of unsetEnv) delete childEnv[k];
  // a scratch working directory so that a developer's .env is not read;
  // files ({name: content}) are written into it (for example a .env)
  const cwd = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR || '/tmp'), 'zivro-e2e-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(cwd, name)), { recursive: true });
    fs.writeFileSync(path.join(cwd, name), content);
  }
  const child = spawn(bin, [], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let logs = '';
  child.stdout.on('data', (d) => { logs += d; });
  child.stderr.on('data', (d) => { logs += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); }));
  const url = `http://127.0.0.1:${port}`;
  const server = {
    port,
    url,
    cwd,
    process: child,
    exitCode: undefined,
    exitSignal: undefined,
    logs: () => logs,
    exited,
    /** SIGKILL (fast cleanup when shutdown is not under test). */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await waitExit(child, 5000, 'server');
      try { fs.rmSync(cwd, { recursive: true, force: true }); } catch { /* ignore */ }
    },
    /** SIGTERM, wait for exit; exitCode/exitSignal are recorded. */
    async stop(timeout = 10000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let r;
      try {
        r = await waitExit(child, timeout, 'server');
      } catch (e) {
        child.kill('SIGKILL');
        r = await waitExit(child, 5000, 'server');
        server.exitCode = r.code; server.exitSignal = r.signal;
        throw new Error(`${e.message}; killed. Logs:\n${logs.slice(-3000)}`);
      }
      server.exitCode = r.code;
      server.exitSignal = r.signal;
      try { fs.rmSync(cwd, { recursive: true, force: true }); } catch { /* ignore */ }
      return r;
    },
  };
  const deadline = Date.now() + 15000;
  let last = 'no answer';
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited early (code ${child.exitCode}, signal ${child.signalCode}):\n${logs.slice(-3000)}`);
    }
    try {
      const r = await httpGet(`${url}/health`, {}, 1000);
      if (r.status === 200) return server;
      last = `${r.status} ${r.body}`;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server on port ${port} not healthy within 15 s (last: ${last}):\n${logs.slice(-3000)}`);
    }
    await sleep(50);
  }
}

/**
 * io(url) with forceNew and no reconnection, resolved when connected.
 * Sends Origin: CLIENT_ORIGIN by default like the browser client would;
 * opts.connectTimeout is the connect deadline (default 5000 ms).
 */
export function connect(url, opts = {}) {
  const { connectTimeout = 5000, ...rest } = opts;
  const socket = io(url, {
    forceNew: true,
    reconnection: false,
    timeout: connectTimeout,
    extraHeaders: { Origin: CLIENT_ORIGIN },
    ...rest,
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      socket.close();
      reject(new Error(`connect to ${url} timed out after ${connectTimeout} ms`));
    }, connectTimeout + 500);
    socket.once('connect', () => { clearTimeout(t); socket.off('connect_error'); resolve(socket); });
    socket.once('connect_error', (err) => {
      clearTimeout(t);
      socket.close();
      reject(new Error(`connect to ${url} failed: ${err && err.message}`));
    });
  });
}

/**
 * The next `event` on socket whose payload passes filter; rejects at the
 * deadline with a clear message.
 */
export function waitFor(socket, event, { timeout = 5000, filter } = {}) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => {
      const payload = args[0];
      if (filter && !filter(payload)) return;
      clearTimeout(t);
      socket.off(event, handler);
      resolve(payload);
    };
    const t = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`timed out after ${timeout} ms waiting for "${event}" on socket ${socket.id ?? '(no id)'}${filter ? ' (with filter)' : ''}`));
    }, timeout);
    socket.on(event, handler);
  });
}

/**
 * Records every listed event in order as [{event, payload, t}]; the array has
 * a non-enumerable stop() that removes the listeners.
 */
export function collect(socket, events) {
  const log = [];
  const handlers = events.map((event) => {
    const h = (payload) => log.push({ event, payload, t: Date.now() });
    socket.on(event, h);
    return [event, h];
  });
  Object.defineProperty(log, 'stop', {
    value: () => { for (const [e, h] of handlers) socket.off(e, h); },
    enumerable: false,
  });
  return log;
}

/** emit with an ack callback; resolves the ack's first argument (deadline). */
export function emitAck(socket, event, payload, timeout = 3000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ack for "${event}" within ${timeout} ms`)), timeout);
    const cb = (res) => { clearTimeout(t); resolve(res); };
    if (payload === undefined) socket.emit(event, cb);
    else socket.emit(event, payload, cb);
  });
}

/** Closes every given socket (ignores undefined). */
export function closeAll(...sockets) {
  for (const s of sockets.flat()) if (s) s.close();
}

/**
 * A raw Engine.IO v4 websocket client (no socket.io-client), for frames the
 * official client would never send. Pings are NOT answered unless
 * answerPings is true.
 */
export class RawClient {
  constructor(wsUrl, { origin = CLIENT_ORIGIN, answerPings = false } = {}) {
    this.answerPings = answerPings;
    this.ws = new WebSocket(wsUrl, { headers: origin ? { Origin: origin } : {} });
    this.frames = [];
    this.waiters = [];
    this.isClosed = false;
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => { this.isClosed = true; resolve({ code, reason: String(reason) }); this.flush(); });
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (req, res) => reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`)));
    });
    this.opened.catch(() => {});
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const s = String(data);
      if (s === '2' && this.answerPings) { this.ws.send('3'); return; }
      this.frames.push(s);
      this.flush();
    });
  }

  flush() {
    for (const w of [...this.waiters]) {
      const i = this.frames.findIndex(w.pred);
      if (i >= 0) {
        const [f] = this.frames.splice(i, 1);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.t);
        w.resolve(f);
      } else if (this.isClosed) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.t);
        w.reject(new Error(`raw socket closed while waiting for a frame (${w.what})`));
      }
    }
  }

  /** The next received frame satisfying pred (removed from the buffer). */
  next(pred = () => true, { timeout = 5000, what = 'frame' } = {}) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, what };
      w.t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`raw socket: no ${what} within ${timeout} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`));
      }, timeout);
      this.waiters.push(w);
      this.flush();
    });
  }

  send(frame) { this.ws.send(frame); }

  /** Opens, reads the Engine.IO open packet, connects to "/"; returns {open, sid}. */
  async handshake() {
    await this.opened;
    const openFrame = await this.next((f) => f.startsWith('0'), { what: 'open packet' });
    this.open = JSON.parse(openFrame.slice(1));
    this.send('40');
    const con = await this.next((f) => f.startsWith('40'), { what: 'CONNECT reply' });
    this.sid = JSON.parse(con.slice(2)).sid;
    return { open: this.open, sid: this.sid };
  }

  /** Socket.IO EVENT frame: 42["event", ...args] */
  emit(event, ...args) { this.send('42' + JSON.stringify([event, ...args])); }

  close() { try { this.ws.close(); } catch { /* ignore */ } }

  terminate() { try { this.ws.terminate(); } catch { /* ignore */ } }
}

/** ws:// URL of the Engine.IO websocket endpoint of a server url. */
export function wsUrl(url) {
  return url.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
}

/**
 * Polls fn() until it returns a truthy value, for state that can only be
 * observed by asking; throws at the deadline, naming what was awaited (`what`:
 * a string, or a function of the last value seen) and the last value or error.
 */
export async function until(fn, { timeout = 5000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'function' ? what(last) : what;
      const detail = last instanceof Error ? `last error: ${last.message}` : `last: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${name} (${detail})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
