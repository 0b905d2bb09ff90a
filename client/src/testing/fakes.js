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
