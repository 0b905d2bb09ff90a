// The bench's reference server: the relay path of a random video chat on the
// official socket.io package, for zivro-bench's reference scenario to
// measure beside the Go server in the same run. It pairs sockets that
// join-queue in arrival order (no Redis, no profiles kept, no interests, no
// no-rematch rule), announces `matched` with the fields the bench reads,
// relays `signal` and `chat-message` to the partner only, and handles next,
// leave-queue and disconnect as the contract says. Nothing else: its costs
// are the library's and Node's, the floor a Node server of this protocol
// starts from.
//
// Environment: PORT (required), PING_INTERVAL_MS and PING_TIMEOUT_MS
// (10000 each, the Go server's defaults), CLIENT_URL (CORS origin; unset:
// none sent). GET /health answers 200; GET /debug/gc runs a full collection
// when node runs with --expose-gc (the bench forces one before each memory
// reading, as it does through the Go server's pprof).
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('PORT must be a port number');
  process.exit(2);
}
const ms = (name, def) => Number(process.env[name] || def);

const httpServer = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', uptime: process.uptime() }));
    return;
  }
  if (req.url === '/debug/gc' && typeof global.gc === 'function') {
    global.gc();
    res.writeHead(200);
    res.end('ok');
    return;
  }
  // socket.io answers its own path before this handler runs.
  res.writeHead(404);
  res.end();
});

// The Go server's settings (handler/socketio: serverOptions): the same
// heartbeat, transports, message cap and connect timeout, no compression
// of websocket frames (it has none).
const io = new Server(httpServer, {
  serveClient: false,
  pingInterval: ms('PING_INTERVAL_MS', 10000),
  pingTimeout: ms('PING_TIMEOUT_MS', 10000),
  connectTimeout: 8000,
  maxHttpBufferSize: 48 << 10,
  transports: ['polling', 'websocket'],
  perMessageDeflate: false,
  cors: process.env.CLIENT_URL ? { origin: process.env.CLIENT_URL.split(','), credentials: true } : undefined,
});

// The queue: sockets waiting, oldest first. Pairing runs after every
// change, so at most one socket waits for long.
const waiting = [];
let rooms = 0;

const ok = (ack) => {
  if (typeof ack === 'function') ack({ ok: true });
};

function enqueue(socket) {
  if (socket.data.queued || socket.data.partner || !socket.connected) return;
  socket.data.queued = true;
  waiting.push(socket);
}

function dequeue(socket) {
  if (!socket.data.queued) return;
  socket.data.queued = false;
  const i = waiting.indexOf(socket);
  if (i >= 0) waiting.splice(i, 1);
}

function pairWaiting() {
  while (waiting.length >= 2) {
    // The one who waited longer is the initiator; the other is told first.
    const initiator = waiting.shift();
    const responder = waiting.shift();
    initiator.data.queued = responder.data.queued = false;
    initiator.data.partner = responder;
    responder.data.partner = initiator;
    const roomId = `room-${++rooms}`;
    responder.emit('matched', { roomId, partnerId: initiator.id, partnerName: initiator.data.name, isInitiator: false });
    initiator.emit('matched', { roomId, partnerId: responder.id, partnerName: responder.data.name, isInitiator: true });
  }
}

// leaveRoom ends socket's pairing: the partner is told why and goes back
// to the queue.
function leaveRoom(socket, reason) {
  const partner = socket.data.partner;
  if (!partner) return null;
  socket.data.partner = partner.data.partner = null;
  partner.emit('partner-left', { reason });
  return partner;
}

io.on('connection', (socket) => {
  socket.data.name = 'Stranger';

  socket.on('join-queue', (profile, ack) => {
    if (!socket.data.joined && profile && typeof profile.name === 'string') {
      socket.data.name = profile.name.trim().slice(0, 20) || 'Stranger';
    }
    socket.data.joined = true;
    enqueue(socket);
    pairWaiting();
    ok(ack);
  });

  socket.on('signal', (msg, ack) => {
    const partner = socket.data.partner;
    if (partner && msg && msg.to === partner.id) {
      partner.emit('signal', { from: socket.id, data: msg.data });
    }
    ok(ack);
  });

  socket.on('chat-message', (msg, ack) => {
    const partner = socket.data.partner;
    const text = msg && typeof msg.message === 'string' ? msg.message.trim().slice(0, 500) : '';
    if (partner && text) {
      partner.emit('chat-message', { from: socket.id, message: text, timestamp: Date.now() });
    }
    ok(ack);
  });

  socket.on('next', (ack) => {
    if (socket.data.joined) {
      const partner = leaveRoom(socket, 'next');
      enqueue(socket);
      if (partner) enqueue(partner);
      pairWaiting();
    }
    ok(ack);
  });

  const leave = (reason) => {
    dequeue(socket);
    socket.data.joined = false;
    const partner = leaveRoom(socket, reason);
    if (partner) {
      enqueue(partner);
      pairWaiting();
    }
  };
  socket.on('leave-queue', (ack) => {
    leave('leave');
    ok(ack);
  });
  socket.on('disconnect', () => leave('disconnect'));
});

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`zivro-bench reference (socket.io ${require('socket.io/package.json').version}, node ${process.version}) listening on ${port}`);
});

const stop = () => {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
