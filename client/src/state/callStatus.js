// The call's connection state in words a person understands.

const WORDS = {
  new: 'Starting the call…',
  connecting: 'Connecting…',
  checking: 'Connecting…',
  connected: 'Connected',
  completed: 'Connected',
  disconnected: 'Connection lost, reconnecting…',
  restarting: 'Trying another route…',
  failed: 'Could not connect',
  closed: 'Call ended',
};

export const describeConnection = (state) => WORDS[state] ?? 'Connecting…';

/** The quality indicator's words, e.g. "Good · 45 ms · 0.5% lost · relayed". */
export function describeQuality(level, { rttMs, lossPct, relayed } = {}) {
  const parts = [{ good: 'Good', fair: 'Fair', poor: 'Poor' }[level] ?? 'Measuring…'];
  if (rttMs != null) parts.push(`${rttMs} ms`);
  if (lossPct != null) parts.push(`${lossPct}% lost`);
  if (relayed) parts.push('relayed');
  return parts.join(' · ');
}
