import { beforeEach, describe, expect, it } from 'vitest';
import { FakePeerConnection, fakeSocket, fakeStream, fakeTimers, fakeTrack } from '../testing/fakes.js';
import { createPeer } from '../webrtc/peer.js';
import { createSession } from './session.js';


const profile = { name: 'Ada', gender: 'female', region: 'europe' };
const settle = () => new Promise((r) => setTimeout(r, 0));

let socket, session, actions, pcs, timers, localStream, mediaResult, iceAsked, iceConfig, storage, grantedCheck;

beforeEach(() => {
  socket = fakeSocket();
  pcs = [];
  timers = fakeTimers();
  localStream = fakeStream(fakeTrack('audio'), fakeTrack('video'));
  mediaResult = () => Promise.resolve(localStream);
  grantedCheck = undefined; // a browser without the Permissions API
  iceAsked = 0;
  iceConfig = { iceServers: [{ urls: 'stun:s' }], relay: false };
  const kept = new Map();
  storage = { getItem: (k) => kept.get(k) ?? null, setItem: (k, v) => kept.set(k, v) };
  session = createSession({
    getIceConfig: async () => {
      iceAsked++;
      return iceConfig;
    },
    storage,
    socket,
    media: {
      getLocalStream: () => mediaResult(),
      get mediaGranted() {
        return grantedCheck;
      },
      listDevices: async () => ({ cameras: [{ deviceId: 'c1', label: 'Cam 1' }, { deviceId: 'c2', label: 'Cam 2' }], mics: [] }),
      switchTrack: async (stream, kind, deviceId) => {
        const track = { ...fakeTrack(kind), deviceId };
        return { stream: fakeStream(...stream.getTracks().filter((t) => t.kind !== kind), track), track };
      },
    },
    createPeer: (options) =>
      createPeer({
        ...options,
        createPeerConnection: (c) => {
          const pc = new FakePeerConnection(c);
          pcs.push(pc);
          return pc;
        },
        createMediaStream: () => fakeStream(),
        timers,
      }),
    timers,
  });
  actions = session.actions;
  socket.setStatus('connected');
});

const state = () => session.getSnapshot();

async function toQueue() {
  actions.start(profile);
  await actions.requestPermissions();
  actions.acceptTerms();
}

async function toChat({ partnerId = 'p1', roomId = 'r1', isInitiator = false } = {}) {
  await toQueue();
  socket.serverSends('matched', { roomId, partnerId, partnerName: 'Bob', isInitiator });
  await settle(); // the peer connection is made once the ICE configuration is in
}

const offer = (sdp = 'offer-sdp') => ({ type: 'offer', sdp: { type: 'offer', sdp } });
const answer = (sdp = 'answer-sdp') => ({ type: 'answer', sdp: { type: 'answer', sdp } });

// A second visit on the same device: a new session over the same storage.
function revisit() {
  const again = fakeSocket();
  const next = createSession({
    socket: again,
    storage,
    timers,
    media: { getLocalStream: () => mediaResult(), mediaGranted: grantedCheck },
    createPeer: () => ({ handleSignal() {}, close() {}, getStats: async () => new Map() }),
  });
  again.setStatus('connected');
  return { socket: again, session: next, state: () => next.getSnapshot(), actions: next.actions };
}

