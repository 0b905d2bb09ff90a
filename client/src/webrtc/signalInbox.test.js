import { describe, expect, it } from 'vitest';
import { createSignalInbox } from './signalInbox.js';

describe('signal inbox', () => {
  it('keeps signals per sender, in order, and hands over only the partner’s', () => {
    const inbox = createSignalInbox();
    inbox.push('a', 1);
    inbox.push('b', 'x');
    inbox.push('a', 2);
    expect(inbox.take('a')).toEqual([1, 2]);
    expect(inbox.size).toBe(0); // b's were dropped
    expect(inbox.take('b')).toEqual([]);
  });

  it('is bounded per sender and in senders', () => {
    const inbox = createSignalInbox({ maxSenders: 2, maxPerSender: 2 });
    inbox.push('a', 1);
    inbox.push('a', 2);
    inbox.push('a', 3);
    inbox.push('b', 1);
    inbox.push('c', 1);
    expect(inbox.size).toBe(2);
    expect(inbox.take('a')).toEqual([]); // oldest sender evicted
    inbox.push('a', 1);
    inbox.push('a', 2);
    inbox.push('a', 3);
    expect(inbox.take('a')).toEqual([1, 2]);
  });

  it('clear() forgets everything', () => {
    const inbox = createSignalInbox();
    inbox.push('a', 1);
    inbox.clear();
    expect(inbox.take('a')).toEqual([]);
  });
});
