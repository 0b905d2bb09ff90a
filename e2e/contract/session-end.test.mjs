// Every session ends: clients that connect to the namespace and leave at
// once (a namespace disconnect "41" then a TCP close, or the TCP close
// alone, right after the server's connect reply), hundreds of them, leave
// no socket on the server (/metrics), nobody online (/stats), and none of
// their descriptors open in the server's process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { RawClient, wsUrl } from '../lib/harness.mjs';
import { eachMode, ztest, until } from '../lib/contract.mjs';

const TOKEN = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** GET on a connection of its own, closed after the answer (no keep-alive
 * connection of the test's own among the server's). */
function getOnce(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
  });
}

/** The server process's open descriptors of TCP connections accepted on
 * port (its listener left out). */
function connectionDescriptors(pid, port) {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try { text = fs.readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(local) && f[3] !== '0A') inodes.add(`socket:[${f[9]}]`);
    }
  }
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try { if (inodes.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) n++; } catch { /* closed meanwhile */ }
  }
  return n;
}

async function connectedSockets(url) {
  const r = await getOnce(`${url}/metrics`, { Authorization: `Bearer ${TOKEN}` });
  assert.equal(r.status, 200, `/metrics: ${r.status}`);
  let n = 0;
  for (const line of r.body.split('\n')) {
    if (line.startsWith('zivro_connected_sockets{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

async function online(url) {
  const r = await getOnce(`${url}/stats`);
  assert.equal(r.status, 200, `/stats: ${r.status}`);
  return JSON.parse(r.body).online;
}

/** One raw websocket session: open, connect, then leave as told. */
async function connectThenLeave(url, leave) {
  const c = new RawClient(wsUrl(url));
  await c.handshake();
  if (leave === '41') c.send('41');
  c.terminate(); // the TCP connection closed, no close frame
  await c.closed;
}

eachMode((mode) => {
  ztest(mode, 'clients that connect and leave at once (41 then close, or close) leave no socket, nobody online and no descriptor behind', {
    env: { METRICS_TOKEN: TOKEN, PING_INTERVAL_MS: '1000', PING_TIMEOUT_MS: '1000' },
    timeout: 60000,
  }, async (ctx) => {
    const pid = ctx.server.process.pid;
    const sessions = 400;
    const workers = 8;
    await Promise.all(Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; i < sessions / workers; i++) await connectThenLeave(ctx.url, w % 2 ? '41' : 'close');
    }));
    // /stats may be 2 s old; the heartbeat bound is 2 s here.
    let state;
    await until(async () => {
      state = {
        sockets: await connectedSockets(ctx.url),
        online: await online(ctx.url),
        descriptors: connectionDescriptors(pid, ctx.server.port),
      };
      return state.sockets === 0 && state.online === 0 && state.descriptors === 0;
    }, { timeout: 15000, interval: 100, what: () => `no socket, nobody online, no descriptor after ${sessions} sessions; still ${JSON.stringify(state)}` });
  });
});
