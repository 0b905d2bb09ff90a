// Transport limits (issue 9): what one connection can make the server hold.
// Each test plays the attack with raw HTTP or raw Engine.IO frames and
// asserts what the attacker sees: a refusal status, or its connection
// closed. The limits do not depend on the store, so the embedded store
// serves every test.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe } from 'node:test';
import { connect, waitFor, emitAck, httpGet } from '../lib/harness.mjs';
import { MODES, ztest } from '../lib/contract.mjs';

const mode = MODES[0];
const MAX_MESSAGE = 48 << 10;

/**
 * A raw HTTP/1.1 connection: send() writes bytes, response() resolves the
 * next response's status and headers, closed resolves when the server
 * closes the connection.
 */
function rawHttp(port) {
  const sock = net.connect({ port, host: '127.0.0.1' });
  let buf = '';
  const waiters = [];
  let isClosed = false;
  const closed = new Promise((resolve) => sock.on('close', () => { isClosed = true; resolve(); flush(); }));
  sock.on('error', () => {});
  sock.setEncoding('latin1');
  const flush = () => {
    for (const w of [...waiters]) {
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buf.slice(0, end);
        const [statusLine, ...lines] = head.split('\r\n');
        const headers = Object.fromEntries(lines.map((l) => {
          const i = l.indexOf(':');
          return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
        }));
        let rest = buf.slice(end + 4);
        const len = Number(headers['content-length'] ?? 0);
        if (rest.length < len && !isClosed) return;
        const body = rest.slice(0, len);
        buf = rest.slice(len);
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.t);
        w.resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
      } else if (isClosed) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.t);
        w.reject(new Error(`connection closed before a response (got ${JSON.stringify(buf.slice(0, 200))})`));
      }
    }
  };
  sock.on('data', (d) => { buf += d; flush(); });
  const connected = new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  return {
    connected,
    closed,
    get isClosed() { return isClosed; },
    send(data) { if (!isClosed) sock.write(data); },
    response(timeout = 5000) {
      return new Promise((resolve, reject) => {
        const w = { resolve, reject };
        w.t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no HTTP response within ${timeout} ms`));
        }, timeout);
        waiters.push(w);
        flush();
      });
    },
    destroy() { sock.destroy(); },
  };
}

/** Opens an Engine.IO polling session; returns its sid. */
async function pollingSession(url) {
  const r = await httpGet(`${url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(r.status, 200, `polling handshake: ${r.status} ${r.body}`);
  return JSON.parse(r.body.slice(1)).sid;
}

/** Resolves within timeout when the promise does; rejects naming what. */
function within(promise, timeout, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: not within ${timeout} ms`)), timeout); }),
  ]);
}

describe('[embedded store] transport limits', () => {
  ztest(mode, 'a chunked polling POST over the message size limit gets 413; one under it is taken', async (ctx) => {
    const sid = await pollingSession(ctx.url);
    const post = (conn, chunks) => {
      conn.send(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n`
        + 'Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (const c of chunks) conn.send(`${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`);
      conn.send('0\r\n\r\n');
    };
    // Under the limit, chunked: an Engine.IO ping... of the wrong
    // direction would close the session; a noop ("6") is harmless.
    const ok = rawHttp(ctx.server.port);
    await ok.connected;
    post(ok, ['6']);
    const small = await ok.response().catch((e) => { throw new Error(`small chunked POST: ${e.message}`); });
    assert.equal(small.status, 200, `small chunked POST: ${small.status} ${small.body}`);
    ok.destroy();

    const big = rawHttp(ctx.server.port);
    await big.connected;
    const chunk = 'x'.repeat(16 << 10);
    post(big, ['4', chunk, chunk, chunk, chunk]); // 64 KiB + 1 > 48 KiB
    const res = await big.response().catch((e) => { throw new Error(`chunked POST of 64 KiB: ${e.message}`); });
    assert.equal(res.status, 413, `chunked POST of 64 KiB: ${res.status} ${res.body}`);
    await within(big.closed, 5000, 'connection closed after the 413');
  });

  ztest(mode, 'a request whose line and headers pass 16 KB gets 431', async (ctx) => {
    const pad = 'a'.repeat(32 << 10);
    const r = await httpGet(`${ctx.url}/socket.io/?EIO=4&transport=polling&pad=${pad}`);
    assert.equal(r.status, 431, `handshake with a 32 KB query: ${r.status}`);
    const h = await httpGet(`${ctx.url}/health`, { 'X-Pad': pad });
    assert.equal(h.status, 431, `request with a 32 KB header: ${h.status}`);
    // A handshake with a small extra parameter still works.
    const ok = await httpGet(`${ctx.url}/socket.io/?EIO=4&transport=polling&t=abc`);
    assert.equal(ok.status, 200, `handshake with a cache buster: ${ok.status}`);
  });

  ztest(mode, 'an idle keep-alive connection is closed after a heartbeat', {
    env: { PING_INTERVAL_MS: '300', PING_TIMEOUT_MS: '300' },
  }, async (ctx) => {
    const conn = rawHttp(ctx.server.port);
    await conn.connected;
    conn.send('GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const res = await conn.response();
    assert.equal(res.status, 200);
    // The heartbeat is 600 ms; a server without an idle timeout keeps the
    // connection for ever.
    await within(conn.closed, 5000, 'idle keep-alive connection closed by the server');
  });

  ztest(mode, 'a polling POST trickling its body gets 408 within the ping timeout', {
    env: { PING_INTERVAL_MS: '10000', PING_TIMEOUT_MS: '500' },
  }, async (ctx) => {
    const sid = await pollingSession(ctx.url);
    const conn = rawHttp(ctx.server.port);
    await conn.connected;
    const body = '4' + 'x'.repeat(99);
    conn.send(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n`
      + `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${body.length}\r\n\r\n`);
    // One byte every 100 ms: the whole body would take 10 s, twenty ping
    // timeouts.
    let i = 0;
    const trickle = setInterval(() => { if (i < body.length) conn.send(body[i++]); }, 100);
    try {
      const res = await conn.response(8000);
      assert.equal(res.status, 408, `trickled POST: ${res.status} ${res.body}`);
      assert.ok(i < body.length, 'the server answered only after the whole body');
      await within(conn.closed, 5000, 'connection closed after the 408');
    } finally {
      clearInterval(trickle);
      conn.destroy();
    }
  });

  ztest(mode, 'websockets and long polls outlive the read and idle timeouts', {
    // A ping timeout three times the interval: a loaded machine's late
    // pong must not end the connection before the timeouts are tested.
    env: { PING_INTERVAL_MS: '1000', PING_TIMEOUT_MS: '3000' },
  }, async (ctx) => {
    // The read and idle timeouts are one heartbeat (4 s); each client
    // lives through five pings (5 s), then still has its events answered.
    for (const transports of [['websocket'], ['polling']]) {
      const s = await ctx.client({ transports });
      let reason;
      s.on('disconnect', (r) => { reason = r; });
      for (let n = 0; n < 5; n++) {
        await waitFor(s.io.engine, 'ping', { timeout: 5000 }).catch((e) => {
          throw new Error(`${transports}: ${e.message} (disconnected: ${reason})`);
        });
      }
      assert.ok(s.connected, `${transports}: disconnected (${reason})`);
      const ack = await emitAck(s, 'chat-message', { message: 'hi' });
      assert.equal(ack.ok, false, `${transports}: chat without a partner is refused`);
      assert.equal(ack.code, 'no-partner', `${transports}: ${JSON.stringify(ack)}`);
      s.close();
    }
  });

  ztest(mode, 'a binary packet or a binary websocket message closes its sender\'s connection', async (ctx) => {
    const frames = [
      ['binary event', '451-["signal",{"_placeholder":true,"num":0}]'],
      ['binary ack', '461-[{"_placeholder":true,"num":0}]'],
      ['binary websocket message', Buffer.alloc(1024, 1)],
    ];
    for (const [what, frame] of frames) {
      const r = await ctx.raw({ answerPings: true });
      r.send(frame);
      await within(r.closed, 5000, `${what}: connection closed`);
    }
    // The server is unharmed.
    const s = await ctx.client();
    assert.equal((await emitAck(s, 'chat-message', { message: 'hi' })).ok, false);
  });

  ztest(mode, 'JSON nested deeper than 32 levels is refused with an error ack, before any recursive check', async (ctx) => {
    const nested = (depth) => '['.repeat(depth) + ']'.repeat(depth);
    const r = await ctx.raw({ answerPings: true });
    // 23,000 levels (46 KB, under the message size limit) took MBs of stack
    // per event; 31 in data is 33 in the packet.
    for (const [id, depth] of [[1, 23000], [2, 31]]) {
      r.send(`42${id}["signal",{"to":"someone","data":${nested(depth)}}]`);
      const ack = await r.next((f) => f.startsWith(`43${id}[`), { what: `ack ${id}` });
      const [body] = JSON.parse(ack.slice(3));
      assert.equal(body.ok, false, `depth ${depth}: ${ack}`);
      assert.match(body.error, /nested deeper than 32/, `depth ${depth}: ${ack}`);
      assert.equal(body.code, 'invalid', `depth ${depth}: ${ack}`);
    }
    // 30 in data (32 in the packet) passes the check, and is refused only
    // for what it is: a signal to someone who is not the sender's partner.
    r.send(`423["signal",{"to":"someone","data":${nested(30)}}]`);
    const ack = await r.next((f) => f.startsWith('433['), { what: 'ack 3' });
    assert.match(JSON.parse(ack.slice(3))[0].error, /not your partner/);
    assert.equal(JSON.parse(ack.slice(3))[0].code, 'not-your-partner');
    assert.equal(r.isClosed, false);
  });

  ztest(mode, 'a client that never reads is closed when its backlog passes the limit, and its partner is told', {
    // A heartbeat of 30 s: only the backlog limit can close it in time.
    // No signal delay: every signal is relayed (held ones past the first
    // 64 would be refused, and 2 MB fit in loopback's socket buffers).
    env: { PING_INTERVAL_MS: '15000', PING_TIMEOUT_MS: '15000', SIGNAL_DELAY_MS: '0' },
  }, async (ctx) => {
    const a = await ctx.raw();
    const b = await ctx.raw();
    a.send('421["join-queue",{"name":"Sink"}]');
    assert.equal(await a.next((f) => f.startsWith('431['), { what: 'join ack' }), '431[{"ok":true}]');
    b.emit('join-queue', { name: 'Flood' });
    const matched = await b.next((f) => f.startsWith('42["matched"'), { what: 'matched' });
    assert.equal(JSON.parse(matched.slice(2))[1].partnerId, a.sid);
    // A stops reading; B sends it 32 KB signals, 20 MB in all: more than
    // loopback's socket buffers and the 1 MiB backlog limit together.
    a.ws._socket.pause();
    const signal = '42' + JSON.stringify(['signal', { to: a.sid, data: 'x'.repeat(32000) }]);
    for (let i = 0; i < 640; i++) b.send(signal);
    const left = await b.next((f) => f.startsWith('42["partner-left"'), { what: 'partner-left', timeout: 15000 });
    assert.deepEqual(JSON.parse(left.slice(2))[1], { reason: 'disconnect' });
    assert.equal((await httpGet(`${ctx.url}/health`)).status, 200);
  });

  ztest(mode, 'a pong that answers no ping closes the connection', async (ctx) => {
    const r = await ctx.raw();
    r.send('3');
    await within(r.closed, 5000, 'connection closed after an unsolicited pong');
  });

  ztest(mode, 'events over the rate limit get no ack, and a connection that keeps sending them is closed', async (ctx) => {
    const r = await ctx.raw({ answerPings: true });
    // 5,000 events at once: the burst is 1,000 and the rate 500/s.
    for (let i = 1; i <= 5000; i++) r.send(`42${i}["chat-message",{"message":"x"}]`);
    await within(r.closed, 10000, 'connection closed');
    // How many were taken depends on how fast the server read them (the
    // rate refills as it goes); none over the rate is acknowledged.
    const acks = r.frames.filter((f) => f.startsWith('43'));
    assert.ok(acks.length < 5000, `${acks.length} acks`);
    const refusedForRate = acks.filter((f) => f.includes('too many events'));
    assert.equal(refusedForRate.length, 0, `${refusedForRate.length} events over the limit were acked`);
    const s = await ctx.client();
    assert.equal((await emitAck(s, 'chat-message', { message: 'hi' })).ok, false);
  });
});
