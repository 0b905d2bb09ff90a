// One RTCPeerConnection for one pairing. Owns the offer/answer exchange, the queue
// of ICE candidates that arrive before the remote description, the remote stream,
// one ICE restart before a failed call is given up, and the "did not connect in
// time" timer. Everything the browser provides is injected, so the logic runs in
// unit tests with a fake connection.
//
// On the wire it speaks the original client's messages (CONTRACT.md, "What
// travels inside signal.data"): { type: 'offer' | 'answer', sdp: { type, sdp } }
// and { type: 'ice-candidate', candidate: RTCIceCandidateInit }. It accepts the
// older shapes too: a string sdp, and { type: 'candidate' }. One message of
// our own clients: { type: 'ice-restart' }, the answering side asking the
// initiator for an ICE restart (the original client ignores a type it does
// not know, as it does media-state).

export const CONNECT_TIMEOUT_MS = 15000;
// How long an ICE restart may take before the call is given up.
export const RESTART_TIMEOUT_MS = 10000;

/** The messages this client sends, in the original client's format. */
export const offerMessage = (d) => ({ type: 'offer', sdp: { type: 'offer', sdp: d.sdp } });
export const answerMessage = (d) => ({ type: 'answer', sdp: { type: 'answer', sdp: d.sdp } });
export const candidateMessage = (c) => ({ type: 'ice-candidate', candidate: c });
export const RESTART_REQUEST = Object.freeze({ type: 'ice-restart' });

// The states of a connection that a network change broke.
const BROKEN = new Set(['disconnected', 'failed']);

/** Normalises an incoming `signal.data` into { kind, description | candidate }. */
export function parseSignal(data) {
  if (!data || typeof data !== 'object') return null;
  if (data.type === 'offer' || data.type === 'answer') {
    const sdp = typeof data.sdp === 'string' ? data.sdp : data.sdp?.sdp;
    return typeof sdp === 'string' ? { kind: data.type, description: { type: data.type, sdp } } : null;
  }
  if (data.type === RESTART_REQUEST.type) return { kind: 'restart-request' };
  if (data.candidate && typeof data.candidate === 'object') return { kind: 'candidate', candidate: data.candidate };
  if (typeof data.candidate === 'string') return { kind: 'candidate', candidate: data };
  return null;
}

const candidateJSON = (c) => (typeof c.toJSON === 'function' ? c.toJSON() : c);

