// Helpers for the moderation tests: the admin API with its token, a small
// JPEG still and chat lines as our client attaches them.
import { emitAck, waitFor } from './harness.mjs';

/** A token that passes the server's secret check. */
export const ADMIN_TOKEN = 'moderation-test-0123456789abcdef0123456789abcdef';

/** A 16×12 JPEG (623 bytes) as a data URL. */
export const STILL = 'data:image/jpeg;base64,/9j/2wCEABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2MBERISGBUYLxoaL2NCOEJjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY//AABEIAAwAEAMBIgACEQEDEQH/xAGiAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+gEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoLEQACAQIEBAMEBwUEBAABAncAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS8BVictEKFiQ04SXxFxgZGiYnKCkqNTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2gAMAwEAAhEDEQA/AMe303p8tadvpvT5a1beCPjitO3gj44r0KuLkY5fjpaH/9k=';

/** The chat lines of a call, both sides. */
export const LINES = [
  { mine: true, text: 'hi there', at: 1700000000000 },
  { mine: false, text: 'something abusive', at: 1700000001000 },
];

/** One admin API request; returns {status, json}. */
export async function adminApi(url, method, path, { token = ADMIN_TOKEN, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${url}/admin/api/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text };
}

/** Joins a and b (no one else waiting) and waits until they are paired. */
export async function pairUp(a, b) {
  const ma = waitFor(a, 'matched', { timeout: 10000 });
  const mb = waitFor(b, 'matched', { timeout: 10000 });
  for (const [s, name] of [[a, 'Reporter'], [b, 'Reported']]) {
    const ack = await emitAck(s, 'join-queue', { name, gender: 'other', region: 'here' }, 10000);
    if (!ack || ack.ok !== true) throw new Error(`join ${name}: ${JSON.stringify(ack)}`);
  }
  return Promise.all([ma, mb]);
}
