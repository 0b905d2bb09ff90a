import { describe, expect, it, vi } from 'vitest';
import { FakePeerConnection, fakeStream, fakeTimers, fakeTrack } from '../testing/fakes.js';
import { createPeer, parseSignal } from './peer.js';

const cand = (n) => ({ candidate: `candidate:${n}`, sdpMid: '0', sdpMLineIndex: 0 });

function setup(isInitiator, overrides = {}) {
  let pc;
  const sent = [];
  const timers = fakeTimers();
  const events = { streams: [], states: [], failed: [] };
  const local = fakeStream(fakeTrack('audio'), fakeTrack('video'));
  const peer = createPeer({
    isInitiator,
    localStream: local,
    iceServers: [{ urls: 'stun:example' }],
    send: (data) => sent.push(data),
    onRemoteStream: (s) => events.streams.push(s),
    onConnectionState: (s) => events.states.push(s),
    onFailed: (r) => events.failed.push(r),
    createPeerConnection: (config) => (pc = new FakePeerConnection(config)),
    createMediaStream: () => fakeStream(),
    timers,
    ...overrides,
  });
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { peer, pc, sent, timers, events, local, settle };
}

describe('peer', () => {
  it('uses the ICE servers and adds the local tracks', () => {
    const { pc, local } = setup(false);
    expect(pc.config).toEqual({ iceServers: [{ urls: 'stun:example' }] });
    expect(pc.tracks.map((t) => t.track)).toEqual(local.tracks);
  });

  it('the initiator sends an offer; the other side does not', async () => {
    const a = setup(true);
    const b = setup(false);
    await a.settle();
    // the original client's format: sdp is an RTCSessionDescriptionInit
    expect(a.sent).toEqual([{ type: 'offer', sdp: { type: 'offer', sdp: 'offer-sdp' } }]);
    expect(b.sent).toEqual([]);
    expect(b.pc.log).toEqual([]);
  });

  it('answers an offer', async () => {
    const { peer, pc, sent } = setup(false);
    await peer.handleSignal({ type: 'offer', sdp: 'offer-sdp' });
    expect(pc.log).toEqual(['setRemote:offer', 'createAnswer', 'setLocal:answer']);
    expect(sent).toEqual([{ type: 'answer', sdp: { type: 'answer', sdp: 'answer-sdp' } }]);
  });

  it('takes the original client’s messages: an object sdp and ice-candidate', async () => {
    const { peer, pc, sent } = setup(false);
    await peer.handleSignal({ type: 'ice-candidate', candidate: cand(1) });
    await peer.handleSignal({ type: 'offer', sdp: { type: 'offer', sdp: 'offer-sdp' } });
    expect(pc.remoteDescription).toEqual({ type: 'offer', sdp: 'offer-sdp' });
    expect(pc.candidates).toEqual([cand(1)]);
    expect(sent).toEqual([{ type: 'answer', sdp: { type: 'answer', sdp: 'answer-sdp' } }]);
  });

  it('ignores a message type it does not know (media-state, or anything newer)', async () => {
    const { peer, pc, sent, events } = setup(false);
    await peer.handleSignal({ type: 'media-state', video: false, audio: true });
    await peer.handleSignal({ type: 'from-the-future' });
    expect(pc.log).toEqual([]);
    await peer.handleSignal({ type: 'offer', sdp: { type: 'offer', sdp: 'offer-sdp' } });
    expect(sent).toEqual([{ type: 'answer', sdp: { type: 'answer', sdp: 'answer-sdp' } }]);
    expect(events.failed).toEqual([]);
  });

  it('the initiator applies the answer once', async () => {
    const { peer, pc } = setup(true);
    await peer.handleSignal({ type: 'answer', sdp: 'answer-sdp' });
    await peer.handleSignal({ type: 'answer', sdp: 'again' });
    expect(pc.log.filter((l) => l.startsWith('setRemote'))).toEqual(['setRemote:answer']);
    expect(pc.remoteDescription.sdp).toBe('answer-sdp');
  });

  it('the initiator ignores an offer (only it offers)', async () => {
    const { peer, pc } = setup(true);
    await peer.handleSignal({ type: 'offer', sdp: 'x' });
    expect(pc.log).not.toContain('setRemote:offer');
  });

  it('queues ICE candidates that arrive before the remote description, then applies them in order', async () => {
    const { peer, pc } = setup(false);
    await peer.handleSignal({ type: 'candidate', candidate: cand(1) });
    await peer.handleSignal({ type: 'candidate', candidate: cand(2) });
    expect(peer.pendingCandidateCount).toBe(2);
    expect(pc.candidates).toEqual([]);
    await peer.handleSignal({ type: 'offer', sdp: 'offer-sdp' });
    expect(peer.pendingCandidateCount).toBe(0);
    expect(pc.log).toEqual([
      'setRemote:offer',
      'candidate:candidate:1',
      'candidate:candidate:2',
      'createAnswer',
      'setLocal:answer',
    ]);
    await peer.handleSignal({ type: 'candidate', candidate: cand(3) });
    expect(pc.candidates.map((c) => c.candidate)).toEqual(['candidate:1', 'candidate:2', 'candidate:3']);
  });

  it('applies signals in arrival order even when sent without waiting', async () => {
    const { peer, pc, settle } = setup(false);
    peer.handleSignal({ type: 'offer', sdp: 'offer-sdp' });
    peer.handleSignal({ type: 'candidate', candidate: cand(1) });
    await settle();
    expect(pc.log).toEqual(['setRemote:offer', 'createAnswer', 'setLocal:answer', 'candidate:candidate:1']);
  });

  it('the initiator queues candidates until the answer', async () => {
    const { peer, pc } = setup(true);
    await peer.handleSignal({ type: 'candidate', candidate: cand(1) });
    expect(pc.candidates).toEqual([]);
    await peer.handleSignal({ type: 'answer', sdp: 'answer-sdp' });
    expect(pc.candidates.map((c) => c.candidate)).toEqual(['candidate:1']);
  });

  it('sends its own ICE candidates as {type: ice-candidate}', () => {
    const { pc, sent } = setup(false);
    pc.onicecandidate({ candidate: { toJSON: () => cand(7) } });
    pc.onicecandidate({ candidate: null }); // end of candidates
    expect(sent).toEqual([{ type: 'ice-candidate', candidate: cand(7) }]);
  });

  it('hide my IP address: relay only', () => {
    const { pc } = setup(false, { relayOnly: true });
    expect(pc.config).toEqual({ iceServers: [{ urls: 'stun:example' }], iceTransportPolicy: 'relay' });
  });

  it('reports the remote stream and connection states', () => {
    const { pc, events } = setup(false);
    const remote = fakeStream(fakeTrack('video'));
    pc.ontrack({ track: remote.tracks[0], streams: [remote] });
    pc.emitState('connecting');
    pc.emitState('connected');
    expect(events.streams).toEqual([remote]);
    expect(events.states).toEqual(['connecting', 'connected']);
  });

  it('builds a stream when a track comes without one', () => {
    const { pc, events } = setup(false);
    const t = fakeTrack('audio');
    pc.ontrack({ track: t, streams: [] });
    expect(events.streams[0].getTracks()).toEqual([t]);
  });

  it('restarts ICE once when the connection fails, then gives up', async () => {
    const { pc, events, sent, settle } = setup(true);
    await settle();
    await pc.setRemoteDescription({ type: 'answer', sdp: 'a' });
    pc.emitState('failed');
    await settle();
    expect(events.failed).toEqual([]);
    expect(events.states).toEqual(['restarting']);
    expect(pc.log).toContain('createOffer:iceRestart');
    expect(sent.at(-1)).toEqual({ type: 'offer', sdp: { type: 'offer', sdp: 'offer-sdp' } });
    pc.emitState('failed');
    expect(events.failed).toEqual(['failed']);
  });

  it('a restart that does not connect in time gives up; one that does keeps the call', () => {
    const slow = setup(false);
    slow.pc.emitState('failed');
    slow.timers.flush();
    expect(slow.events.failed).toEqual(['failed']);

    const ok = setup(false);
    ok.pc.emitState('failed');
    ok.pc.emitState('connected');
    ok.timers.flush();
    expect(ok.events.failed).toEqual([]);
    expect(ok.events.states).toEqual(['restarting', 'connected']);
  });

  it('the initiator takes the answer to its restart offer', async () => {
    const { peer, pc, settle } = setup(true);
    await settle();
    await peer.handleSignal({ type: 'answer', sdp: { type: 'answer', sdp: 'first' } });
    pc.emitState('failed');
    await settle();
    await peer.handleSignal({ type: 'answer', sdp: { type: 'answer', sdp: 'second' } });
    expect(pc.remoteDescription.sdp).toBe('second');
  });

  it('the other side, when its connection fails, asks the initiator for the restart', () => {
    const { pc, sent } = setup(false);
    pc.emitState('failed');
    expect(sent).toEqual([{ type: 'ice-restart' }]);
  });

  describe('restartIce, after the signalling resumed', () => {
    const connectedInitiator = async () => {
      const a = setup(true);
      await a.settle();
      await a.peer.handleSignal({ type: 'answer', sdp: { type: 'answer', sdp: 'first' } });
      a.pc.emitState('connected');
      a.sent.length = 0;
      a.pc.log.length = 0;
      return a;
    };

    it('does nothing to a connection that is fine', async () => {
      const { peer, pc, sent, settle } = await connectedInitiator();
      expect(peer.restartIce()).toBe(false);
      await settle();
      expect(pc.log).toEqual([]);
      expect(sent).toEqual([]);
    });

    it.each(['disconnected', 'failed'])('the initiator offers an ICE restart when %s', async (state) => {
      const { peer, pc, sent, settle } = await connectedInitiator();
      pc.iceConnectionState = state;
      expect(peer.restartIce()).toBe(true);
      await settle();
      expect(pc.log).toEqual(['createOffer:iceRestart', 'setLocal:offer']);
      expect(sent).toEqual([{ type: 'offer', sdp: { type: 'offer', sdp: 'offer-sdp' } }]);
      // Answered as usual.
      await peer.handleSignal({ type: 'answer', sdp: { type: 'answer', sdp: 'restarted' } });
      expect(pc.remoteDescription.sdp).toBe('restarted');
    });

    it('one restart offer at a time: another waits for its answer', async () => {
      const { peer, pc, settle } = await connectedInitiator();
      pc.connectionState = 'disconnected';
      peer.restartIce();
      peer.restartIce();
      await settle();
      expect(pc.log.filter((l) => l === 'createOffer:iceRestart')).toHaveLength(1);
    });

    it('the other side asks the initiator, which offers; the answer goes as usual', async () => {
      const b = setup(false);
      await b.peer.handleSignal({ type: 'offer', sdp: { type: 'offer', sdp: 'offer-sdp' } });
      b.sent.length = 0;
      b.pc.iceConnectionState = 'disconnected';
      expect(b.peer.restartIce()).toBe(true);
      expect(b.sent).toEqual([{ type: 'ice-restart' }]);

      const a = await connectedInitiator();
      await a.peer.handleSignal(b.sent[0]);
      expect(a.pc.log).toEqual(['createOffer:iceRestart', 'setLocal:offer']);
      await b.peer.handleSignal(a.sent[0]);
      expect(b.sent.at(-1)).toEqual({ type: 'answer', sdp: { type: 'answer', sdp: 'answer-sdp' } });
    });

    it('the other side ignores a restart request (only the initiator offers); a closed peer restarts nothing', async () => {
      const b = setup(false);
      await b.peer.handleSignal({ type: 'ice-restart' });
      expect(b.pc.log).toEqual([]);
      b.pc.iceConnectionState = 'failed';
      b.peer.close();
      expect(b.peer.restartIce()).toBe(false);
    });
  });

  it('fails when not connected before the timeout, not when connected', () => {
    const slow = setup(false);
    slow.timers.flush();
    expect(slow.events.failed).toEqual(['timeout']);

    const fast = setup(false);
    fast.pc.emitState('connected');
    expect(fast.timers.count).toBe(0);
    fast.timers.flush();
    expect(fast.events.failed).toEqual([]);
  });

  it('fails when negotiation throws', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { peer, pc, events } = setup(false);
    pc.setRemoteDescription = async () => {
      throw new Error('bad sdp');
    };
    await peer.handleSignal({ type: 'offer', sdp: 'x' });
    expect(events.failed).toEqual(['negotiation']);
    error.mockRestore();
  });

  it('close() closes the connection, stops remote tracks and goes quiet', async () => {
    const { peer, pc, sent, events, timers } = setup(false);
    const remote = fakeStream(fakeTrack('video'), fakeTrack('audio'));
    pc.ontrack({ track: remote.tracks[0], streams: [remote] });
    peer.close();
    peer.close();
    expect(pc.closed).toBe(true);
    expect(remote.tracks.every((t) => t.stopped)).toBe(true);
    expect(timers.count).toBe(0);
    await peer.handleSignal({ type: 'offer', sdp: 'x' });
    expect(sent).toEqual([]);
    expect(events.failed).toEqual([]);
  });

  it('does not stop the local tracks when closing', () => {
    const { peer, local } = setup(false);
    peer.close();
    expect(local.tracks.some((t) => t.stopped)).toBe(false);
  });
});

describe('parseSignal', () => {
  it.each([
    [{ type: 'offer', sdp: 's' }, { kind: 'offer', description: { type: 'offer', sdp: 's' } }],
    [{ type: 'answer', sdp: { type: 'answer', sdp: 's' } }, { kind: 'answer', description: { type: 'answer', sdp: 's' } }],
    [{ type: 'candidate', candidate: cand(1) }, { kind: 'candidate', candidate: cand(1) }],
    [{ candidate: 'candidate:1', sdpMid: '0' }, { kind: 'candidate', candidate: { candidate: 'candidate:1', sdpMid: '0' } }],
    [{ type: 'offer' }, null],
    ['junk', null],
    [null, null],
  ])('%j', (data, expected) => {
    expect(parseSignal(data)).toEqual(expected);
  });
});
