// A small TCP load balancer for the tests: every new connection goes to the
// current target (an instance's port), as a load balancer sends new
// connections to the instances in rotation; blip() cuts every connection
// at once (a network blip: both sides see their TCP connection end), and
// retarget() takes an instance out of rotation before it is stopped, as a
// rolling deploy does.
import net from 'node:net';

export async function startProxy(targetPort) {
  let target = targetPort;
  const pairs = new Set();
  // Server sides left open by blip({serverSees: false}), closed by close().
  const silent = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    /** New connections go to port from now on. */
    retarget(port) { target = port; },
    /**
     * Cuts every connection through the proxy; returns how many. With
     * serverSees false, only the client's side is cut: the server's
     * connection stays open and silent (the client noticed the drop first,
     * the server will at its ping timeout).
     */
    blip({ serverSees = true } = {}) {
      const n = pairs.size;
      for (const pair of pairs) {
        const { client, upstream } = pair;
        if (serverSees) {
          upstream.destroy();
        } else {
          upstream.removeAllListeners('close');
          upstream.removeAllListeners('error');
          upstream.on('error', () => {});
          upstream.unpipe(client);
          client.unpipe(upstream);
          silent.add(upstream);
        }
        client.destroy();
      }
      pairs.clear();
      return n;
    },
    /** Connections open through the proxy now. */
    get open() { return pairs.size; },
    close() {
      this.blip();
      for (const s of silent) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
