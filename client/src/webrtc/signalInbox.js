// Signals that arrive while we have no partner yet (before `matched` is handled),
// kept per sender until we know who our partner is. Bounded so that a chatty
// stranger cannot grow it without limit.

const MAX_SENDERS = 8;
const MAX_PER_SENDER = 64;

export function createSignalInbox({ maxSenders = MAX_SENDERS, maxPerSender = MAX_PER_SENDER } = {}) {
  const bySender = new Map();

  return {
    push(from, data) {
      if (!bySender.has(from)) {
        if (bySender.size >= maxSenders) bySender.delete(bySender.keys().next().value);
        bySender.set(from, []);
      }
      const list = bySender.get(from);
      if (list.length < maxPerSender) list.push(data);
    },
    /** Removes and returns the signals from `from`, oldest first; drops everyone else's. */
    take(from) {
      const list = bySender.get(from) ?? [];
      bySender.clear();
      return list;
    },
    clear() {
      bySender.clear();
    },
    get size() {
      return bySender.size;
    },
  };
}
