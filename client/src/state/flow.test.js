import { describe, expect, it } from 'vitest';
import { flowReducer, initialState, isMediaFlowing, isPartnerStalled, isReconnecting, isTextOnly } from './flow.js';

const profile = { name: 'Ada', gender: 'female', region: 'europe' };
const match = (partnerId = 'p1', roomId = 'r1', extra = {}) => ({
  type: 'MATCHED',
  roomId,
  partnerId,
  partnerName: 'Bob',
  isInitiator: true,
  ...extra,
});

const run = (...actions) => actions.reduce(flowReducer, initialState);
const run2 = (state, ...actions) => actions.reduce(flowReducer, state);
const online = { type: 'SOCKET_CONNECTED' };
const atPermissions = () => run(online, { type: 'START', profile });
const atTerms = () => flowReducer(atPermissions(), { type: 'PERMISSION_GRANTED' });
const atQueue = () => flowReducer(atTerms(), { type: 'TERMS_ACCEPTED' });
const atChat = (partnerId, roomId) => flowReducer(atQueue(), match(partnerId, roomId));

describe('flow: the happy path', () => {
  it('starts idle and connecting', () => {
    expect(initialState.phase).toBe('idle');
    expect(initialState.connection).toBe('connecting');
  });

  it('idle → permissions on START, keeping the profile', () => {
    const s = atPermissions();
    expect(s.phase).toBe('permissions');
    expect(s.profile).toEqual(profile);
  });

  it('permissions: requested, denied with a message, then granted → terms', () => {
    let s = flowReducer(atPermissions(), { type: 'PERMISSION_REQUESTED' });
    expect(s.permission).toEqual({ requesting: true, error: null, silent: false });
    s = flowReducer(s, { type: 'PERMISSION_DENIED', message: 'blocked' });
    expect(s.phase).toBe('permissions');
    expect(s.permission).toEqual({ requesting: false, error: 'blocked', silent: false });
    s = flowReducer(s, { type: 'PERMISSION_REQUESTED' });
    expect(s.permission.error).toBeNull();
    s = flowReducer(s, { type: 'PERMISSION_GRANTED' });
    expect(s.phase).toBe('terms');
  });

  it('terms → queue on TERMS_ACCEPTED, remembered past going home', () => {
    expect(atQueue().phase).toBe('queue');
    expect(atQueue().termsAccepted).toBe(true);
    expect(flowReducer(atQueue(), { type: 'GO_HOME' }).termsAccepted).toBe(true);
  });

  it('a START that checks the browser keeps the step silent until it would prompt or fails', () => {
    let s = run(online, { type: 'START', profile, checking: true });
    expect(s.permission.silent).toBe(true);
    s = flowReducer(s, { type: 'PERMISSION_REQUESTED' });
    expect(s.permission).toEqual({ requesting: true, error: null, silent: true });
    expect(flowReducer(s, { type: 'PERMISSION_DENIED', message: 'gone' }).permission.silent).toBe(false);
    expect(flowReducer(s, { type: 'PERMISSION_GRANTED' }).phase).toBe('terms');
    const prompt = flowReducer(run(online, { type: 'START', profile, checking: true }), { type: 'PERMISSION_PROMPT' });
    expect(prompt.permission.silent).toBe(false);
    expect(flowReducer(atTerms(), { type: 'PERMISSION_PROMPT' })).toEqual(atTerms());
  });

  it('queue → chat on MATCHED, with the partner', () => {
    const s = atChat('p1', 'r1');
    expect(s.phase).toBe('chat');
    expect(s.partner).toEqual({ id: 'p1', name: 'Bob', roomId: 'r1', isInitiator: true, commonInterests: [], region: '' });
    expect(s.call.connectionState).toBe('new');
  });

  it('names an unnamed partner "Stranger"', () => {
    const s = flowReducer(atQueue(), match('p1', 'r1', { partnerName: '' }));
    expect(s.partner.name).toBe('Stranger');
  });
});

