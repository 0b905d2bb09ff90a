import { io } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { ACK_TIMEOUT_MS, createSocket } from './socket.js';

function fakeIo() {
  const calls = [];
  const handlers = {};
  const raw = {
    connected: false,
    emitted: [],
    sendBuffer: [],
    on: (e, h) => ((handlers[e] ??= []).push(h)),
    off: (e, h) => (handlers[e] = (handlers[e] ?? []).filter((x) => x !== h)),
    emit: (...args) => raw.emitted.push(args),
    timeout: (ms) => ({ emit: (...args) => raw.emitted.push([`timeout:${ms}`, ...args]) }),
    close: () => (raw.closed = true),
    disconnect: () => (raw.disconnected = (raw.disconnected ?? 0) + 1),
    fire: (e, ...args) => (handlers[e] ?? []).forEach((h) => h(...args)),
  };
  const connect = (...args) => (calls.push(args), raw);
  return { connect, calls, raw };
}

describe('socket', () => {
  it('connects to the given URL, or to the page origin when none, asking to resume after a drop', () => {
    const resume = { auth: { resume: true } };
    const a = fakeIo();
    createSocket('https://api.example', { connect: a.connect });
    expect(a.calls).toEqual([['https://api.example', resume]]);
    const b = fakeIo();
    createSocket('', { connect: b.connect });
    expect(b.calls).toEqual([[resume]]);
  });

  it('socket.io-client itself takes the options (it writes into them)', () => {
    let made;
    createSocket('http://127.0.0.1:9', {
      connect: (url, options) => {
        options.autoConnect = false; // no connection attempt from a unit test
        made = io(url, options);
        return made;
      },
    });
    expect(made.auth).toEqual({ resume: true });
    expect(made.io.opts.path).toBe('/socket.io');
  });

  it('says goodbye when the page goes away, not when it is kept for a return', () => {
    const { connect, raw } = fakeIo();
    const page = new EventTarget();
    createSocket('', { connect, pageEvents: page });
    const pagehide = (persisted) => Object.assign(new Event('pagehide'), { persisted });
    page.dispatchEvent(pagehide(true)); // into the back-forward cache
    expect(raw.disconnected).toBeUndefined();
    page.dispatchEvent(pagehide(false)); // closed, reloaded, navigated away
    expect(raw.disconnected).toBe(1);
  });

  it('tells whether a connection recovered the session', () => {
    const { connect, raw } = fakeIo();
    const socket = createSocket('', { connect });
    const seen = [];
    socket.onStatus((s, details) => seen.push([s, details]));
    raw.fire('connect'); // a first connection: socket.io-client leaves recovered false
    raw.fire('disconnect', 'transport close');
    raw.recovered = true;
    raw.fire('connect');
    raw.fire('disconnect', 'ping timeout');
    raw.recovered = undefined; // what socket.io-client sets when the server sent no pid
    raw.fire('connect');
    expect(seen).toEqual([
      ['connected', { recovered: false }],
      ['disconnected', undefined],
      ['connected', { recovered: true }],
      ['disconnected', undefined],
      ['connected', { recovered: false }],
    ]);
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

  it("passes the payload only: the offset recovery adds as a last argument is socket.io-client's", () => {
    const { connect, raw } = fakeIo();
    const socket = createSocket('', { connect });
    const got = [];
    socket.on('chat-message', (...args) => got.push(args));
    raw.fire('chat-message', { from: 'p1', message: 'hi', timestamp: 1 }, 'offset-42');
    expect(got).toEqual([[{ from: 'p1', message: 'hi', timestamp: 1 }]]);
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

  it("takes back what socket.io-client buffers although connected (a heartbeat overdue): never sent twice", () => {
    const { connect, raw } = fakeIo();
    const socket = createSocket('', { connect });
    raw.connected = true;
    raw.emit = (...args) => raw.sendBuffer.push({ data: args });
    expect(socket.emit('next')).toBe(false);
    expect(raw.sendBuffer).toEqual([]);
    socket.send('chat-message', { message: 'kept' }); // a relay stays buffered
    expect(raw.sendBuffer).toHaveLength(1);
  });

  it('an acked emit times out, and passes no undefined payload either', () => {
    const { connect, raw } = fakeIo();
    const socket = createSocket('', { connect });
    raw.connected = true;
    const replies = [];
    socket.emit('next', undefined, (r) => replies.push(r));
    const [[tag, event, callback]] = raw.emitted;
    expect([tag, event]).toEqual([`timeout:${ACK_TIMEOUT_MS}`, 'next']);
    callback(null, { ok: true });
    callback(new Error('operation has timed out'));
    expect(replies).toEqual([{ ok: true }, null]);
  });

  it('send hands relays to socket.io-client even while disconnected (it buffers them until the resume)', () => {
    const { connect, raw } = fakeIo();
    const socket = createSocket('', { connect });
    socket.send('chat-message', { message: 'typed while away' });
    socket.send('signal', { to: 'p1', data: { type: 'ice-candidate', candidate: {} } });
    expect(raw.emitted).toEqual([
      ['chat-message', { message: 'typed while away' }],
      ['signal', { to: 'p1', data: { type: 'ice-candidate', candidate: {} } }],
    ]);
  });
});
