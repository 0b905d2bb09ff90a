// One RTCPeerConnection for one pairing. Owns the offer/answer exchange, the queue
// of ICE candidates that arrive before the remote description, the remote stream
// and the "did not connect in time" timer. Everything the browser provides is
// injected, so the logic runs in unit tests with a fake connection.

export const CONNECT_TIMEOUT_MS = 15000;

/** Normalises an incoming `signal.data` into { kind, description | candidate }. */
export function parseSignal(data) {
  if (!data || typeof data !== 'object') return null;
  if (data.type === 'offer' || data.type === 'answer') {
    const sdp = typeof data.sdp === 'string' ? data.sdp : data.sdp?.sdp;
    return typeof sdp === 'string' ? { kind: data.type, description: { type: data.type, sdp } } : null;
  }
  if (data.candidate && typeof data.candidate === 'object') return { kind: 'candidate', candidate: data.candidate };
  if (typeof data.candidate === 'string') return { kind: 'candidate', candidate: data };
  return null;
}

const candidateJSON = (c) => (typeof c.toJSON === 'function' ? c.toJSON() : c);

export function createPeer({
  isInitiator,
  localStream,
  iceServers,
  send,
  onRemoteStream,
  onConnectionState,
  onFailed,
  createPeerConnection = (config) => new RTCPeerConnection(config),
  createMediaStream = () => new MediaStream(),
  timers = globalThis,
  connectTimeoutMs = CONNECT_TIMEOUT_MS,
}) {
  const pc = createPeerConnection({ iceServers });
  const pendingCandidates = [];
  let remoteStream = null;
  let hasRemoteDescription = false;
  let closed = false;
  let failedReported = false;
  let work = Promise.resolve();

  const fail = (reason) => {
    if (closed || failedReported) return;
    failedReported = true;
    onFailed(reason);
  };

  const timer = timers.setTimeout(() => {
    if (pc.connectionState !== 'connected') fail('timeout');
  }, connectTimeoutMs);

  pc.onicecandidate = (event) => {
    if (!closed && event.candidate) send({ type: 'candidate', candidate: candidateJSON(event.candidate) });
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

  pc.onconnectionstatechange = () => {
    if (closed) return;
    const state = pc.connectionState;
    onConnectionState(state);
    if (state === 'connected') {
      failedReported = false;
      timers.clearTimeout(timer);
    }
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
    if (signal.kind === 'offer') {
      if (isInitiator) return; // only the initiator offers; never answer our own role
      await setRemote(signal.description);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      if (!closed) send({ type: 'answer', sdp: answer.sdp });
    } else if (signal.kind === 'answer') {
      if (!isInitiator || hasRemoteDescription) return;
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
      if (!closed) send({ type: 'offer', sdp: offer.sdp });
    });
  }

  return {
    /** Applies one `signal.data` from the partner. Resolves once it is applied. */
    handleSignal(data) {
      const signal = parseSignal(data);
      return signal ? enqueue(() => apply(signal)) : work;
    },
    /** Closes the connection and stops the remote tracks. Idempotent. */
    close() {
      if (closed) return;
      closed = true;
      timers.clearTimeout(timer);
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
