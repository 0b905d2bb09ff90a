// The number of people online, from the server's public, cached count
// (GET /stats), for the landing page. null until known or when unavailable.
import { useEffect, useState } from 'react';

export const ONLINE_EVERY_MS = 15000;

export function useOnlineCount(baseUrl, { fetchImpl = globalThis.fetch, everyMs = ONLINE_EVERY_MS } = {}) {
  const [online, setOnline] = useState(null);
  useEffect(() => {
    let stopped = false;
    const read = async () => {
      try {
        const res = await fetchImpl(`${baseUrl}/stats`, { credentials: 'include', signal: AbortSignal.timeout(5000) });
        const body = res.ok ? await res.json() : null;
        if (!stopped) setOnline(Number.isInteger(body?.online) ? body.online : null);
      } catch {
        if (!stopped) setOnline(null);
      }
    };
    read();
    const timer = setInterval(read, everyMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [baseUrl, fetchImpl, everyMs]);
  return online;
}
