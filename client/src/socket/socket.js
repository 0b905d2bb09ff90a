// The one Socket.IO connection to the backend: its status, and a subscribe API
// for server events. Transports are Socket.IO's defaults.
import { io } from 'socket.io-client';

export const ACK_TIMEOUT_MS = 10000;

/**
 * createSocket(url?) connects to `url`, or to the page's own origin when it is empty.
 * Returns { getStatus, onStatus, on, emit }.
 */
export function createSocket(url, { connect = io } = {}) {
  const socket = url ? connect(url) : connect();
  let status = socket.connected ? 'connected' : 'connecting';
  const statusListeners = new Set();

  const setStatus = (next) => {
    if (next === status) return;
    status = next;
    statusListeners.forEach((listener) => listener(status));
  };

  socket.on('connect', () => setStatus('connected'));
  socket.on('disconnect', () => setStatus('disconnected'));
  socket.on('connect_error', () => setStatus('disconnected'));

  return {
    /** 'connecting' | 'connected' | 'disconnected' */
    getStatus: () => status,
    /** Calls listener(status) on every change; returns an unsubscribe function. */
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    /** Subscribes to a server event; returns an unsubscribe function. */
    on(event, handler) {
      socket.on(event, handler);
      return () => socket.off(event, handler);
    },
    /**
     * Emits only while connected: nothing stale is replayed after a reconnect.
     * With ack, the server's acknowledgement ({ ok, error }) is passed to it, or
     * null when none came within ACK_TIMEOUT_MS.
     */
    emit(event, payload, ack) {
      if (!socket.connected) return false;
      if (ack) socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, reply) => ack(err ? null : reply));
      else if (payload === undefined) socket.emit(event);
      else socket.emit(event, payload);
      return true;
    },
  };
}
