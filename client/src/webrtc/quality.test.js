import { describe, expect, it } from 'vitest';
import { isStalled, qualityLevel, readStats } from './quality.js';

const report = (...stats) => new Map(stats.map((s) => [s.id, s]));
const base = (lost, received, rtt = 0.05, localType = 'host') =>
  report(
    { id: 'T', type: 'transport', selectedCandidatePairId: 'P' },
    { id: 'P', type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: rtt, localCandidateId: 'L', remoteCandidateId: 'R' },
    { id: 'L', type: 'local-candidate', candidateType: localType },
    { id: 'R', type: 'remote-candidate', candidateType: 'srflx' },
    { id: 'A', type: 'inbound-rtp', kind: 'audio', packetsLost: lost, packetsReceived: received },
  );

describe('call quality', () => {
  it('reads the round trip and the route of the selected pair', () => {
    expect(readStats(base(0, 100))).toMatchObject({ rttMs: 50, lossPct: 0, relayed: false, route: 'host-srflx' });
    expect(readStats(base(0, 100, 0.1, 'relay'))).toMatchObject({ relayed: true, route: 'relay-srflx' });
  });

  it('loss is the share lost since the last reading', () => {
    const first = readStats(base(10, 990));
    expect(first.lossPct).toBe(1);
    expect(readStats(base(30, 1970), first).lossPct).toBe(2); // 20 of 1000
    expect(readStats(base(30, 1970), readStats(base(30, 1970))).lossPct).toBe(null); // nothing new
  });

  it('stalled: nothing received since the last reading, once something had come', () => {
    const first = readStats(base(0, 100));
    expect(isStalled(first, null)).toBe(false); // nothing to compare
    expect(isStalled(readStats(base(0, 100), first), first)).toBe(true);
    expect(isStalled(readStats(base(0, 150), first), first)).toBe(false);
    const none = readStats(base(0, 0));
    expect(isStalled(readStats(base(0, 0), none), none)).toBe(false); // a call still starting
  });

  it('says good, fair or poor', () => {
    expect(qualityLevel({ rttMs: null, lossPct: null })).toBe(null);
    expect(qualityLevel({ rttMs: 40, lossPct: 0 })).toBe('good');
    expect(qualityLevel({ rttMs: 250, lossPct: 0 })).toBe('fair');
    expect(qualityLevel({ rttMs: 40, lossPct: 3 })).toBe('fair');
    expect(qualityLevel({ rttMs: 500, lossPct: 0 })).toBe('poor');
    expect(qualityLevel({ rttMs: null, lossPct: 8 })).toBe('poor');
  });
});
