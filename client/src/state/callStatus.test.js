import { describe, expect, it } from 'vitest';
import { createI18n } from '../i18n/i18n.js';
import { describeConnection, describeQuality } from './callStatus.js';

const t = createI18n().getFixedT('en');

describe('call status in words', () => {
  it('never shows the raw states', () => {
    for (const s of ['new', 'checking', 'connecting', 'connected', 'disconnected', 'restarting', 'failed', 'closed', 'odd']) {
      expect(describeConnection(s, t)).not.toBe(s);
      expect(describeConnection(s, t)).toMatch(/^[A-Z]/);
    }
    expect(describeConnection('checking', t)).toBe('Connecting…');
    expect(describeConnection('connected', t)).toBe('Connected');
  });

  it('describes the quality with its figures', () => {
    expect(describeQuality('good', { rttMs: 45, lossPct: 0.5, relayed: true }, t)).toBe('Good · 45 ms · 0.5% lost · relayed');
    expect(describeQuality(null, {}, t)).toBe('Measuring…');
  });
});
