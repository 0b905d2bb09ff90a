import { describe, expect, it } from 'vitest';
import { FALLBACK_CONFIG, fetchIceConfig, parseIceConfig } from './iceServers.js';

const turn = { urls: ['turn:t:3478'], username: '1:x', credential: 'c' };

describe('ICE configuration', () => {
  it('takes the server’s answer', () => {
    expect(parseIceConfig({ iceServers: [{ urls: ['stun:s'] }, turn], relay: true })).toEqual({
      iceServers: [{ urls: ['stun:s'] }, turn],
      relay: true,
    });
    expect(parseIceConfig({ iceServers: [{ urls: 'stun:s' }] }).relay).toBe(false);
  });

  it('falls back to public STUN on anything else', () => {
    for (const body of [null, {}, { iceServers: [] }, { iceServers: [{ urls: 5 }] }, { iceServers: 'x' }]) {
      expect(parseIceConfig(body)).toBe(FALLBACK_CONFIG);
    }
  });

  it('fetches /ice-servers of the backend, uncached, and falls back when it fails', async () => {
    const calls = [];
    const ok = (body) => async (url, init) => {
      calls.push([url, init.cache]);
      return { ok: true, json: async () => body };
    };
    expect(await fetchIceConfig('https://api.test', { fetchImpl: ok({ iceServers: [turn], relay: true }) })).toEqual({
      iceServers: [turn],
      relay: true,
    });
    expect(calls).toEqual([['https://api.test/ice-servers', 'no-store']]);
    expect(await fetchIceConfig('', { fetchImpl: async () => ({ ok: false, status: 429 }) })).toBe(FALLBACK_CONFIG);
    expect(await fetchIceConfig('', { fetchImpl: async () => { throw new TypeError('offline'); } })).toBe(FALLBACK_CONFIG);
  });
});
