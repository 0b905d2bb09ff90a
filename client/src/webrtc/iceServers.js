// ICE servers come from VITE_ICE_SERVERS (a JSON array of RTCIceServer), never from
// the source: TURN credentials belong in the deployment's environment.

export const DEFAULT_ICE_SERVERS = [{ urls: 'stun:stun.l.google.com:19302' }];

const isIceServer = (s) =>
  s && (typeof s.urls === 'string' || (Array.isArray(s.urls) && s.urls.every((u) => typeof u === 'string')));

export function parseIceServers(raw) {
  if (!raw || !String(raw).trim()) return DEFAULT_ICE_SERVERS;
  try {
    const servers = JSON.parse(raw);
    if (Array.isArray(servers) && servers.length > 0 && servers.every(isIceServer)) return servers;
  } catch {
    // fall through to the default
  }
  console.warn('VITE_ICE_SERVERS is not a JSON array of ICE servers; using the public STUN server.');
  return DEFAULT_ICE_SERVERS;
}
