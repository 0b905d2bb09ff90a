// What "attach what I saw" sends with a report: the last chat lines of the
// call, both sides, and a small still of the partner's video. The server's
// bounds (README, report evidence): 20 lines of 300 characters, a JPEG of
// at most 160×120 and 12 KB.

export const MAX_LINES = 20;
export const MAX_LINE_CHARS = 300;
export const STILL_WIDTH = 160;
export const STILL_HEIGHT = 120;
export const MAX_STILL_BYTES = 12 * 1024;

/** The last MAX_LINES messages as evidence lines, each cut to MAX_LINE_CHARS. */
export function chatLines(messages) {
  return messages.slice(-MAX_LINES).map((m) => ({
    mine: m.from === 'me',
    text: Array.from(m.text).slice(0, MAX_LINE_CHARS).join(''),
    at: m.timestamp,
  }));
}

/** Bytes of the data a base64 data URL carries. */
export function dataUrlBytes(url) {
  const b64 = url.slice(url.indexOf(',') + 1);
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return (b64.length * 3) / 4 - pad;
}

/**
 * Draws the video's current frame, whole, into a STILL_WIDTH×STILL_HEIGHT
 * canvas and encodes it as JPEG, lowering the quality until it fits
 * MAX_STILL_BYTES; null when the video has no frame or nothing fits.
 */
export function stillOf(video, doc = globalThis.document) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) return null;
  const scale = Math.min(STILL_WIDTH / w, STILL_HEIGHT / h, 1);
  const canvas = doc.createElement('canvas');
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.7, 0.5, 0.35, 0.2, 0.1]) {
    const url = canvas.toDataURL('image/jpeg', quality);
    if (url.startsWith('data:image/jpeg') && dataUrlBytes(url) <= MAX_STILL_BYTES) return url;
  }
  return null;
}

/** A still of the stream's video (a detached, muted player), or null. */
export async function captureStill(stream, { timeout = 1500, doc = globalThis.document } = {}) {
  if (!stream || !doc || stream.getVideoTracks().length === 0) return null;
  const video = doc.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  let timer;
  try {
    await Promise.race([
      video.play(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no frame in time')), timeout);
      }),
    ]);
    return stillOf(video, doc);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    video.pause();
    video.srcObject = null;
  }
}

/** The evidence of a report: the chat lines and, with a stream, a still. */
export async function gatherEvidence(messages, stream) {
  const evidence = { lines: chatLines(messages) };
  const still = await captureStill(stream);
  if (still) evidence.still = still;
  return evidence;
}
