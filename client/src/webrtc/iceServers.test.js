import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_ICE_SERVERS, parseIceServers } from './iceServers.js';

describe('parseIceServers', () => {
  it('defaults to public STUN', () => {
    expect(parseIceServers(undefined)).toEqual([{ urls: 'stun:stun.l.google.com:19302' }]);
    expect(parseIceServers('  ')).toBe(DEFAULT_ICE_SERVERS);
  });

  it('reads a JSON array of ICE servers', () => {
    const servers = [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'c' }];
    expect(parseIceServers(JSON.stringify(servers))).toEqual(servers);
  });

  it.each(['not json', '{"urls":"stun:x"}', '[]', '[{"url":"stun:x"}]'])('falls back on %j', (raw) => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(parseIceServers(raw)).toBe(DEFAULT_ICE_SERVERS);
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });
});
