// The one Socket.IO connection to the backend: its status, and a subscribe API
// for server events. Transports are Socket.IO's defaults.
//
// It asks for Socket.IO's connection state recovery (auth {resume: true},
// CONTRACT.md "Resuming a session"): after a drop, socket.io-client sends the
// session's pid and last offset when it reconnects, and the server gives the
// same session back (recovered) with the events it missed, or a new one.
import { io } from 'socket.io-client';

export const ACK_TIMEOUT_MS = 10000;

// A new object for each connection: socket.io-client writes into it.
const socketOptions = () => ({ auth: { resume: true } });

/**
 * createSocket(url?) connects to `url`, or to the page's own origin when it is empty.
 * Returns { getStatus, onStatus, on, emit, send }. pageEvents is where the
 * page's pagehide comes from (the window).
 */
export function createSocket(url, { connect = io, pageEvents = globalThis.window } = {}) {
  const socket = url ? connect(url, socketOptions()) : connect(socketOptions());
  let status = socket.connected ? 'connected' : 'connecting';
  const statusListeners = new Set();

  const setStatus = (next, details) => {
    if (next === status) return;
    status = next;
    statusListeners.forEach((listener) => listener(status, details));
  };

  // recovered: the server gave the same session back (socket.io-client sets
  // it before 'connect'); false on a first connection and on a new session.
  socket.on('connect', () => setStatus('connected', { recovered: socket.recovered === true }));
  socket.on('disconnect', () => setStatus('disconnected'));
  socket.on('connect_error', () => setStatus('disconnected'));

  // Closing or leaving the page is a goodbye (a namespace disconnect): the
  // server ends the session at once, and the partner is told, instead of
  // holding it for a resume that will not come. A page kept in the
  // back-forward cache (persisted) may come back: no goodbye then.
  pageEvents?.addEventListener('pagehide', (event) => {
    if (!event.persisted) socket.disconnect();
  });

  return {
    /** 'connecting' | 'connected' | 'disconnected' */
    getStatus: () => status,
    /**
     * Calls listener(status, details) on every change; details is
     * { recovered } when the status is 'connected'. Returns an unsubscribe function.
     */
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    /**
     * Subscribes to a server event; returns an unsubscribe function. The
     * handler gets the event's first argument only: with recovery on, the
     * server adds the event's offset (a string) as a last argument, which is
     * socket.io-client's business, never a payload.
     */
    on(event, handler) {
      const listener = (payload) => handler(payload);
      socket.on(event, listener);
      return () => socket.off(event, listener);
    },
    /**
     * For state changes (join, Next, leave, report, block): emits only while
     * connected, so that nothing stale is replayed after a reconnect; false
     * when nothing was sent. With ack, the server's acknowledgement
     * ({ ok, error }) is passed to it, or null when none came within
     * ACK_TIMEOUT_MS.
     */
    emit(event, payload, ack) {
      if (!socket.connected) return false;
      const buffered = socket.sendBuffer.length;
      const args = payload === undefined ? [event] : [event, payload];
      if (ack) socket.timeout(ACK_TIMEOUT_MS).emit(...args, (err, reply) => ack(err ? null : reply));
      else socket.emit(...args);
      // Still connected, but socket.io-client kept it for later: a heartbeat
      // is already overdue, the drop is coming. Taken back, as if the drop
      // had come (its ack gets null), so that it is not sent twice: once
      // from the buffer and once again by the session after the resume.
      if (socket.sendBuffer.length > buffered) {
        socket.sendBuffer.pop();
        return false;
      }
      return true;
    },
    /**
     * For relays to the partner (signal, chat-message): sent at once, or
     * kept by socket.io-client while the connection is down and sent when it
     * is back, so that a resumed call loses nothing (on a new session the
     * server refuses them: no partner).
     */
    send(event, payload) {
      socket.emit(event, payload);
    },
  };
}