describe('session: fewer steps', () => {
  it('the permission step is skipped when the browser already allows the camera', async () => {
    grantedCheck = async () => true;
    actions.start(profile);
    expect(state().phase).toBe('permissions');
    expect(state().permission.silent).toBe(true); // the modal stays hidden
    await settle();
    await settle();
    expect(state().phase).toBe('terms');
    expect(state().localStream).toBe(localStream);
  });

  it('the permission step shows when the browser would ask', async () => {
    grantedCheck = async () => false;
    actions.start(profile);
    await settle();
    expect(state().phase).toBe('permissions');
    expect(state().permission.silent).toBe(false);
  });

  it('a camera that fails although allowed shows the step with the error', async () => {
    grantedCheck = async () => true;
    mediaResult = () => Promise.reject(Object.assign(new Error('busy'), { name: 'NotReadableError' }));
    actions.start(profile);
    await settle();
    await settle();
    expect(state().phase).toBe('permissions');
    expect(state().permission).toMatchObject({ silent: false, requesting: false });
    expect(state().permission.error).toBe('media.inUse');
  });

  it('terms are accepted once per device: the next session goes from the camera straight to the queue', async () => {
    await toQueue();
    const next = revisit();
    expect(next.state().termsAccepted).toBe(true);
    next.actions.start(profile);
    await next.actions.requestPermissions();
    expect(next.state().phase).toBe('queue');
    expect(next.socket.sent('join-queue')).toEqual([profile]);
  });

  it('terms accepted in an older version are asked again', async () => {
    storage.setItem('zivro-terms-version', '0');
    const next = revisit();
    next.actions.start(profile);
    await next.actions.requestPermissions();
    expect(next.state().phase).toBe('terms');
  });

  it('after End call, Start goes to the queue without the terms', async () => {
    await toChat();
    actions.goHome();
    actions.start(profile);
    await actions.requestPermissions();
    expect(state().phase).toBe('queue');
  });

  it('the profile is remembered on the device; a broken or invalid one is not', () => {
    actions.start({ ...profile, interests: ['chess'] });
    expect(revisit().state().profile).toEqual({ ...profile, textOnly: false, language: '' });
    storage.setItem('zivro-profile', '{"name":"A","gender":"x"}');
    expect(revisit().state().profile).toBeNull();
    storage.setItem('zivro-profile', 'not json');
    expect(revisit().state().profile).toBeNull();
  });
});

describe('session: getting into the queue', () => {
  it('start → permissions → terms → queue, emitting join-queue with the profile', async () => {
    actions.start(profile);
    expect(state().phase).toBe('permissions');
    await actions.requestPermissions();
    expect(state().phase).toBe('terms');
    expect(state().localStream).toBe(localStream);
    actions.acceptTerms();
    expect(state().phase).toBe('queue');
    expect(socket.sent('join-queue')).toEqual([profile]);
  });

  it('join-queue carries the language to be matched on only when there is one', async () => {
    actions.start({ ...profile, language: '' });
    await actions.requestPermissions();
    actions.acceptTerms();
    actions.goHome();
    actions.start({ ...profile, language: 'es' });
    await actions.requestPermissions();
    expect(socket.sent('join-queue')).toEqual([profile, { ...profile, language: 'es' }]);
  });

  it('a refused permission shows a message and stays on the step', async () => {
    mediaResult = () => Promise.reject(Object.assign(new Error('no'), { name: 'NotAllowedError' }));
    actions.start(profile);
    await actions.requestPermissions();
    expect(state().phase).toBe('permissions');
    expect(state().permission.error).toBe('media.blocked');
    actions.goHome();
    expect(state().phase).toBe('idle');
    expect(socket.sent('leave-queue')).toEqual([]); // never joined
  });

  it('a stream granted after the user went home is stopped', async () => {
    let resolve;
    mediaResult = () => new Promise((r) => (resolve = r));
    actions.start(profile);
    const pending = actions.requestPermissions();
    actions.goHome();
    resolve(localStream);
    await pending;
    expect(state().phase).toBe('idle');
    expect(localStream.tracks.every((t) => t.stopped)).toBe(true);
  });

  it('declining the terms goes home and stops the camera', async () => {
    actions.start(profile);
    await actions.requestPermissions();
    actions.goHome();
    expect(state().phase).toBe('idle');
    expect(state().localStream).toBeNull();
    expect(localStream.tracks.every((t) => t.stopped)).toBe(true);
  });

  it('cannot join the queue while disconnected', async () => {
    actions.start(profile);
    await actions.requestPermissions();
    socket.setStatus('disconnected');
    actions.acceptTerms();
    expect(state().phase).toBe('terms');
  });

  it('partner-left during permissions or terms does not change the view', async () => {
    actions.start(profile);
    socket.serverSends('partner-left', { reason: 'next' });
    expect(state().phase).toBe('permissions');
    await actions.requestPermissions();
    socket.serverSends('partner-left', { reason: 'leave' });
    expect(state().phase).toBe('terms');
  });

  it('Cancel emits leave-queue, goes home, stops the camera; a late match is ignored', async () => {
    await toQueue();
    actions.goHome();
    expect(socket.sent('leave-queue')).toEqual([undefined]);
    expect(state().phase).toBe('idle');
    expect(localStream.tracks.every((t) => t.stopped)).toBe(true);
    socket.serverSends('matched', { roomId: 'r1', partnerId: 'p1', partnerName: 'Bob', isInitiator: true });
    expect(state().phase).toBe('idle');
    expect(pcs).toHaveLength(0);
  });
});

