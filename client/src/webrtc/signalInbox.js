// Signals from someone who is not (yet) our partner. A new partner's offer can
// come before our `matched` (with several server instances, or right after a
// call ends), so it is kept per sender until `matched` says who our partner is.
//
// A previous pairing's signals are never replayed: a sender's signals are kept
// only from an offer on (a pairing's first message is the initiator's offer,
// while a call that has ended still sends late candidates and answers), and
// only for MAX_AGE_MS (a pairing starts within moments of its offer; the same
// two users are not paired again for minutes). Bounded, so that a chatty
// stranger cannot grow it without limit.

const MAX_SENDERS = 8;
const MAX_PER_SENDER = 64;
export const MAX_AGE_MS = 15000;

const isOffer = (data) => data?.type === 'offer';

export function createSignalInbox({
  maxSenders = MAX_SENDERS,
  maxPerSender = MAX_PER_SENDER,
  maxAgeMs = MAX_AGE_MS,
  now = () => Date.now(),
} = {}) {
  const bySender = new Map(); // from → { at, signals }

  return {
    push(from, data) {
      let entry = bySender.get(from);
      if (isOffer(data)) {
        // A new offer starts a new exchange: what came before is stale.
        bySender.delete(from);
        if (bySender.size >= maxSenders) bySender.delete(bySender.keys().next().value);
        entry = { at: now(), signals: [] };
        bySender.set(from, entry);
      }
      if (entry && entry.signals.length < maxPerSender) entry.signals.push(data);
    },
    /** Removes and returns the recent signals from `from`, oldest first; drops everyone else's. */
    take(from) {
      const entry = bySender.get(from);
      bySender.clear();
      return entry && now() - entry.at <= maxAgeMs ? entry.signals : [];
    },
    clear() {
      bySender.clear();
    },
    get size() {
      return bySender.size;
    },
  };
}
