import { describe, expect, it } from 'vitest';
import { REFUSALS, noticeText } from './notices.js';

describe('notices: a refused join', () => {
  it('says why by the code, in our words', () => {
    expect(noticeText({ kind: 'refused', code: 'cooling-down' })).toBe(`Could not join: ${REFUSALS['cooling-down']}`);
    expect(noticeText({ kind: 'refused', code: 'draining' })).toMatch(/restarting/);
  });

  it('an unknown or missing code gets a general message', () => {
    expect(noticeText({ kind: 'refused', code: 'from-a-newer-server' })).toMatch(/could not queue you/);
    expect(noticeText({ kind: 'refused', code: '' })).toMatch(/could not queue you/);
  });
});

describe('notices: a session lost over a drop', () => {
  it('says that a new partner is being found', () => {
    expect(noticeText({ kind: 'resume-lost' })).toBe('Connection lost — finding you a new partner…');
  });
});
