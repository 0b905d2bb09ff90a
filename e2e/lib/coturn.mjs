// Runs Debian's coturn (turnserver) on loopback for a test: TURN over UDP only
// with use-auth-secret (the REST scheme the server's /ice-servers issues),
// loopback peers allowed (both users are on 127.0.0.1), no TLS, no CLI, no
// database, relay ports from a small private range.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { until } from './harness.mjs';

/** A UDP port that was free a moment ago. */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** coturn's REST credential for username under secret. */
export function turnCredential(secret, username) {
  return crypto.createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * Starts turnserver; resolves { port, url, secret, stop(), logs() } once it
 * listens. Throws a clear error when coturn is not installed.
 */
export async function startCoturn({ secret = crypto.randomBytes(32).toString('hex') } = {}) {
  const bin = ['/usr/bin/turnserver', '/usr/sbin/turnserver'].find((p) => fs.existsSync(p));
  if (!bin) throw new Error('turnserver not found: install Debian\'s coturn (apt-get install -y coturn; .ci/deps does it)');
  const port = await freeUdpPort();
  const minPort = 40000 + Math.floor(Math.random() * 20000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zivro-coturn-'));
  const args = [
    '-n', // no configuration file
    `--listening-port=${port}`, '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1',
    `--min-port=${minPort}`, `--max-port=${minPort + 200}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=zivro.test',
    '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--no-rfc5780',
    '--no-tcp', '--no-tcp-relay', `--pidfile=${path.join(dir, 'turnserver.pid')}`, `--userdb=${path.join(dir, 'turndb')}`,
    '--log-file=stdout', '--simple-log', '--verbose',
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout.on('data', (d) => { logs += d; });
  child.stderr.on('data', (d) => { logs += d; });
  const exited = new Promise((r) => child.once('exit', r));
  process.on('exit', () => { try { child.kill('SIGKILL'); } catch { /* gone */ } });
  await until(() => {
    if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}:\n${logs.slice(-3000)}`);
    return /Total General servers|IPv4\. UDP listener opened on : 127\.0\.0\.1:/.test(logs);
  }, { timeout: 15_000, interval: 100, what: () => `turnserver did not start listening:\n${logs.slice(-3000)}` });
  return {
    port,
    secret,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    logs: () => logs,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