describe('session: the call', () => {
  it('on matched the initiator offers, addressed to the partner', async () => {
    await toChat({ isInitiator: true });
    await settle();
    expect(state().phase).toBe('chat');
    expect(pcs).toHaveLength(1);
    expect(socket.sent('signal')).toEqual([{ to: 'p1', data: offer() }]);
  });

  it('an offer arriving right after matched (before any view mounts) is answered', async () => {
    await toChat();
    socket.serverSends('signal', { from: 'p1', data: offer() });
    await settle();
    expect(socket.sent('signal')).toEqual([{ to: 'p1', data: answer() }]);
  });

  it('an offer arriving between matched and the peer connection is kept, and answered', async () => {
    await toQueue();
    socket.serverSends('matched', { roomId: 'r1', partnerId: 'p1', partnerName: 'Bob', isInitiator: false });
    socket.serverSends('signal', { from: 'p1', data: offer() }); // before the ICE configuration is in
    await settle();
    expect(socket.sent('signal')).toEqual([{ to: 'p1', data: answer() }]);
  });

  it('signals that arrive before matched are kept for that partner', async () => {
    await toQueue();
    socket.serverSends('signal', { from: 'p1', data: offer() });
    socket.serverSends('signal', { from: 'p1', data: { type: 'ice-candidate', candidate: { candidate: 'c1' } } });
    socket.serverSends('signal', { from: 'stale', data: offer('other') });
    socket.serverSends('matched', { roomId: 'r1', partnerId: 'p1', partnerName: 'Bob', isInitiator: false });
    await settle();
    expect(pcs[0].remoteDescription.sdp).toBe('offer-sdp');
    expect(pcs[0].candidates).toEqual([{ candidate: 'c1' }]);
    expect(socket.sent('signal')).toEqual([{ to: 'p1', data: answer() }]);
  });

  it('a new partner’s offer that comes during a call, before its matched, is kept', async () => {
    await toChat({ partnerId: 'p1', roomId: 'r1' });
    socket.serverSends('signal', { from: 'p2', data: offer('from-p2') });
    socket.serverSends('partner-left', { reason: 'next' });
    socket.serverSends('matched', { roomId: 'r2', partnerId: 'p2', partnerName: 'Cleo', isInitiator: false });
    await settle();
    expect(pcs[1].remoteDescription.sdp).toBe('from-p2');
  });

  it('never replays a previous pairing’s signals', async () => {
    await toChat({ partnerId: 'p1', roomId: 'r1', isInitiator: true });
    socket.serverSends('partner-left', { reason: 'next' });
    // the ended call's late messages
    socket.serverSends('signal', { from: 'p1', data: answer('late') });
    socket.serverSends('signal', { from: 'p1', data: { type: 'ice-candidate', candidate: { candidate: 'late' } } });
    socket.serverSends('matched', { roomId: 'r2', partnerId: 'p1', partnerName: 'Bob', isInitiator: true });
    await settle();
    expect(pcs[1].remoteDescription).toBeNull();
    expect(pcs[1].log).not.toContain('candidate:late');
  });

  it('asks for the ICE configuration before each call, and hides the IP address when asked and possible', async () => {
    expect(iceAsked).toBe(1); // on connecting: whether the server has a relay
    await toChat({ roomId: 'r1' });
    expect(iceAsked).toBe(2);
    expect(pcs[0].config).toEqual({ iceServers: [{ urls: 'stun:s' }] });
    actions.setHideIp(true);
    expect(storage.getItem('zivro-hide-ip')).toBe('true');
    iceConfig = { iceServers: [{ urls: 'turn:t', username: 'u', credential: 'c' }], relay: true };
    actions.next();
    socket.serverAcks('next', { ok: true });
    expect(iceAsked).toBe(3);
    socket.serverSends('matched', { roomId: 'r2', partnerId: 'p2', partnerName: 'Cleo', isInitiator: false });
    await settle();
    expect(pcs[1].config).toEqual({ iceServers: iceConfig.iceServers, iceTransportPolicy: 'relay' });
    expect(state().call.relayOnly).toBe(true);
  });

  it('without a relay on the server, hiding the IP address cannot force one', async () => {
    actions.setHideIp(true);
    await toChat();
    expect(pcs[0].config).toEqual({ iceServers: [{ urls: 'stun:s' }] });
    expect(state().call.relayOnly).toBe(false);
  });

  it('learns on each connection whether the server has a relay ("hide my IP address" can work)', async () => {
    await settle();
    expect(state().relayAvailable).toBe(false);
    iceConfig = { iceServers: [{ urls: 'turn:t', username: 'u', credential: 'c' }], relay: true };
    socket.setStatus('disconnected');
    socket.setStatus('connected');
    await settle();
    expect(state().relayAvailable).toBe(true);
    actions.goHome();
    expect(state().relayAvailable).toBe(true);
  });

  it('lists the devices and switches the camera, in the call too', async () => {
    await toChat();
    await actions.listDevices();
    expect(state().devices.cameras.map((d) => d.deviceId)).toEqual(['c1', 'c2']);
    actions.toggleCamera(); // off: the new camera stays off
    await actions.selectDevice('video', 'c2');
    const video = state().localStream.getTracks().find((t) => t.kind === 'video');
    expect(video.deviceId).toBe('c2');
    expect(video.enabled).toBe(false);
    expect(state().devices.video).toBe('c2');
    expect(pcs[0].replaced).toEqual([video]);
  });

  it('reads the call quality while the call lasts', async () => {
    await toChat();
    timers.flush();
    await settle();
    expect(state().call.quality).toEqual({ rttMs: null, lossPct: null, relayed: false });
  });

  it('partner-left shows a short notice', async () => {
    await toChat();
    socket.serverSends('partner-left', { reason: 'next' });
    expect(state().notice).toEqual({ kind: 'partner-left' });
  });

  it('ignores signals from anyone but the current partner', async () => {
    await toChat();
    socket.serverSends('signal', { from: 'intruder', data: { type: 'offer', sdp: 'x' } });
    await settle();
    expect(pcs[0].log).toEqual([]);
  });

  it('shows the remote stream and the connection state', async () => {
    await toChat();
    const remote = fakeStream(fakeTrack('video'));
    pcs[0].ontrack({ track: remote.tracks[0], streams: [remote] });
    pcs[0].emitState('connected');
    expect(state().remoteStream).toBe(remote);
    expect(state().call).toMatchObject({ connectionState: 'connected', hasRemoteTrack: true, failed: false });
  });

  it('a call not connected after the timeout is marked failed; Next requeues', async () => {
    await toChat();
    timers.flush();
    expect(state().call.failed).toBe(true);
    actions.next();
    expect(socket.sent('next')).toEqual([undefined]);
    expect(state().phase).toBe('queue');
    expect(pcs[0].closed).toBe(true);
  });

  it('partner-left → queue: the peer closed, remote tracks stopped, the camera kept', async () => {
    await toChat();
    const remote = fakeStream(fakeTrack('video'));
    pcs[0].ontrack({ track: remote.tracks[0], streams: [remote] });
    socket.serverSends('partner-left', { reason: 'leave' });
    expect(state().phase).toBe('queue');
    expect(state().remoteStream).toBeNull();
    expect(pcs[0].closed).toBe(true);
    expect(remote.tracks.every((t) => t.stopped)).toBe(true);
    expect(localStream.tracks.some((t) => t.stopped)).toBe(false);
    expect(state().localStream).toBe(localStream);
  });

  it('a new match during a call replaces the call cleanly', async () => {
    await toChat({ partnerId: 'p1', roomId: 'r1' });
    const oldPc = pcs[0];
    socket.serverSends('matched', { roomId: 'r2', partnerId: 'p2', partnerName: 'Cleo', isInitiator: true });
    await settle();
    await settle();
    expect(oldPc.closed).toBe(true);
    expect(pcs).toHaveLength(2);
    expect(state().partner).toMatchObject({ id: 'p2', name: 'Cleo' });
    // the old connection's late events no longer touch the call
    oldPc.emitState('failed');
    expect(state().call.failed).toBe(false);
    socket.serverSends('signal', { from: 'p1', data: { type: 'answer', sdp: 'x' } });
    await settle();
    expect(pcs[1].remoteDescription).toBeNull();
  });

  it('End call emits leave-queue, goes home and stops everything', async () => {
    await toChat();
    actions.goHome();
    expect(socket.sent('leave-queue')).toEqual([undefined]);
    expect(state().phase).toBe('idle');
    expect(pcs[0].closed).toBe(true);
    expect(localStream.tracks.every((t) => t.stopped)).toBe(true);
  });

  it('camera and mic toggles disable the local tracks', async () => {
    await toChat();
    actions.toggleCamera();
    actions.toggleMic();
    expect(localStream.tracks.map((t) => [t.kind, t.enabled])).toEqual([
      ['audio', false],
      ['video', false],
    ]);
    actions.toggleCamera();
    expect(localStream.tracks.find((t) => t.kind === 'video').enabled).toBe(true);
  });
});

