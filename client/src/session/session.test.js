import { beforeEach, describe, expect, it } from 'vitest';
import { FakePeerConnection, fakeStream, fakeTimers, fakeTrack } from '../testing/fakes.js';
import { createPeer } from '../webrtc/peer.js';
import { createSession } from './session.js';

function fakeSocket() {
  const handlers = new Map();
  let statusListener;
  const socket = {
    status: 'connecting',
    emitted: [],
    getStatus: () => socket.status,
    onStatus: (l) => (statusListener = l),
    on: (event, handler) => handlers.set(event, handler),
    emit(event, payload) {
      if (socket.status !== 'connected') return false;
      socket.emitted.push(payload === undefined ? [event] : [event, payload]);
      return true;
    },
    // test helpers
    setStatus(status) {
      socket.status = status;
      statusListener(status);
    },
    serverSends: (event, payload) => handlers.get(event)(payload),
    sent: (event) => socket.emitted.filter(([e]) => e === event).map(([, p]) => p),
  };
  return socket;
}

const profile = { name: 'Ada', gender: 'female', region: 'europe' };
const settle = () => new Promise((r) => setTimeout(r, 0));

let socket, session, actions, pcs, timers, localStream, mediaResult;

beforeEach(() => {
  socket = fakeSocket();
  pcs = [];
  timers = fakeTimers();
  localStream = fakeStream(fakeTrack('audio'), fakeTrack('video'));
  mediaResult = () => Promise.resolve(localStream);
  session = createSession({
    socket,
    media: { getLocalStream: () => mediaResult() },
    createPeer: (options) =>
      createPeer({
        ...options,
        iceServers: [],
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
}

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

  it('a refused permission shows a message and stays on the step', async () => {
    mediaResult = () => Promise.reject(Object.assign(new Error('no'), { name: 'NotAllowedError' }));
    actions.start(profile);
    await actions.requestPermissions();
    expect(state().phase).toBe('permissions');
    expect(state().permission.error).toMatch(/blocked/);
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
    expect(socket.sent('signal')).toEqual([{ to: 'p1', data: { type: 'offer', sdp: 'offer-sdp' } }]);
  });

  it('an offer arriving right after matched (before any view mounts) is answered', async () => {
    await toChat();
    socket.serverSends('signal', { from: 'p1', data: { type: 'offer', sdp: 'offer-sdp' } });
    await settle();
    expect(socket.sent('signal')).toEqual([{ to: 'p1', data: { type: 'answer', sdp: 'answer-sdp' } }]);
  });

  it('signals that arrive before matched are kept for that partner', async () => {
    await toQueue();
    socket.serverSends('signal', { from: 'p1', data: { type: 'candidate', candidate: { candidate: 'c1' } } });
    socket.serverSends('signal', { from: 'p1', data: { type: 'offer', sdp: 'offer-sdp' } });
    socket.serverSends('signal', { from: 'stale', data: { type: 'offer', sdp: 'other' } });
    socket.serverSends('matched', { roomId: 'r1', partnerId: 'p1', partnerName: 'Bob', isInitiator: false });
    await settle();
    expect(pcs[0].remoteDescription.sdp).toBe('offer-sdp');
    expect(pcs[0].candidates).toEqual([{ candidate: 'c1' }]);
    expect(socket.sent('signal')).toEqual([{ to: 'p1', data: { type: 'answer', sdp: 'answer-sdp' } }]);
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

  it('a disconnect mid-call → home, everything stopped; reconnecting shows the banner for a while', async () => {
    await toChat();
    socket.setStatus('disconnected');
    expect(state().phase).toBe('idle');
    expect(pcs[0].closed).toBe(true);
    expect(localStream.tracks.every((t) => t.stopped)).toBe(true);
    socket.setStatus('connected');
    expect(state().reconnected).toBe(true);
    timers.flush();
    expect(state().reconnected).toBe(false);
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
