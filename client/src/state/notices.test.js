import { describe, expect, it } from 'vitest';
import { createI18n } from '../i18n/i18n.js';
import { noticeText } from './notices.js';

const i18n = createI18n();
const en = i18n.getFixedT('en');
const es = i18n.getFixedT('es');

describe('notices: a refused join', () => {
  it('says why by the code, in our words', () => {
    expect(noticeText({ kind: 'refused', code: 'cooling-down' }, en)).toBe(
      'Could not join: after reports from other users you cannot join for a while. Try again later.',
    );
    expect(noticeText({ kind: 'refused', code: 'draining' }, en)).toMatch(/restarting/);
  });

  it('an unknown or missing code gets a general message', () => {
    expect(noticeText({ kind: 'refused', code: 'from-a-newer-server' }, en)).toMatch(/could not queue you/);
    expect(noticeText({ kind: 'refused', code: '' }, en)).toMatch(/could not queue you/);
  });

  it('speaks the language of t', () => {
    expect(noticeText({ kind: 'refused', code: 'draining' }, es)).toMatch(/^No se pudo entrar: /);
    expect(noticeText({ kind: 'blocked' }, es)).toBe(es('notice.blocked'));
    expect(noticeText({ kind: 'device-failed', message: 'media.inUse' }, en)).toMatch(/in use/);
  });
});

describe('notices: a session lost over a drop', () => {
  it('says that a new partner is being found', () => {
    expect(noticeText({ kind: 'resume-lost' }, en)).toBe('Connection lost — finding you a new partner…');
    expect(noticeText({ kind: 'resume-lost' }, es)).toBe(es('notice.resumeLost'));
  });
});
