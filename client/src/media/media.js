// The local camera and microphone.

export const MEDIA_CONSTRAINTS = { video: true, audio: true };

export function getLocalStream(mediaDevices = globalThis.navigator?.mediaDevices) {
  if (!mediaDevices?.getUserMedia) {
    const err = new Error('getUserMedia is not available');
    err.name = 'NotSupportedError';
    return Promise.reject(err);
  }
  return mediaDevices.getUserMedia(MEDIA_CONSTRAINTS);
}

/**
 * True when the browser already lets this site use the camera and the
 * microphone, so that getUserMedia will not prompt: the permission step
 * can be skipped. False when it would prompt, or cannot tell (a browser
 * without the Permissions API, or without the 'camera' name: Firefox).
 */
export async function mediaGranted(permissions = globalThis.navigator?.permissions) {
  if (!permissions?.query) return false;
  try {
    const states = await Promise.all(['camera', 'microphone'].map((name) => permissions.query({ name })));
    return states.every((s) => s.state === 'granted');
  } catch {
    return false;
  }
}

/** The cameras and microphones: { cameras, mics } of { deviceId, label }. */
export async function listDevices(mediaDevices = globalThis.navigator?.mediaDevices) {
  const all = (await mediaDevices?.enumerateDevices?.()) ?? [];
  const of = (kind, name) =>
    all
      .filter((d) => d.kind === kind && d.deviceId)
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${name} ${i + 1}` }));
  return { cameras: of('videoinput', 'Camera'), mics: of('audioinput', 'Microphone') };
}

/**
 * Replaces stream's track of kind ('video' | 'audio') with one from deviceId.
 * Resolves { stream, track }: a new stream with the other tracks and the new one
 * (a video element shows a new stream at once), the old track stopped.
 */
export async function switchTrack(
  stream,
  kind,
  deviceId,
  mediaDevices = globalThis.navigator?.mediaDevices,
  createStream = (tracks) => new MediaStream(tracks),
) {
  const got = await mediaDevices.getUserMedia({ [kind]: { deviceId: { exact: deviceId } } });
  const [track] = got.getTracks().filter((t) => t.kind === kind);
  const keep = stream.getTracks().filter((t) => t.kind !== kind);
  stream.getTracks().forEach((t) => t.kind === kind && t.stop());
  return { stream: createStream([...keep, track]), track };
}

export function stopStream(stream) {
  stream?.getTracks().forEach((track) => track.stop());
}

export function setTracksEnabled(stream, kind, enabled) {
  stream?.getTracks().forEach((track) => {
    if (track.kind === kind) track.enabled = enabled;
  });
}

/** A message a person can act on, for a getUserMedia rejection. */
export function describeMediaError(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'Camera and microphone access was blocked. Allow it in your browser’s site settings, then try again.';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. Connect one and try again.';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'Your camera or microphone is in use by another app. Close it and try again.';
    case 'NotSupportedError':
      return 'This browser cannot use a camera here. Use a recent browser over HTTPS.';
    default:
      return 'Could not start your camera and microphone. Check your devices and try again.';
  }
}