describe('session: the partner’s camera and microphone (media-state)', () => {
  const mediaStates = () => socket.sent('signal').filter((s) => s.data.type === 'media-state');

  it('tells the partner on each toggle during the call, and nothing while everything is on', async () => {
    await toChat();
    pcs[0].emitState('connected');
    expect(mediaStates()).toEqual([]); // a call with everything on speaks the original client's messages only
    actions.toggleCamera();
    actions.toggleMic();
    actions.toggleCamera();
    expect(mediaStates()).toEqual([
      { to: 'p1', data: { type: 'media-state', video: false, audio: true } },
      { to: 'p1', data: { type: 'media-state', video: false, audio: false } },
      { to: 'p1', data: { type: 'media-state', video: true, audio: false } },
    ]);
  });

  it('a camera already off is told once the next call connects', async () => {
    await toChat();
    actions.toggleCamera();
    socket.serverSends('partner-left', { reason: 'next' });
    socket.serverSends('matched', { roomId: 'r2', partnerId: 'p2', partnerName: 'Cy', isInitiator: false });
    await settle();
    const before = mediaStates().length;
    pcs[1].emitState('connected');
    pcs[1].emitState('connected');
    expect(mediaStates().slice(before)).toEqual([{ to: 'p2', data: { type: 'media-state', video: false, audio: true } }]);
  });

  it('shows what the partner told, only the current partner’s, reset for a new partner', async () => {
    await toChat();
    expect(state().partnerMedia).toEqual({ video: true, audio: true });
    socket.serverSends('signal', { from: 'intruder', data: { type: 'media-state', video: false, audio: false } });
    expect(state().partnerMedia).toEqual({ video: true, audio: true });
    socket.serverSends('signal', { from: 'p1', data: { type: 'media-state', video: false, audio: true } });
    expect(state().partnerMedia).toEqual({ video: false, audio: true });
    socket.serverSends('signal', { from: 'p1', data: { type: 'media-state', video: true, audio: false } });
    expect(state().partnerMedia).toEqual({ video: true, audio: false });
    expect(pcs[0].log).toEqual([]); // not a WebRTC message
    socket.serverSends('matched', { roomId: 'r2', partnerId: 'p2', partnerName: 'Cy', isInitiator: false });
    expect(state().partnerMedia).toEqual({ video: true, audio: true });
  });

  it('a message type it does not know is ignored, the call goes on', async () => {
    await toChat();
    socket.serverSends('signal', { from: 'p1', data: { type: 'from-the-future', x: 1 } });
    socket.serverSends('signal', { from: 'p1', data: offer() });
    await settle();
    expect(pcs[0].log).toEqual(['setRemote:offer', 'createAnswer', 'setLocal:answer']);
    expect(state().call.failed).toBe(false);
  });
});

describe('session: chat', () => {
  it('sends trimmed messages capped at 500 characters', async () => {
    await toChat();
    expect(actions.sendChat('   ')).toBe(false);
    expect(actions.sendChat('  hi  ')).toBe(true);
    actions.sendChat('x'.repeat(600));
    expect(socket.sent('chat-message')).toEqual([{ message: 'hi' }, { message: 'x'.repeat(500) }]);
    expect(state().messages.map((m) => [m.from, m.text.length])).toEqual([
      ['me', 2],
      ['me', 500],
    ]);
  });

  it('receives the partner’s messages only', async () => {
    await toChat();
    socket.serverSends('chat-message', { from: 'p1', message: 'hello', timestamp: 42 });
    socket.serverSends('chat-message', { from: 'old', message: 'boo', timestamp: 43 });
    expect(state().messages).toEqual([{ id: 1, from: 'partner', text: 'hello', timestamp: 42 }]);
    expect(state().unread).toBe(1);
  });
});
