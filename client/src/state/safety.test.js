// The flow's interests, report, block and refused join (the rest: flow.test.js).
import { describe, expect, it } from 'vitest';
import { flowReducer, initialState } from './flow.js';

const profile = { name: 'Ada', gender: 'female', region: 'europe', interests: ['music'] };
const run = (...actions) => actions.reduce(flowReducer, initialState);
const atQueue = () =>
  run({ type: 'SOCKET_CONNECTED' }, { type: 'START', profile }, { type: 'PERMISSION_GRANTED' }, { type: 'TERMS_ACCEPTED' });
const atChat = () =>
  flowReducer(atQueue(), {
    type: 'MATCHED',
    roomId: 'r1',
    partnerId: 'p1',
    partnerName: 'Bob',
    isInitiator: true,
    commonInterests: ['music'],
  });

describe('flow: interests, report and block', () => {
  it('START takes the interests to remember; home keeps them', () => {
    let s = run({ type: 'START', profile });
    expect(s.interests).toEqual(['music']);
    s = flowReducer(s, { type: 'GO_HOME' });
    expect(s.interests).toEqual(['music']);
  });

  it('MATCHED keeps what the two have in common', () => {
    expect(atChat().partner.commonInterests).toEqual(['music']);
  });

  it('BLOCKED ends the call like NEXT, with a notice', () => {
    const s = flowReducer(atChat(), { type: 'BLOCKED' });
    expect(s.phase).toBe('queue');
    expect(s.partner).toBeNull();
    expect(s.notice).toEqual({ kind: 'blocked' });
    expect(flowReducer(atQueue(), { type: 'BLOCKED' }).notice).toBeNull();
  });

  it('REPORTED keeps the call and shows a notice until dismissed', () => {
    let s = flowReducer(atChat(), { type: 'REPORTED' });
    expect(s.phase).toBe('chat');
    expect(s.notice).toEqual({ kind: 'reported' });
    s = flowReducer(s, { type: 'NOTICE_DISMISSED' });
    expect(s.notice).toBeNull();
    expect(flowReducer(atChat(), { type: 'REPORT_FAILED' }).notice).toEqual({ kind: 'report-failed' });
  });

  it('JOIN_REFUSED in the queue goes home with the reason; elsewhere it is stale', () => {
    const s = flowReducer(atQueue(), { type: 'JOIN_REFUSED', code: 'cooling-down' });
    expect(s.phase).toBe('idle');
    expect(s.notice).toEqual({ kind: 'refused', code: 'cooling-down' });
    expect(s.profile).toEqual(profile);
    expect(flowReducer(atChat(), { type: 'JOIN_REFUSED', code: 'draining' }).phase).toBe('chat');
  });
});
