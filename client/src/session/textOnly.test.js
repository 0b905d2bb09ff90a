// The session of a text-only user: no camera, no peer connection, the chat as
// the call (the rest: session.test.js, safety.test.js).
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeSocket, fakeStream, fakeTimers, fakeTrack } from '../testing/fakes.js';
import { createSession } from './session.js';


const profile = { name: 'Ada', gender: 'female', region: 'europe', interests: [], textOnly: false };
const textProfile = { ...profile, textOnly: true };
const settle = () => new Promise((r) => setTimeout(r, 0));

let socket, session, actions, storage, cameraAsked, peersMade, iceAsked, mediaResult;
const state = () => session.getSnapshot();

beforeEach(() => {
  socket = fakeSocket({ status: 'connected' });
  const items = {};
  storage = { getItem: (k) => items[k] ?? null, setItem: (k, v) => (items[k] = v), items };
  cameraAsked = 0;
  peersMade = 0;
  iceAsked = 0;
  mediaResult = () => Promise.resolve(fakeStream(fakeTrack('audio'), fakeTrack('video')));
  session = createSession({
    socket,
    media: {
      getLocalStream: () => {
        cameraAsked++;
        return mediaResult();
      },
      mediaGranted: async () => true,
    },
    createPeer: () => {
      peersMade++;
      return { handleSignal() {}, close() {}, getStats: async () => new Map() };
    },
    getIceConfig: async () => {
      iceAsked++;
      return { iceServers: [], relay: false };
    },
    timers: fakeTimers(),
    storage,
  });
  actions = session.actions;
});

describe('session: text only', () => {
  it('skips the camera, joins with textOnly: true, and remembers the choice with the profile', async () => {
    actions.start(textProfile);
    expect(state().phase).toBe('terms');
    actions.acceptTerms();
    await settle();
    expect(cameraAsked).toBe(0);
    expect(state().localStream).toBeNull();
    expect(socket.sent('join-queue')).toEqual([{ name: 'Ada', gender: 'female', region: 'europe', interests: [], textOnly: true }]);
    expect(JSON.parse(storage.items['zivro-profile'])).toMatchObject({ textOnly: true });
  });

  it('a video user joins without the field, as the original client does', async () => {
    actions.start(profile);
    await actions.requestPermissions();
    actions.acceptTerms();
    expect(socket.sent('join-queue')).toEqual([{ name: 'Ada', gender: 'female', region: 'europe', interests: [] }]);
  });

  it('a match opens no peer connection and sends no signal; the chat is open and works', async () => {
    const asked = iceAsked; // on connecting: whether the server has a relay
    actions.start(textProfile);
    actions.acceptTerms();
    socket.serverSends('matched', { roomId: 'r1', partnerId: 'p1', partnerName: 'Bob', isInitiator: true, textOnly: true });
    await settle();
    expect(state().phase).toBe('chat');
    expect(peersMade).toBe(0);
    expect(iceAsked).toBe(asked);
    expect(socket.sent('signal')).toEqual([]);
    expect(state().chatOpen).toBe(true);
    expect(actions.sendChat('hi')).toBe(true);
    socket.serverSends('chat-message', { from: 'p1', message: 'hello', timestamp: 1 });
    expect(state().messages.map((m) => [m.from, m.text])).toEqual([['me', 'hi'], ['partner', 'hello']]);
    expect(state().unread).toBe(0);
    actions.next();
    expect(socket.sent('next')).toEqual([undefined]);
    expect(state().phase).toBe('queue');
    expect(state().chatOpen).toBe(true);
  });

  it('terms accepted before: Start goes straight into the queue', () => {
    actions.start(textProfile);
    actions.acceptTerms();
    actions.goHome();
    actions.start(textProfile);
    expect(state().phase).toBe('queue');
    expect(socket.sent('join-queue')).toHaveLength(2);
  });

  it('a camera that fails offers to continue with text only', async () => {
    mediaResult = () => Promise.reject(Object.assign(new Error('none'), { name: 'NotFoundError' }));
    actions.start(profile);
    await settle();
    await settle();
    expect(state().phase).toBe('permissions');
    expect(state().permission.error).toBeTruthy();
    actions.continueTextOnly();
    expect(state().phase).toBe('terms');
    actions.acceptTerms();
    expect(socket.sent('join-queue')).toEqual([textProfile]);
    socket.serverSends('matched', { roomId: 'r1', partnerId: 'p1', partnerName: 'Bob', isInitiator: true, textOnly: true });
    await settle();
    expect(peersMade).toBe(0);
  });
});
