// The call's quality in a person's terms, from RTCPeerConnection.getStats():
// the round trip of the selected candidate pair, the share of packets lost
// since the last reading, and whether the media goes through a relay.

export const QUALITY_EVERY_MS = 2000;

/** Reads a stats report (a Map of RTCStats) into the figures the UI shows. */
export function readStats(report, previous = null) {
  const stats = [...report.values()];
  const byId = new Map(stats.map((s) => [s.id, s]));
  const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
  const pair =
    byId.get(transport?.selectedCandidatePairId) ??
    stats.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated);
  let lost = 0;
  let received = 0;
  for (const s of stats) {
    if (s.type === 'inbound-rtp') {
      lost += Math.max(0, s.packetsLost ?? 0);
      received += s.packetsReceived ?? 0;
    }
  }
  const local = byId.get(pair?.localCandidateId);
  const remote = byId.get(pair?.remoteCandidateId);
  const dLost = lost - (previous?.lost ?? 0);
  const dTotal = dLost + received - (previous?.received ?? 0);
  return {
    lost,
    received,
    rttMs: Number.isFinite(pair?.currentRoundTripTime) ? Math.round(pair.currentRoundTripTime * 1000) : null,
    lossPct: dTotal > 0 ? Math.round((1000 * Math.max(0, dLost)) / dTotal) / 10 : null,
    relayed: local?.candidateType === 'relay' || remote?.candidateType === 'relay',
    route: pair ? `${local?.candidateType ?? '?'}-${remote?.candidateType ?? '?'}` : null,
  };
}

/**
 * Whether the partner's media stopped coming: nothing received since the
 * previous reading, after something had come (a call still starting is not
 * stalled). Audio packets flow even with the microphone off.
 */
export const isStalled = (reading, previous) =>
  previous != null && previous.received > 0 && reading.received <= previous.received;

/** 'good' | 'fair' | 'poor', or null while nothing is known. */
export function qualityLevel({ rttMs, lossPct }) {
  if (rttMs == null && lossPct == null) return null;
  if ((rttMs ?? 0) > 400 || (lossPct ?? 0) > 5) return 'poor';
  if ((rttMs ?? 0) > 200 || (lossPct ?? 0) > 2) return 'fair';
  return 'good';
}
