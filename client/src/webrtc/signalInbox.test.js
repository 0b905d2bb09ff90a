import { describe, expect, it } from 'vitest';
import { createSignalInbox } from './signalInbox.js';

const offer = (n) => ({ type: 'offer', sdp: { type: 'offer', sdp: `o${n}` } });
const cand = (n) => ({ type: 'ice-candidate', candidate: { candidate: `c${n}` } });

describe('signal inbox', () => {
  it('keeps signals per sender from an offer on, in order, and hands over only the partner’s', () => {
    const inbox = createSignalInbox();
    inbox.push('a', offer(1));
    inbox.push('b', offer(2));
    inbox.push('a', cand(1));
    expect(inbox.take('a')).toEqual([offer(1), cand(1)]);
    expect(inbox.size).toBe(0); // b's were dropped
    expect(inbox.take('b')).toEqual([]);
  });

  it('never keeps what cannot start a pairing: a previous call’s late candidates and answers', () => {
    const inbox = createSignalInbox();
    inbox.push('a', cand(1));
    inbox.push('a', { type: 'answer', sdp: { type: 'answer', sdp: 'x' } });
    expect(inbox.take('a')).toEqual([]);
  });

  it('a new offer from a sender replaces its earlier exchange', () => {
    const inbox = createSignalInbox();
    inbox.push('a', offer(1));
    inbox.push('a', cand(1));
    inbox.push('a', offer(2));
    expect(inbox.take('a')).toEqual([offer(2)]);
  });

  it('forgets an exchange older than its age limit', () => {
    let t = 0;
    const inbox = createSignalInbox({ maxAgeMs: 1000, now: () => t });
    inbox.push('a', offer(1));
    t = 1001;
    expect(inbox.take('a')).toEqual([]);
  });

  it('is bounded per sender and in senders', () => {
    const inbox = createSignalInbox({ maxSenders: 2, maxPerSender: 2 });
    inbox.push('a', offer(1));
    inbox.push('a', cand(1));
    inbox.push('a', cand(2));
    inbox.push('b', offer(2));
    inbox.push('c', offer(3));
    expect(inbox.size).toBe(2);
    expect(inbox.take('a')).toEqual([]); // oldest sender evicted
    inbox.push('a', offer(1));
    inbox.push('a', cand(1));
    inbox.push('a', cand(2));
    expect(inbox.take('a')).toEqual([offer(1), cand(1)]);
  });

  it('clear() forgets everything', () => {
    const inbox = createSignalInbox();
    inbox.push('a', offer(1));
    inbox.clear();
    expect(inbox.take('a')).toEqual([]);
  });
});
