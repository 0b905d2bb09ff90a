// The RTCPeerConnection's ICE servers come from the server (GET /ice-servers),
// fetched before each call: TURN credentials are short-lived and per user, so
// none is ever in the bundle. When the server cannot be asked, the call goes
// ahead with the public STUN server.

export const DEFAULT_ICE_SERVERS = [{ urls: 'stun:stun.l.google.com:19302' }];
export const FALLBACK_CONFIG = { iceServers: DEFAULT_ICE_SERVERS, relay: false };
export const ICE_FETCH_TIMEOUT_MS = 5000;

const isIceServer = (s) =>
  s && (typeof s.urls === 'string' || (Array.isArray(s.urls) && s.urls.every((u) => typeof u === 'string')));

/** Checks a /ice-servers answer; { iceServers, relay } or the fallback. */
export function parseIceConfig(body) {
  const servers = body?.iceServers;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every(isIceServer)) return FALLBACK_CONFIG;
  return { iceServers: servers, relay: body.relay === true };
}

/** Fetches the ICE configuration from the backend at baseUrl ('' = this origin). */
export async function fetchIceConfig(baseUrl, { fetchImpl = globalThis.fetch, timeoutMs = ICE_FETCH_TIMEOUT_MS } = {}) {
  try {
    const res = await fetchImpl(`${baseUrl}/ice-servers`, {
      credentials: 'include',
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return FALLBACK_CONFIG;
    return parseIceConfig(await res.json());
  } catch {
    return FALLBACK_CONFIG;
  }
}
