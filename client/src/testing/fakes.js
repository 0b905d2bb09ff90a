// Test doubles for the browser's RTCPeerConnection and timers (used by *.test.js only).

export class FakePeerConnection {
  constructor(config) {
    this.config = config;
    this.log = [];
    this.tracks = [];
    this.candidates = [];
    this.remoteDescription = null;
    this.localDescription = null;
    this.connectionState = 'new';
    this.iceConnectionState = 'new';
    this.signalingState = 'stable';
    this.closed = false;
  }
  addTrack(track, stream) {
    this.tracks.push({ track, stream });
  }
  async createOffer(options) {
    this.log.push(options?.iceRestart ? 'createOffer:iceRestart' : 'createOffer');
    return { type: 'offer', sdp: 'offer-sdp' };
  }
  async createAnswer() {
    this.log.push('createAnswer');
    return { type: 'answer', sdp: 'answer-sdp' };
  }
  async setLocalDescription(d) {
    this.log.push(`setLocal:${d.type}`);
    this.localDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-local-offer' : 'stable';
  }
  async setRemoteDescription(d) {
    this.log.push(`setRemote:${d.type}`);
    this.remoteDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
  }
  async addIceCandidate(c) {
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    this.log.push(`candidate:${c.candidate}`);
    this.candidates.push(c);
  }
  async getStats() {
    return new Map();
  }
  getSenders() {
    return this.tracks.map(({ track }) => ({ track, replaceTrack: async (t) => (this.replaced = [...(this.replaced ?? []), t]) }));
  }
  close() {
    this.closed = true;
    this.connectionState = 'closed';
  }
  // test helpers
  emitState(state) {
    this.connectionState = state;
    this.iceConnectionState = state === 'connecting' ? 'checking' : state;
    this.onconnectionstatechange?.();
  }
}

export function fakeTimers() {
  let next = 1;
  const pending = new Map();
  return {
    setTimeout(fn, ms) {
      const id = next++;
      pending.set(id, { fn, ms });
      return id;
    },
    clearTimeout(id) {
      pending.delete(id);
    },
    /** Runs every pending timer. */
    flush() {
      const due = [...pending.values()];
      pending.clear();
      due.forEach(({ fn }) => fn());
    },
    get count() {
      return pending.size;
    },
  };
}

export const fakeTrack = (kind) => ({
  kind,
  enabled: true,
  stopped: false,
  stop() {
    this.stopped = true;
  },
});

export const fakeStream = (...tracks) => ({ tracks, getTracks: () => tracks, addTrack: (t) => tracks.push(t) });

/**
 * A stand-in for socket/socket.js's API as the session uses it. emit sends
 * only while connected; its acks are answered by the test (serverAcks), or
 * with null when the connection drops (socket.io-client's timeout acks).
 * send keeps what comes while disconnected and sends it when the connection
 * is back, before the status listeners hear of it (socket.io-client's
 * sendBuffer, flushed on connect).
 */
export function fakeSocket({ status = 'connecting' } = {}) {
  const handlers = new Map();
  const statusListeners = new Set();
  let buffer = [];
  const socket = {
    status,
    emitted: [],
    acks: [], // { event, payload, ack, answered }
    getStatus: () => socket.status,
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    on(event, handler) {
      handlers.set(event, handler);
      return () => handlers.delete(event);
    },
    emit(event, payload, ack) {
      if (socket.status !== 'connected') return false;
      socket.emitted.push(payload === undefined ? [event] : [event, payload]);
      if (ack) socket.acks.push({ event, payload, ack, answered: false });
      return true;
    },
    send(event, payload) {
      if (socket.status === 'connected') socket.emitted.push([event, payload]);
      else buffer.push([event, payload]);
    },
    // test helpers
    // As socket.io-client: on connect the buffer goes first; on a drop the
    // listeners hear of it before the unanswered acks get null.
    setStatus(next, details) {
      socket.status = next;
      if (next === 'connected') {
        socket.emitted.push(...buffer);
        buffer = [];
      }
      statusListeners.forEach((listener) => listener(next, next === 'connected' ? { recovered: false, ...details } : undefined));
      if (next !== 'connected') {
        for (const a of socket.acks.filter((a) => !a.answered)) {
          a.answered = true;
          a.ack(null);
        }
      }
    },
    serverSends: (event, payload) => handlers.get(event)?.(payload),
    /** Answers the latest ack of event. */
    serverAcks(event, reply) {
      const a = socket.acks.findLast((a) => a.event === event);
      a.answered = true;
      a.ack(reply);
    },
    sent: (event) => socket.emitted.filter(([e]) => e === event).map(([, p]) => p),
    get buffered() {
      return buffer;
    },
  };
  return socket;
}