describe('flow: leaving and skipping', () => {
  it.each(['permissions', 'terms', 'queue', 'chat'])('GO_HOME from %s → idle, profile kept', (phase) => {
    const from = { permissions: atPermissions, terms: atTerms, queue: atQueue, chat: () => atChat() }[phase]();
    const s = flowReducer(from, { type: 'GO_HOME' });
    expect(s.phase).toBe('idle');
    expect(s.partner).toBeNull();
    expect(s.messages).toEqual([]);
    expect(s.profile).toEqual(profile);
    expect(s.connection).toBe('connected');
  });

  it('GO_HOME resets camera and mic toggles', () => {
    const s = flowReducer(flowReducer(atChat(), { type: 'TOGGLE_CAMERA' }), { type: 'GO_HOME' });
    expect(s.camera).toBe(true);
  });

  it('NEXT: chat → queue, partner and chat cleared', () => {
    let s = flowReducer(atChat(), { type: 'CHAT_SENT', id: 1, text: 'hi', timestamp: 1 });
    s = flowReducer(s, { type: 'NEXT' });
    expect(s.phase).toBe('queue');
    expect(s.partner).toBeNull();
    expect(s.messages).toEqual([]);
  });

  it('NEXT outside a call changes nothing', () => {
    const s = atQueue();
    expect(flowReducer(s, { type: 'NEXT' })).toBe(s);
  });

  it('PARTNER_LEFT in chat → queue', () => {
    const s = flowReducer(atChat(), { type: 'PARTNER_LEFT', reason: 'leave' });
    expect(s.phase).toBe('queue');
    expect(s.partner).toBeNull();
  });

  it.each([
    ['idle', () => run(online)],
    ['permissions', atPermissions],
    ['terms', atTerms],
    ['queue', atQueue],
  ])('PARTNER_LEFT during %s does not change the view', (_, make) => {
    const s = make();
    expect(flowReducer(s, { type: 'PARTNER_LEFT', reason: 'next' })).toBe(s);
  });
});

describe('flow: matches', () => {
  it.each([
    ['idle (e.g. after Cancel)', () => run(online)],
    ['permissions', atPermissions],
    ['terms', atTerms],
  ])('MATCHED while %s is ignored', (_, make) => {
    const s = make();
    expect(flowReducer(s, match())).toBe(s);
  });

  it('MATCHED after Cancel is ignored', () => {
    const s = flowReducer(atQueue(), { type: 'GO_HOME' });
    expect(flowReducer(s, match()).phase).toBe('idle');
  });

  it('MATCHED while in chat with someone else replaces the call cleanly', () => {
    let s = atChat('p1', 'r1');
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' });
    s = flowReducer(s, { type: 'REMOTE_TRACK', roomId: 'r1' });
    s = flowReducer(s, { type: 'CHAT_RECEIVED', id: 1, from: 'p1', text: 'hey', timestamp: 1 });
    s = flowReducer(s, match('p2', 'r2', { isInitiator: false, partnerName: 'Cleo' }));
    expect(s.phase).toBe('chat');
    expect(s.partner).toEqual({ id: 'p2', name: 'Cleo', roomId: 'r2', isInitiator: false, commonInterests: [], region: '' });
    expect(s.call).toEqual(initialState.call);
    expect(s.messages).toEqual([]);
    expect(s.unread).toBe(0);
  });
});