export function createPeer({
  isInitiator,
  localStream,
  iceServers,
  relayOnly = false,
  send,
  onRemoteStream,
  onConnectionState,
  onFailed,
  createPeerConnection = (config) => new RTCPeerConnection(config),
  createMediaStream = () => new MediaStream(),
  timers = globalThis,
  connectTimeoutMs = CONNECT_TIMEOUT_MS,
}) {
  const pc = createPeerConnection(relayOnly ? { iceServers, iceTransportPolicy: 'relay' } : { iceServers });
  const pendingCandidates = [];
  let remoteStream = null;
  let hasRemoteDescription = false;
  let closed = false;
  let failedReported = false;
  let restarted = false;
  let restartTimer = null;
  let work = Promise.resolve();

  const fail = (reason) => {
    if (closed || failedReported) return;
    failedReported = true;
    onFailed(reason);
  };

  const timer = timers.setTimeout(() => {
    // During an ICE restart its own timer decides.
    if (pc.connectionState !== 'connected' && !restarted) fail('timeout');
  }, connectTimeoutMs);

  pc.onicecandidate = (event) => {
    if (!closed && event.candidate) send(candidateMessage(candidateJSON(event.candidate)));
  };

  pc.ontrack = (event) => {
    if (closed) return;
    const [stream] = event.streams ?? [];
    if (stream) {
      remoteStream = stream;
    } else {
      remoteStream ??= createMediaStream();
      remoteStream.addTrack(event.track);
    }
    onRemoteStream(remoteStream);
  };

  // A failed connection gets one ICE restart (new candidates, maybe through
  // another route) before the call is given up: the initiator offers again
  // with iceRestart (the other side asks it to), and the other side answers
  // that offer as any other.
  const restart = () => {
    restarted = true;
    onConnectionState('restarting');
    restartTimer = timers.setTimeout(() => {
      if (pc.connectionState !== 'connected') fail('failed');
    }, RESTART_TIMEOUT_MS);
    if (isInitiator) offerRestart();
    else send(RESTART_REQUEST); // the initiator may not have seen it fail yet
  };

  // The initiator's offer for an ICE restart; the other side answers it as
  // any offer. One at a time: while one waits for its answer, another would
  // only replace it.
  const restartOffer = async () => {
    if (pc.signalingState === 'have-local-offer') return;
    pc.restartIce?.();
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    if (!closed) send(offerMessage(offer));
  };
  const offerRestart = () => enqueue(restartOffer);

  pc.onconnectionstatechange = () => {
    if (closed) return;
    const state = pc.connectionState;
    if (state === 'connected') {
      failedReported = false;
      timers.clearTimeout(timer);
      timers.clearTimeout(restartTimer);
    }
    if (state === 'failed' && !restarted && !failedReported) {
      restart();
      return;
    }
    onConnectionState(state);
    if (state === 'failed') fail('failed');
  };

  localStream?.getTracks().forEach((track) => pc.addTrack(track, localStream));

  const addCandidate = async (candidate) => {
    try {
      await pc.addIceCandidate(candidate);
    } catch (err) {
      console.warn('Ignoring an ICE candidate that could not be added', err);
    }
  };

  const setRemote = async (description) => {
    await pc.setRemoteDescription(description);
    hasRemoteDescription = true;
    const queued = pendingCandidates.splice(0);
    for (const candidate of queued) await addCandidate(candidate);
  };

  const apply = async (signal) => {
    if (signal.kind === 'restart-request') {
      if (isInitiator) await restartOffer(); // already in the queue of signals
    } else if (signal.kind === 'offer') {
      if (isInitiator) return; // only the initiator offers; never answer our own role
      await setRemote(signal.description);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      if (!closed) send(answerMessage(answer));
    } else if (signal.kind === 'answer') {
      // Only an answer to an offer of ours that is still open (the first
      // one, or an ICE restart's).
      if (!isInitiator || pc.signalingState !== 'have-local-offer') return;
      await setRemote(signal.description);
    } else if (hasRemoteDescription) {
      await addCandidate(signal.candidate);
    } else {
      pendingCandidates.push(signal.candidate);
    }
  };

  // Signals are applied one at a time, in arrival order.
  const enqueue = (task) => {
    work = work.then(() => (closed ? undefined : task())).catch((err) => {
      console.error('WebRTC negotiation failed', err);
      fail('negotiation');
    });
    return work;
  };

  if (isInitiator) {
    enqueue(async () => {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (!closed) send(offerMessage(offer));
    });
  }

  return {
    /** Applies one `signal.data` from the partner. Resolves once it is applied. */
    handleSignal(data) {
      const signal = parseSignal(data);
      return signal ? enqueue(() => apply(signal)) : work;
    },
    /**
     * After our signalling came back from a drop: a connection that the
     * network change behind the drop broke (disconnected or failed) gets an
     * ICE restart, offered by the initiator, asked of it by the other side.
     * Reports whether one was started.
     */
    restartIce() {
      if (closed || !(BROKEN.has(pc.iceConnectionState) || BROKEN.has(pc.connectionState))) return false;
      if (isInitiator) offerRestart();
      else send(RESTART_REQUEST);
      return true;
    },
    /** The connection's statistics (RTCPeerConnection.getStats). */
    getStats: () => pc.getStats(),
    /** Sends track instead of the local track of its kind (a device switch). */
    async replaceTrack(track) {
      const sender = pc.getSenders?.().find((s) => s.track?.kind === track.kind);
      if (sender) await sender.replaceTrack(track);
    },
    /** Closes the connection and stops the remote tracks. Idempotent. */
    close() {
      if (closed) return;
      closed = true;
      timers.clearTimeout(timer);
      timers.clearTimeout(restartTimer);
      pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null;
      remoteStream?.getTracks().forEach((track) => track.stop());
      remoteStream = null;
      pendingCandidates.length = 0;
      pc.close();
    },
    get pendingCandidateCount() {
      return pendingCandidates.length;
    },
  };
}
