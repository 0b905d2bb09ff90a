import { describe, expect, it } from 'vitest';
import { createSocket } from './socket.js';

function fakeIo() {
  const calls = [];
  const handlers = {};
  const raw = {
    connected: false,
    emitted: [],
    on: (e, h) => ((handlers[e] ??= []).push(h)),
    off: (e, h) => (handlers[e] = (handlers[e] ?? []).filter((x) => x !== h)),
    emit: (...args) => raw.emitted.push(args),
    close: () => (raw.closed = true),
    fire: (e, p) => (handlers[e] ?? []).forEach((h) => h(p)),
  };
  const connect = (...args) => (calls.push(args), raw);
  return { connect, calls, raw };
}

describe('socket', () => {
  it('connects to the given URL, or to the page origin when none', () => {
    const a = fakeIo();
    createSocket('https://api.example', { connect: a.connect });
    expect(a.calls).toEqual([['https://api.example']]);
    const b = fakeIo();
    createSocket('', { connect: b.connect });
    expect(b.calls).toEqual([[]]);
  });

  it('reports status changes', () => {
    const { connect, raw } = fakeIo();
    const socket = createSocket('', { connect });
    const seen = [];
    socket.onStatus((s) => seen.push(s));
    expect(socket.getStatus()).toBe('connecting');
    raw.fire('connect');
    raw.fire('disconnect', 'transport close');
    raw.fire('connect_error', new Error('x'));
    raw.fire('connect');
    expect(seen).toEqual(['connected', 'disconnected', 'connected']);
    expect(socket.getStatus()).toBe('connected');
  });

  it('subscribes and unsubscribes to server events', () => {
    const { connect, raw } = fakeIo();
    const socket = createSocket('', { connect });
    const got = [];
    const off = socket.on('matched', (p) => got.push(p));
    raw.fire('matched', 1);
    off();
    raw.fire('matched', 2);
    expect(got).toEqual([1]);
  });

  it('emits only while connected, without an undefined payload', () => {
    const { connect, raw } = fakeIo();
    const socket = createSocket('', { connect });
    expect(socket.emit('next')).toBe(false);
    raw.connected = true;
    expect(socket.emit('next')).toBe(true);
    socket.emit('chat-message', { message: 'hi' });
    expect(raw.emitted).toEqual([['next'], ['chat-message', { message: 'hi' }]]);
  });
});
