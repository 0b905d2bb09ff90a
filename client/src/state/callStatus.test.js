import { describe, expect, it } from 'vitest';
import { describeConnection, describeQuality } from './callStatus.js';

describe('call status in words', () => {
  it('never shows the raw states', () => {
    for (const s of ['new', 'checking', 'connecting', 'connected', 'disconnected', 'restarting', 'failed', 'closed', 'odd']) {
      expect(describeConnection(s)).not.toBe(s);
      expect(describeConnection(s)).toMatch(/^[A-Z]/);
    }
    expect(describeConnection('checking')).toBe('Connecting…');
    expect(describeConnection('connected')).toBe('Connected');
  });

  it('describes the quality with its figures', () => {
    expect(describeQuality('good', { rttMs: 45, lossPct: 0.5, relayed: true })).toBe('Good · 45 ms · 0.5% lost · relayed');
    expect(describeQuality(null, {})).toBe('Measuring…');
  });
});
