// A private Redis Cluster for the contract tests: three primaries on
// loopback (each also listens on its port + 10000, the cluster bus), the
// slots spread by redis-cli --cluster create.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './harness.mjs';
import { redisCommand, redisPing } from './redis.mjs';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A port whose cluster bus port is free too.
async function clusterPort() {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535) continue;
    const bus = await new Promise((resolve) => {
      import('node:net').then(({ default: net }) => {
        const s = net.createServer();
        s.on('error', () => resolve(false));
        s.listen(port + 10000, '127.0.0.1', () => s.close(() => resolve(true)));
      });
    });
    if (bus) return port;
  }
}

/**
 * Starts a 3-primary Redis Cluster; returns { ports, url (a seed), stop(),
 * spublishes() (SPUBLISH calls per node, from INFO commandstats) }.
 */
export async function startRedisCluster(primaries = 3) {
  const dir = mkdtempSync(path.join(tmpdir(), 'zivro-cluster-'));
  const children = [];
  const ports = [];
  const stop = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries; i++) {
      const port = await clusterPort();
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--dir', dir],
      { stdio: 'ignore' });
      children.push(child);
      ports.push(port);
      const deadline = Date.now() + 10000;
      while (!(await redisPing(port))) {
        if (Date.now() > deadline) throw new Error(`cluster node on ${port} did not answer PING`);
        await sleep(50);
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes']);
    const deadline = Date.now() + 20000;
    for (;;) {
      const infos = await Promise.all(ports.map((p) => redisCommand(p, 'CLUSTER', 'INFO')));
      if (infos.every((i) => i.includes('cluster_state:ok') && i.includes(`cluster_known_nodes:${primaries}`))) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok: ${infos.join('\n')}`);
      await sleep(50);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    ports,
    url: `redis://127.0.0.1:${ports[0]}`,
    stop,
    /** SPUBLISH calls so far, per node port. */
    async spublishes() {
      const out = {};
      for (const p of ports) {
        const stats = await redisCommand(p, 'INFO', 'commandstats');
        const m = /cmdstat_spublish:calls=(\d+)/.exec(stats);
        out[p] = m ? Number(m[1]) : 0;
      }
      return out;
    },
    /** The port of the node that serves key's slot. */
    async ownerOf(key) {
      const slot = await redisCommand(ports[0], 'CLUSTER', 'KEYSLOT', key);
      const slots = await redisCommand(ports[0], 'CLUSTER', 'SLOTS');
      const range = slots.find(([from, to]) => from <= slot && slot <= to);
      return range[2][1];
    },
  };
}
