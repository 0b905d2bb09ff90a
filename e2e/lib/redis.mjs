// The one Redis client of the e2e tests: a command over a raw RESP
// connection to a private redis-server (harness.mjs starts them), so that no
// Redis library is needed to look at what the server stored.
import net from 'node:net';

/**
 * One Redis command over a raw RESP connection; resolves the decoded reply
 * (string, number, null, array; an error reply rejects).
 */
export function redisCommand(port, ...args) {
  return redisCommandWithin(port, 3000, ...args);
}

/** redisCommand with its own bound (ms) on the wait for the reply. */
export function redisCommandWithin(port, timeout, ...args) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => { s.destroy(); reject(new Error(`redis ${args[0]}: no reply within ${timeout} ms`)); }, timeout);
    const finish = (err, v) => { clearTimeout(t); s.destroy(); if (err) reject(err); else resolve(v); };
    s.on('error', (e) => finish(e));
    s.on('connect', () => {
      let cmd = `*${args.length}\r\n`;
      for (const a of args) cmd += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
      s.write(cmd);
    });
    // parse(pos) → [value, nextPos] or undefined when incomplete
    const parse = (pos) => {
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return undefined;
      const type = String.fromCharCode(buf[pos]);
      const line = buf.toString('utf8', pos + 1, eol);
      const after = eol + 2;
      if (type === '+') return [line, after];
      if (type === '-') return [new Error(line), after];
      if (type === ':') return [Number(line), after];
      if (type === '$') {
        const n = Number(line);
        if (n < 0) return [null, after];
        if (buf.length < after + n + 2) return undefined;
        return [buf.toString('utf8', after, after + n), after + n + 2];
      }
      if (type === '*') {
        const n = Number(line);
        if (n < 0) return [null, after];
        const arr = [];
        let p = after;
        for (let i = 0; i < n; i++) {
          const r = parse(p);
          if (!r) return undefined;
          arr.push(r[0]);
          p = r[1];
        }
        return [arr, p];
      }
      return [new Error(`unknown RESP type ${type}`), after];
    };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parse(0);
      if (!r) return;
      if (r[0] instanceof Error) finish(r[0]);
      else finish(null, r[0]);
    });
  });
}

/** Resolves true when the server answers PING within timeout ms, else false. */
export async function redisPing(port, timeout = 500) {
  try {
    return (await redisCommandWithin(port, timeout, 'PING')) === 'PONG';
  } catch {
    return false;
  }
}