describe('flow: the socket', () => {
  it('SOCKET_CONNECTED the first time is not a reconnect', () => {
    const s = run(online);
    expect(s.connection).toBe('connected');
    expect(s.reconnected).toBe(false);
  });

  const offline = { type: 'SOCKET_DISCONNECTED' };
  const resumed = { type: 'SOCKET_CONNECTED', recovered: true };
  const renewed = { type: 'SOCKET_CONNECTED', recovered: false };
  // A call under way: media flowing, a message each way.
  const inCall = () =>
    [
      { type: 'REMOTE_TRACK', roomId: 'r1' },
      { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' },
      { type: 'REMOTE_PLAYING', roomId: 'r1' },
      { type: 'CHAT_SENT', id: 1, text: 'hi', timestamp: 1 },
      { type: 'CHAT_RECEIVED', id: 2, from: 'p1', text: 'hey', timestamp: 2 },
    ].reduce(flowReducer, atChat('p1', 'r1'));

  it('a disconnect mid-call keeps the call (partner, media, messages) and is reconnecting', () => {
    const call = inCall();
    const s = flowReducer(call, offline);
    expect(s).toEqual({ ...call, connection: 'disconnected' });
    expect(isReconnecting(s)).toBe(true);
    expect(isReconnecting(call)).toBe(false);
  });

  it('a recovered session → back in the same call, unchanged, with no notice or banner', () => {
    const call = inCall();
    const s = run2(call, offline, resumed);
    expect(s).toEqual(call);
    expect(isReconnecting(s)).toBe(false);
  });

  it('a new session after a drop mid-call → the queue (a new search) with the resume-lost notice', () => {
    const s = run2(inCall(), offline, renewed);
    expect(s.phase).toBe('queue');
    expect(s.partner).toBeNull();
    expect(s.messages).toEqual([]);
    expect(s.call).toEqual(initialState.call);
    expect(s.notice).toEqual({ kind: 'resume-lost' });
    expect(s.reconnected).toBe(false);
    expect(s.connection).toBe('connected');
    expect(isReconnecting(s)).toBe(false);
  });

  it('a disconnect while queued stays queued; recovered stays so silently, a new session with the notice', () => {
    const s = flowReducer(atQueue(), offline);
    expect(s.phase).toBe('queue');
    expect(isReconnecting(s)).toBe(true);
    expect(flowReducer(s, resumed)).toEqual(atQueue());
    const renew = flowReducer(s, renewed);
    expect(renew.phase).toBe('queue');
    expect(renew.notice).toEqual({ kind: 'resume-lost' });
  });

  it('a matched the server kept for us while we were away is shown after the resume', () => {
    const s = run2(atQueue(), offline, resumed, match('p2', 'r2'));
    expect(s.phase).toBe('chat');
    expect(s.partner.id).toBe('p2');
  });

  it('Next or End call while reconnecting still apply', () => {
    const away = flowReducer(inCall(), offline);
    expect(flowReducer(away, { type: 'NEXT' }).phase).toBe('queue');
    expect(flowReducer(away, { type: 'GO_HOME' }).phase).toBe('idle');
    // Gone home while away: the reconnect is the landing page's, with its banner.
    const home = run2(away, { type: 'GO_HOME' }, renewed);
    expect(home.phase).toBe('idle');
    expect(home.notice).toBeNull();
    expect(home.reconnected).toBe(true);
  });

  it.each([
    ['permissions', atPermissions],
    ['terms', atTerms],
  ])('a disconnect during %s keeps the step (nothing on the server yet)', (phase, make) => {
    const s = flowReducer(make(), offline);
    expect(s.phase).toBe(phase);
    expect(s.connection).toBe('disconnected');
    expect(isReconnecting(s)).toBe(false);
    expect(flowReducer(s, renewed).phase).toBe(phase);
    expect(flowReducer(s, renewed).notice).toBeNull();
  });

  it('on the landing page a reconnect raises the banner, which can be dismissed; no notice', () => {
    let s = run(online, offline);
    expect(isReconnecting(s)).toBe(false);
    s = flowReducer(s, renewed);
    expect(s.phase).toBe('idle');
    expect(s.notice).toBeNull();
    expect(s.reconnected).toBe(true);
    s = flowReducer(s, { type: 'RECONNECT_BANNER_DISMISSED' });
    expect(s.reconnected).toBe(false);
  });

  it('a first connection that failed, then came, is no reconnect', () => {
    const s = run(offline, online);
    expect(s.reconnected).toBe(false);
    expect(s.connection).toBe('connected');
  });
});

describe('flow: the partner reconnecting', () => {
  const flowing = () =>
    [
      { type: 'REMOTE_TRACK', roomId: 'r1' },
      { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' },
      { type: 'REMOTE_PLAYING', roomId: 'r1' },
    ].reduce(flowReducer, atChat('p1', 'r1'));
  const quality = (stalled, roomId = 'r1') => ({ type: 'CALL_QUALITY', roomId, rttMs: 40, lossPct: 0, relayed: false, stalled });

  it('not before any media came: that is the connecting overlay', () => {
    const s = flowReducer(atChat('p1', 'r1'), { type: 'CALL_STATE', roomId: 'r1', connectionState: 'disconnected' });
    expect(isPartnerStalled(s.call)).toBe(false);
  });

  it('the connection disconnected → stalled; connected again → not', () => {
    let s = flowReducer(flowing(), { type: 'CALL_STATE', roomId: 'r1', connectionState: 'disconnected' });
    expect(isPartnerStalled(s.call)).toBe(true);
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' });
    expect(isPartnerStalled(s.call)).toBe(false);
  });

  it('nothing received since the last reading → stalled; packets again → not', () => {
    let s = flowReducer(flowing(), quality(true));
    expect(s.call.stalled).toBe(true);
    expect(isPartnerStalled(s.call)).toBe(true);
    expect(flowReducer(s, quality(true, 'old')).call.stalled).toBe(true);
    s = flowReducer(s, quality(false));
    expect(isPartnerStalled(s.call)).toBe(false);
  });

  it('connected again after a break clears a stall at once; a stall while connected stays until packets come', () => {
    let s = flowReducer(flowing(), quality(true));
    expect(flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' }).call.stalled).toBe(true);
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'disconnected' });
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' });
    expect(isPartnerStalled(s.call)).toBe(false);
  });

  it('a new pairing starts unstalled', () => {
    const s = flowReducer(flowReducer(flowing(), quality(true)), { type: 'NEXT' });
    expect(flowReducer(s, match('p2', 'r2')).call.stalled).toBe(false);
  });
});

describe('flow: the call', () => {
  it('tracks the connection state of the current room only', () => {
    let s = atChat('p1', 'r1');
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'old', connectionState: 'failed' });
    expect(s.call.connectionState).toBe('new');
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connecting' });
    expect(s.call.connectionState).toBe('connecting');
  });

  it('connectionState failed marks the call failed; connected clears it', () => {
    let s = flowReducer(atChat(), { type: 'CALL_STATE', roomId: 'r1', connectionState: 'failed' });
    expect(s.call.failed).toBe(true);
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connecting' });
    expect(s.call.failed).toBe(true);
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' });
    expect(s.call.failed).toBe(false);
  });

  it('CALL_FAILED (timeout) marks the current call failed, not another', () => {
    expect(flowReducer(atChat(), { type: 'CALL_FAILED', roomId: 'r1' }).call.failed).toBe(true);
    expect(flowReducer(atChat(), { type: 'CALL_FAILED', roomId: 'r0' }).call.failed).toBe(false);
  });

  it('media flows once a remote track is connected, or the video plays', () => {
    let s = flowReducer(atChat(), { type: 'REMOTE_TRACK', roomId: 'r1' });
    expect(isMediaFlowing(s.call)).toBe(false);
    s = flowReducer(s, { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' });
    expect(isMediaFlowing(s.call)).toBe(true);
    const playing = flowReducer(atChat(), { type: 'REMOTE_PLAYING', roomId: 'r1' });
    expect(isMediaFlowing(playing.call)).toBe(true);
  });

  it('toggles camera and mic', () => {
    let s = flowReducer(atChat(), { type: 'TOGGLE_CAMERA' });
    expect(s.camera).toBe(false);
    s = flowReducer(s, { type: 'TOGGLE_MIC' });
    expect(s.mic).toBe(false);
    s = flowReducer(flowReducer(s, { type: 'TOGGLE_CAMERA' }), { type: 'TOGGLE_MIC' });
    expect([s.camera, s.mic]).toEqual([true, true]);
  });
});

describe('flow: chat', () => {
  it('adds sent messages as "me"', () => {
    const s = flowReducer(atChat(), { type: 'CHAT_SENT', id: 1, text: 'hi', timestamp: 5 });
    expect(s.messages).toEqual([{ id: 1, from: 'me', text: 'hi', timestamp: 5 }]);
  });

  it('counts unread messages while the panel is closed; opening clears them', () => {
    let s = flowReducer(atChat('p1'), { type: 'CHAT_RECEIVED', id: 1, from: 'p1', text: 'a', timestamp: 1 });
    s = flowReducer(s, { type: 'CHAT_RECEIVED', id: 2, from: 'p1', text: 'b', timestamp: 2 });
    expect(s.unread).toBe(2);
    expect(s.messages.map((m) => m.from)).toEqual(['partner', 'partner']);
    s = flowReducer(s, { type: 'CHAT_TOGGLED' });
    expect(s.chatOpen).toBe(true);
    expect(s.unread).toBe(0);
    s = flowReducer(s, { type: 'CHAT_RECEIVED', id: 3, from: 'p1', text: 'c', timestamp: 3 });
    expect(s.unread).toBe(0);
  });

  it('counts messages as unread while the tab is hidden, even with the chat open; coming back reads them', () => {
    let s = flowReducer(atChat('p1'), { type: 'CHAT_TOGGLED' });
    s = flowReducer(s, { type: 'PAGE_VISIBILITY', hidden: true });
    s = flowReducer(s, { type: 'CHAT_RECEIVED', id: 1, from: 'p1', text: 'a', timestamp: 1 });
    expect(s.unread).toBe(1);
    s = flowReducer(s, { type: 'PAGE_VISIBILITY', hidden: false });
    expect(s.unread).toBe(0);
    // chat closed: coming back to the tab leaves them unread
    s = flowReducer(flowReducer(s, { type: 'CHAT_TOGGLED' }), { type: 'PAGE_VISIBILITY', hidden: true });
    s = flowReducer(s, { type: 'CHAT_RECEIVED', id: 2, from: 'p1', text: 'b', timestamp: 2 });
    s = flowReducer(s, { type: 'PAGE_VISIBILITY', hidden: false });
    expect(s.unread).toBe(1);
  });

  it('ignores messages from anyone but the partner, and outside a call', () => {
    const s = atChat('p1');
    expect(flowReducer(s, { type: 'CHAT_RECEIVED', id: 1, from: 'old', text: 'x', timestamp: 1 })).toBe(s);
    const q = atQueue();
    expect(flowReducer(q, { type: 'CHAT_RECEIVED', id: 1, from: 'p1', text: 'x', timestamp: 1 })).toBe(q);
    expect(flowReducer(q, { type: 'CHAT_SENT', id: 1, text: 'x', timestamp: 1 })).toBe(q);
  });
});

describe('flow: out-of-order actions are ignored', () => {
  it.each([
    ['START outside idle', atQueue, { type: 'START', profile }],
    ['PERMISSION_GRANTED outside permissions', () => run(online), { type: 'PERMISSION_GRANTED' }],
    ['PERMISSION_DENIED after going home', () => run(online), { type: 'PERMISSION_DENIED', message: 'x' }],
    ['PERMISSION_REQUESTED outside permissions', atTerms, { type: 'PERMISSION_REQUESTED' }],
    ['TERMS_ACCEPTED outside terms', atPermissions, { type: 'TERMS_ACCEPTED' }],
    ['GO_HOME when idle', () => run(online), { type: 'GO_HOME' }],
    ['an unknown action', atChat, { type: 'NOPE' }],
  ])('%s', (_, make, action) => {
    const s = make();
    expect(flowReducer(s, action)).toBe(s);
  });
});

describe('flow: text only', () => {
  const textProfile = { ...profile, textOnly: true };

  it('a text-only START skips the permission step; its calls open with the chat', () => {
    let s = run(online, { type: 'START', profile: textProfile });
    expect(s.phase).toBe('terms');
    expect(isTextOnly(s)).toBe(true);
    s = flowReducer(s, { type: 'TERMS_ACCEPTED' });
    expect(s.chatOpen).toBe(true);
    s = flowReducer(s, match());
    expect(s.chatOpen).toBe(true);
    s = flowReducer(s, { type: 'CHAT_RECEIVED', id: 1, from: 'p1', text: 'hi', timestamp: 1 });
    expect(s.unread).toBe(0);
    s = flowReducer(s, { type: 'NEXT' });
    expect(s.chatOpen).toBe(true);
  });

  it('a failed camera can go on as text only, and only from the permission step', () => {
    let s = flowReducer(atPermissions(), { type: 'PERMISSION_DENIED', message: 'no camera' });
    s = flowReducer(s, { type: 'TEXT_ONLY_CHOSEN' });
    expect(s.phase).toBe('terms');
    expect(s.profile).toEqual(textProfile);
    expect(s.permission.error).toBeNull();
    expect(flowReducer(atQueue(), { type: 'TEXT_ONLY_CHOSEN' })).toEqual(atQueue());
  });

  it('a video user is not text only, and its chat starts closed', () => {
    expect(isTextOnly(atQueue())).toBe(false);
    expect(atChat().chatOpen).toBe(false);
  });
});

describe('flow: the partner\'s region', () => {
  it('keeps the region a match carries, "" when none', () => {
    expect(flowReducer(atQueue(), match('p1', 'r1', { partnerRegion: 'asia' })).partner.region).toBe('asia');
    expect(atChat().partner.region).toBe('');
  });
});

describe('flow: the relay', () => {
  it('is unknown until the server says, and kept on the way home', () => {
    expect(initialState.relayAvailable).toBeNull();
    const s = flowReducer(atChat(), { type: 'RELAY_KNOWN', relay: false });
    expect(s.relayAvailable).toBe(false);
    expect(flowReducer(s, { type: 'GO_HOME' }).relayAvailable).toBe(false);
  });
});
