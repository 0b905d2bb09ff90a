// The call's connection state in words a person understands (t: the UI's
// translation function).

const WORDS = {
  new: 'status.new',
  connecting: 'status.connecting',
  checking: 'status.connecting',
  connected: 'status.connected',
  completed: 'status.connected',
  disconnected: 'status.disconnected',
  restarting: 'status.restarting',
  failed: 'status.failed',
  closed: 'status.closed',
};

export const describeConnection = (state, t) => t(WORDS[state] ?? 'status.connecting');

/** The quality indicator's words, e.g. "Good · 45 ms · 0.5% lost · relayed". */
export function describeQuality(level, { rttMs, lossPct, relayed } = {}, t) {
  const parts = [t(['good', 'fair', 'poor'].includes(level) ? `status.${level}` : 'status.measuring')];
  if (rttMs != null) parts.push(t('status.rtt', { ms: rttMs }));
  if (lossPct != null) parts.push(t('status.loss', { pct: lossPct }));
  if (relayed) parts.push(t('status.relayed'));
  return parts.join(' · ');
}
