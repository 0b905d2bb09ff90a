// The session's interests, report and block (the rest: session.test.js).
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeSocket, fakeStream, fakeTimers, fakeTrack } from '../testing/fakes.js';
import { createSession } from './session.js';


const profile = { name: 'Ada', gender: 'female', region: 'europe', interests: ['music', 'chess'] };

let socket, session, actions, timers, storage;
const state = () => session.getSnapshot();

beforeEach(() => {
  socket = fakeSocket({ status: 'connected' });
  timers = fakeTimers();
  const items = { 'zivro-interests': '["films"]' };
  storage = { getItem: (k) => items[k] ?? null, setItem: (k, v) => (items[k] = v), items };
  const localStream = fakeStream(fakeTrack('audio'), fakeTrack('video'));
  session = createSession({
    socket,
    media: { getLocalStream: () => Promise.resolve(localStream) },
    createPeer: () => ({ handleSignal() {}, close() {} }),
    timers,
    storage,
  });
  actions = session.actions;
});

async function toQueue() {
  actions.start(profile);
  await actions.requestPermissions();
  actions.acceptTerms();
}

async function toChat(extra = {}) {
  await toQueue();
  socket.serverSends('matched', { roomId: 'r1', partnerId: 'p1', partnerName: 'Bob', isInitiator: false, ...extra });
}

describe('session: interests', () => {
  it('offers the remembered interests, sends the new ones and remembers them', async () => {
    expect(state().interests).toEqual(['films']);
    await toQueue();
    expect(socket.sent('join-queue')).toEqual([profile]);
    expect(JSON.parse(storage.items['zivro-interests'])).toEqual(['music', 'chess']);
    actions.goHome();
    expect(state().interests).toEqual(['music', 'chess']);
  });

  it('keeps the common interests of a match, and only strings', async () => {
    await toChat({ commonInterests: ['music', 7, null] });
    expect(state().partner.commonInterests).toEqual(['music']);
  });

  it('keeps the partner\'s region of a match, only a string', async () => {
    await toChat({ partnerRegion: 'asia' });
    expect(state().partner.region).toBe('asia');
    socket.serverSends('matched', { roomId: 'r2', partnerId: 'p2', partnerName: 'Cy', partnerRegion: 7 });
    expect(state().partner.region).toBe('');
  });

  it('a match from a server without interests has none in common', async () => {
    await toChat();
    expect(state().partner.commonInterests).toEqual([]);
  });
});

describe('session: a refused join', () => {
  it('a cool-down sends the user home, saying why, until they start again', async () => {
    await toQueue();
    socket.serverAcks('join-queue', { ok: false, code: 'cooling-down', error: 'cooling down after reports: try again in 900 s' });
    expect(state().phase).toBe('idle');
    expect(state().notice).toEqual({ kind: 'refused', code: 'cooling-down' });
    expect(timers.count).toBe(0); // stays until the user starts again
    actions.start(profile);
    expect(state().notice).toBeNull();
  });

  it('an ok join, a busy answer or no answer keep the user waiting', async () => {
    await toQueue();
    for (const reply of [{ ok: true }, { ok: false, code: 'busy', error: 'already queued or in a call' }, null]) {
      socket.serverAcks('join-queue', reply);
      expect(state().phase).toBe('queue');
    }
  });

  it('reads the code, not the English text', async () => {
    await toQueue();
    socket.serverAcks('join-queue', { ok: false, code: 'draining', error: 'already queued or in a call' });
    expect(state().notice).toEqual({ kind: 'refused', code: 'draining' });
  });

  it('a refusal without a code still sends the user home', async () => {
    await toQueue();
    socket.serverAcks('join-queue', { ok: false, error: 'something' });
    expect(state().notice).toEqual({ kind: 'refused', code: '' });
  });
});

describe('session: report and block', () => {
  it('report sends the reason, thanks the user for a while, and once taken moves on to someone new', async () => {
    await toChat();
    actions.report('spam');
    expect(socket.sent('report')).toEqual([{ reason: 'spam' }]);
    expect(socket.sent('next')).toEqual([]); // not before the server took it
    socket.serverAcks('report', { ok: true });
    expect(socket.sent('next')).toEqual([undefined]);
    expect(state().phase).toBe('queue');
    expect(state().notice).toEqual({ kind: 'reported' });
  });

  it('"attach what I saw": the report carries the last 20 chat lines, both sides, cut to 300 characters (no video: no still)', async () => {
    await toChat();
    for (let i = 0; i < 22; i++) {
      if (i % 2) actions.sendChat(`mine ${i}`);
      else socket.serverSends('chat-message', { from: 'p1', message: i === 20 ? 'y'.repeat(400) : `theirs ${i}`, timestamp: 1000 + i });
    }
    await actions.report('harassment', { attach: true });
    const [sent] = socket.sent('report');
    expect(sent.reason).toBe('harassment');
    expect(sent.evidence.still).toBeUndefined();
    expect(sent.evidence.lines).toHaveLength(20);
    expect(sent.evidence.lines[0]).toEqual({ mine: false, text: 'theirs 2', at: 1002 });
    expect(sent.evidence.lines[1]).toMatchObject({ mine: true, text: 'mine 3' });
    expect(sent.evidence.lines[18]).toEqual({ mine: false, text: 'y'.repeat(300), at: 1020 });
  });

  it('without "attach what I saw" nothing but the reason is sent', async () => {
    await toChat();
    socket.serverSends('chat-message', { from: 'p1', message: 'hello', timestamp: 42 });
    await actions.report('spam', { attach: false });
    expect(socket.sent('report')).toEqual([{ reason: 'spam' }]);
  });

  it('"stay": report and stay in the call', async () => {
    await toChat();
    actions.report('spam', { stay: true });
    expect(socket.sent('report')).toEqual([{ reason: 'spam' }]);
    socket.serverAcks('report', { ok: true });
    expect(state().phase).toBe('chat');
    expect(state().notice).toEqual({ kind: 'reported' });
    timers.flush();
    expect(state().notice).toBeNull();
  });

  it('a refused or unanswered report says it failed', async () => {
    await toChat();
    actions.report('spam');
    socket.serverAcks('report', null);
    expect(state().notice).toEqual({ kind: 'report-failed' });
    expect(state().phase).toBe('chat');
    expect(socket.sent('next')).toEqual([]);
  });

  it('a report taken after the call already moved on does not skip the next partner', async () => {
    await toChat();
    actions.report('spam');
    socket.serverSends('matched', { roomId: 'r2', partnerId: 'p2', partnerName: 'Cy' });
    socket.serverAcks('report', { ok: true });
    expect(state().partner.id).toBe('p2');
    expect(socket.sent('next')).toEqual([]);
  });

  it('block ends the call as Next does and says so', async () => {
    await toChat();
    actions.block();
    expect(socket.sent('block')).toEqual([undefined]);
    expect(state().phase).toBe('queue');
    expect(state().partner).toBeNull();
    expect(state().notice).toEqual({ kind: 'blocked' });
  });

  it('report and block do nothing outside a call', async () => {
    await toQueue();
    actions.report('spam');
    actions.block();
    expect(socket.sent('report')).toEqual([]);
    expect(socket.sent('block')).toEqual([]);
  });
});
