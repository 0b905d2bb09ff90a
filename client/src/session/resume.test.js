// The session across a drop of its connection (Socket.IO connection state
// recovery, CONTRACT.md "Resuming a session"), and matched events that cross
// our own Next or leave on the wire (docs/ordering.md). The rest:
// session.test.js.
import { beforeEach, describe, expect, it } from 'vitest';
import { isPartnerStalled, isReconnecting } from '../state/flow.js';
import { createSocket } from '../socket/socket.js';
import { FakePeerConnection, fakeSocket, fakeStream, fakeTimers, fakeTrack } from '../testing/fakes.js';
import { createPeer } from '../webrtc/peer.js';
import { NOTICE_MS, createSession } from './session.js';

const profile = { name: 'Ada', gender: 'female', region: 'europe' };
const settle = () => new Promise((r) => setTimeout(r, 0));
const answer = { type: 'answer', sdp: { type: 'answer', sdp: 'answer-sdp' } };
const offer = { type: 'offer', sdp: { type: 'offer', sdp: 'offer-sdp' } };

let socket, session, actions, pcs, timers, localStream;
const state = () => session.getSnapshot();

function start(withSocket) {
  socket = withSocket;
  pcs = [];
  timers = fakeTimers();
  localStream = fakeStream(fakeTrack('audio'), fakeTrack('video'));
  const kept = new Map();
  session = createSession({
    socket,
    storage: { getItem: (k) => kept.get(k) ?? null, setItem: (k, v) => kept.set(k, v) },
    getIceConfig: async () => ({ iceServers: [], relay: false }),
    media: { getLocalStream: async () => localStream },
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
}

beforeEach(() => {
  start(fakeSocket());
  socket.setStatus('connected');
});

async function toQueue() {
  actions.start(profile);
  await actions.requestPermissions();
  actions.acceptTerms();
  socket.serverAcks('join-queue', { ok: true });
}

const matched = (partnerId = 'p1', roomId = 'r1', isInitiator = false) => ({ roomId, partnerId, partnerName: 'Bob', isInitiator });

async function toChat(partnerId, roomId, isInitiator) {
  await toQueue();
  socket.serverSends('matched', matched(partnerId, roomId, isInitiator));
  await settle(); // the peer connection is made once the ICE configuration is in
}

// A call with media flowing: the answer applied (initiator), connected, playing.
async function inCall({ isInitiator = false } = {}) {
  await toChat('p1', 'r1', isInitiator);
  if (isInitiator) await socket.serverSends('signal', { from: 'p1', data: answer });
  else socket.serverSends('signal', { from: 'p1', data: offer });
  await settle();
  const remote = fakeStream(fakeTrack('video'));
  pcs[0].ontrack({ track: remote.tracks[0], streams: [remote] });
  pcs[0].emitState('connected');
  actions.remotePlaying('r1');
}

const drop = () => socket.setStatus('disconnected');
const resume = () => socket.setStatus('connected', { recovered: true });
const renew = () => socket.setStatus('connected', { recovered: false });

describe('session: a drop in a call', () => {
  it('keeps the call and its peer connection while reconnecting', async () => {
    await inCall();
    const before = state();
    drop();
    expect(state().phase).toBe('chat');
    expect(isReconnecting(state())).toBe(true);
    expect(state().partner).toEqual(before.partner);
    expect(state().remoteStream).toBe(before.remoteStream); // the video keeps playing
    expect(pcs).toHaveLength(1);
    expect(pcs[0].closed).toBe(false);
  });

  it('chat typed while reconnecting is shown and sent on the resume, in order', async () => {
    await inCall();
    drop();
    expect(actions.sendChat(' one ')).toBe(true);
    expect(actions.sendChat('two')).toBe(true);
    expect(state().messages.map((m) => m.text)).toEqual(['one', 'two']);
    expect(socket.sent('chat-message')).toEqual([]);
    resume();
    expect(socket.sent('chat-message')).toEqual([{ message: 'one' }, { message: 'two' }]);
  });

  it('signals made while reconnecting (candidates, media-state) are sent on the resume', async () => {
    await inCall();
    drop();
    pcs[0].onicecandidate({ candidate: { candidate: 'candidate:late', sdpMid: '0', sdpMLineIndex: 0 } });
    actions.toggleCamera();
    expect(socket.sent('signal')).not.toContainEqual(expect.objectContaining({ data: expect.objectContaining({ type: 'media-state' }) }));
    resume();
    expect(socket.sent('signal').slice(-2)).toEqual([
      { to: 'p1', data: { type: 'ice-candidate', candidate: { candidate: 'candidate:late', sdpMid: '0', sdpMLineIndex: 0 } } },
      { to: 'p1', data: { type: 'media-state', video: false, audio: true } },
    ]);
  });

  it('recovered: the same call carries on, silently (no rejoin, no notice, no banner)', async () => {
    await inCall();
    const before = state();
    drop();
    resume();
    expect(state().phase).toBe('chat');
    expect(state().partner).toEqual(before.partner);
    expect(state().call).toEqual(before.call);
    expect(state().notice).toBeNull();
    expect(state().reconnected).toBe(false);
    expect(isReconnecting(state())).toBe(false);
    expect(socket.sent('join-queue')).toEqual([profile]); // the first join only
    expect(pcs[0].closed).toBe(false);
    socket.serverSends('chat-message', { from: 'p1', message: 'still here', timestamp: 5 });
    expect(state().messages.at(-1).text).toBe('still here');
  });

  it('not recovered: back to the queue with the notice, rejoined with the remembered profile, camera kept', async () => {
    await inCall();
    drop();
    renew();
    expect(state().phase).toBe('queue');
    expect(state().partner).toBeNull();
    expect(state().notice).toEqual({ kind: 'resume-lost' });
    expect(socket.sent('join-queue')).toEqual([profile, profile]);
    expect(pcs[0].closed).toBe(true);
    expect(state().remoteStream).toBeNull();
    expect(localStream.tracks.some((t) => t.stopped)).toBe(false);
    timers.flush(); // the notice goes after NOTICE_MS
    expect(state().notice).toBeNull();
    expect(NOTICE_MS).toBeGreaterThan(0);
  });

  it('not recovered, and the rejoin refused: home, saying why', async () => {
    await inCall();
    drop();
    renew();
    socket.serverAcks('join-queue', { ok: false, code: 'draining', error: 'draining' });
    expect(state().phase).toBe('idle');
    expect(state().notice).toEqual({ kind: 'refused', code: 'draining' });
  });
});

describe('session: a drop in the queue, or away from it', () => {
  it('in the queue: recovered keeps the place (no join); not recovered joins again with the notice', async () => {
    await toQueue();
    drop();
    expect(isReconnecting(state())).toBe(true);
    resume();
    expect(socket.sent('join-queue')).toEqual([profile]);
    expect(state().notice).toBeNull();
    drop();
    renew();
    expect(state().phase).toBe('queue');
    expect(socket.sent('join-queue')).toEqual([profile, profile]);
    expect(state().notice).toEqual({ kind: 'resume-lost' });
  });

  it('a match the server kept while we were away comes after the resume, and the call starts', async () => {
    await toQueue();
    drop();
    resume();
    socket.serverSends('matched', matched('p2', 'r2', true));
    await settle();
    expect(state().phase).toBe('chat');
    expect(pcs[0].log).toContain('createOffer');
  });

  it.each([
    ['recovered', resume],
    ['a new session', renew],
  ])('on the landing page (%s): no join, no notice; the banner for a while', (_, back) => {
    drop();
    expect(isReconnecting(state())).toBe(false);
    back();
    expect(state().phase).toBe('idle');
    expect(socket.emitted).toEqual([]);
    expect(state().notice).toBeNull();
    expect(state().reconnected).toBe(true);
    timers.flush();
    expect(state().reconnected).toBe(false);
  });

  it('during the terms: stays there, no join', async () => {
    actions.start(profile);
    await actions.requestPermissions();
    drop();
    renew();
    expect(state().phase).toBe('terms');
    expect(socket.sent('join-queue')).toEqual([]);
  });
});

describe('session: what the user does while reconnecting', () => {
  it('Next: to the queue at once; sent when the same session is back', async () => {
    await inCall();
    drop();
    actions.next();
    expect(state().phase).toBe('queue');
    expect(pcs[0].closed).toBe(true);
    expect(socket.sent('next')).toEqual([]);
    resume();
    expect(socket.sent('next')).toEqual([undefined]);
    expect(socket.sent('join-queue')).toEqual([profile]); // the Next requeues us: no join
  });

  it('Next, then a new session: nothing to end, the search starts again', async () => {
    await inCall();
    drop();
    actions.next();
    renew();
    expect(socket.sent('next')).toEqual([]);
    expect(socket.sent('join-queue')).toEqual([profile, profile]);
  });

  it('End call: home at once; leave-queue sent when the same session is back, never on a new one', async () => {
    await inCall();
    drop();
    actions.goHome();
    expect(state().phase).toBe('idle');
    resume();
    expect(socket.sent('leave-queue')).toEqual([undefined]);
    expect(state().notice).toBeNull();

    start(fakeSocket());
    socket.setStatus('connected');
    await inCall();
    drop();
    actions.goHome();
    renew();
    expect(socket.sent('leave-queue')).toEqual([]);
    expect(socket.sent('join-queue')).toEqual([profile]);
  });

  it('Next then End call, and a Cancel in the queue: each sent, in order, on the resume', async () => {
    await inCall();
    drop();
    actions.next();
    actions.goHome();
    resume();
    expect(socket.emitted.slice(-2)).toEqual([['next'], ['leave-queue']]);
  });

  it('block is not possible (it could hit whoever the server paired us with meanwhile); report fails', async () => {
    await inCall();
    drop();
    actions.block();
    expect(state().phase).toBe('chat');
    actions.report('spam');
    expect(state().notice).toEqual({ kind: 'report-failed' });
    resume();
    expect(socket.sent('block')).toEqual([]);
    expect(socket.sent('report')).toEqual([]);
  });
});

describe('session: requests a drop cut off unanswered', () => {
  it('a Next: sent again when the same session is back (the server may never have had it)', async () => {
    await inCall();
    actions.next();
    drop();
    resume();
    expect(socket.sent('next')).toEqual([undefined, undefined]);
    expect(socket.sent('join-queue')).toEqual([profile]);
  });

  it('answered before the drop: not sent again', async () => {
    await inCall();
    actions.next();
    socket.serverAcks('next', { ok: true });
    drop();
    resume();
    expect(socket.sent('next')).toEqual([undefined]);
  });

  it('a join: sent again on the same session (busy if it had it), once on a new one', async () => {
    actions.start(profile);
    await actions.requestPermissions();
    actions.acceptTerms();
    drop();
    resume();
    expect(socket.sent('join-queue')).toEqual([profile, profile]);
    socket.serverAcks('join-queue', { ok: false, code: 'busy', error: 'already queued or in a call' });
    expect(state().phase).toBe('queue');

    start(fakeSocket());
    socket.setStatus('connected');
    actions.start(profile);
    await actions.requestPermissions();
    actions.acceptTerms();
    drop();
    renew();
    expect(socket.sent('join-queue')).toEqual([profile, profile]);
  });

  it('a block: sent again as a Next (it may have taken effect; a second block could hit someone else)', async () => {
    await inCall();
    actions.block();
    drop();
    resume();
    expect(socket.emitted.slice(-1)).toEqual([['next']]);
    expect(socket.sent('block')).toHaveLength(1);
  });

  it('in order, before what was done while the connection was down', async () => {
    await inCall();
    actions.next();
    drop();
    actions.goHome();
    resume();
    expect(socket.emitted.slice(-2)).toEqual([['next'], ['leave-queue']]);
  });

  it('a matched replayed after the resend of a Next is checked', async () => {
    await inCall();
    actions.next();
    drop();
    resume();
    socket.serverSends('partner-left', { reason: 'leave' });
    socket.serverSends('matched', matched('p2', 'r2'));
    expect(state().phase).toBe('queue');
    socket.serverAcks('signal', { ok: false, code: 'not-your-partner', error: 'not your partner' });
    expect(state().phase).toBe('queue');
  });
});

describe('session: the peer connection after a resume', () => {
  it.each(['disconnected', 'failed'])('the initiator restarts ICE when its connection is %s', async (broken) => {
    await inCall({ isInitiator: true });
    drop();
    pcs[0].iceConnectionState = broken;
    resume();
    await settle();
    expect(pcs[0].log).toContain('createOffer:iceRestart');
    expect(socket.sent('signal').at(-1)).toEqual({ to: 'p1', data: offer });
    socket.serverSends('signal', { from: 'p1', data: { type: 'answer', sdp: { type: 'answer', sdp: 'restarted' } } });
    await settle();
    expect(pcs[0].remoteDescription.sdp).toBe('restarted');
  });

  it('the answering side asks the initiator for the restart, then answers its offer', async () => {
    await inCall();
    drop();
    pcs[0].connectionState = 'disconnected';
    resume();
    expect(socket.sent('signal').at(-1)).toEqual({ to: 'p1', data: { type: 'ice-restart' } });
    socket.serverSends('signal', { from: 'p1', data: offer });
    await settle();
    expect(pcs[0].log.filter((l) => l === 'createAnswer')).toHaveLength(2);
  });

  it('a connection still up is left alone', async () => {
    await inCall({ isInitiator: true });
    drop();
    resume();
    await settle();
    expect(pcs[0].log).not.toContain('createOffer:iceRestart');
  });
});

describe('session: the partner reconnecting', () => {
  const stats = (packetsReceived) => new Map([['in', { id: 'in', type: 'inbound-rtp', packetsReceived, packetsLost: 0 }]]);

  it('shows when nothing comes from the partner, and not once packets come again', async () => {
    await inCall();
    let received = 100;
    pcs[0].getStats = async () => stats(received);
    const poll = async () => {
      timers.flush();
      await settle();
    };
    await poll();
    expect(isPartnerStalled(state().call)).toBe(false); // the first reading: nothing to compare
    received = 150;
    await poll();
    expect(isPartnerStalled(state().call)).toBe(false);
    await poll(); // still 150
    expect(isPartnerStalled(state().call)).toBe(true);
    received = 160;
    await poll();
    expect(isPartnerStalled(state().call)).toBe(false);
  });

  it('a reading that fails changes nothing', async () => {
    await inCall();
    let received = 100;
    pcs[0].getStats = async () => stats(received);
    const poll = async () => {
      timers.flush();
      await settle();
    };
    await poll();
    received = 120;
    await poll();
    pcs[0].getStats = async () => {
      throw new Error('closing');
    };
    await poll();
    expect(isPartnerStalled(state().call)).toBe(false);
  });

  it("shows when the partner's connection is disconnected", async () => {
    await inCall();
    pcs[0].emitState('disconnected');
    expect(isPartnerStalled(state().call)).toBe(true);
    pcs[0].emitState('connected');
    expect(isPartnerStalled(state().call)).toBe(false);
  });
});

describe('session: a matched that crosses our own Next or leave', () => {
  // The server had already ended r1 (the partner left) and paired us with
  // p2 when our Next came: its partner-left and matched crossed our Next.
  async function crossed() {
    await inCall();
    actions.next();
    socket.serverSends('partner-left', { reason: 'next' });
    socket.serverSends('matched', matched('p2', 'r2'));
    await settle();
  }
  const probes = () => socket.acks.filter((a) => a.event === 'signal');

  it('is checked with the server before it is shown, and never shown when the Next ended it', async () => {
    await crossed();
    expect(state().phase).toBe('queue');
    expect(probes().map((a) => a.payload)).toEqual([{ to: 'p2', data: { type: 'media-state', video: true, audio: true } }]);
    socket.serverAcks('signal', { ok: false, code: 'not-your-partner', error: 'not your partner' });
    socket.serverAcks('next', { ok: true });
    await settle();
    expect(state().phase).toBe('queue');
    expect(pcs).toHaveLength(1);
    // The next pairing, after the Next took effect, is shown at once.
    socket.serverSends('matched', matched('p3', 'r3'));
    expect(state().partner.id).toBe('p3');
  });

  it('is shown when the server says the pairing is current (our Next came before it)', async () => {
    await crossed();
    socket.serverAcks('signal', { ok: true });
    expect(state().phase).toBe('chat');
    expect(state().partner.id).toBe('p2');
  });

  it('is shown when the server cannot tell (no ack in time, or a refusal of another kind)', async () => {
    await crossed();
    socket.serverAcks('signal', null);
    expect(state().partner.id).toBe('p2');

    start(fakeSocket());
    socket.setStatus('connected');
    await crossed();
    socket.serverAcks('signal', { ok: false, code: 'too-many-held', error: 'x' });
    expect(state().partner.id).toBe('p2');
  });

  it('a doubtful matched that a later one overtook is not shown', async () => {
    await crossed();
    socket.serverAcks('next', { ok: true });
    socket.serverSends('matched', matched('p3', 'r3'));
    expect(state().partner.id).toBe('p3');
    socket.serverAcks('signal', { ok: true }); // the probe of p2 answers late
    expect(state().partner.id).toBe('p3');
  });

  it('without our own request pending, a matched is shown at once (no check)', async () => {
    await inCall();
    socket.serverSends('partner-left', { reason: 'leave' });
    socket.serverSends('matched', matched('p2', 'r2'));
    expect(state().partner.id).toBe('p2');
    expect(probes()).toEqual([]);
  });

  it('a Next owed over a drop is checked too: a kept matched replayed on the resume', async () => {
    await inCall();
    drop();
    actions.next();
    resume(); // the owed next is sent, then what the server kept for us comes
    socket.serverSends('partner-left', { reason: 'leave' });
    socket.serverSends('matched', matched('p2', 'r2'));
    expect(state().phase).toBe('queue');
    socket.serverAcks('signal', { ok: false, code: 'not-your-partner', error: 'not your partner' });
    expect(state().phase).toBe('queue');
  });

  it('after End call and a quick new start, a matched that crossed the leave is never shown', async () => {
    await inCall();
    actions.goHome();
    actions.start(profile);
    await actions.requestPermissions();
    socket.serverSends('matched', matched('p2', 'r2'));
    expect(state().phase).toBe('queue');
    socket.serverAcks('signal', { ok: false, code: 'no-partner', error: 'no partner' });
    expect(state().phase).toBe('queue');
  });
});

describe('session: over the real socket module', () => {
  // socket.io-client with recovery on adds the event's offset as a last argument.
  function fakeIo() {
    const handlers = {};
    const raw = {
      connected: true,
      recovered: false,
      emitted: [],
      sendBuffer: [],
      on: (e, h) => (handlers[e] ??= []).push(h),
      off: () => {},
      emit: (...args) => raw.emitted.push(args),
      timeout: () => ({ emit: (...args) => raw.emitted.push(args) }),
      fire: (e, ...args) => (handlers[e] ?? []).forEach((h) => h(...args)),
    };
    return raw;
  }

  it('the offset after each event is no payload', async () => {
    const raw = fakeIo();
    start(createSocket('', { connect: () => raw }));
    actions.start(profile);
    await actions.requestPermissions();
    actions.acceptTerms();
    raw.fire('matched', matched('p1', 'r1'), 'offset-1');
    expect(state().partner).toMatchObject({ id: 'p1', roomId: 'r1', name: 'Bob' });
    raw.fire('chat-message', { from: 'p1', message: 'hi', timestamp: 3 }, 'offset-2');
    expect(state().messages).toEqual([{ id: 1, from: 'partner', text: 'hi', timestamp: 3 }]);
    raw.fire('partner-left', { reason: 'next' }, 'offset-3');
    expect(state().phase).toBe('queue');
    expect(state().notice).toEqual({ kind: 'partner-left' });
  });
});
