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

/**
 * The cameras and microphones: { cameras, mics } of { deviceId, label, n }
 * (label '' before permission or when the browser gives none: the picker
 * names it by n, its place in the list).
 */
export async function listDevices(mediaDevices = globalThis.navigator?.mediaDevices) {
  const all = (await mediaDevices?.enumerateDevices?.()) ?? [];
  const of = (kind) =>
    all
      .filter((d) => d.kind === kind && d.deviceId)
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label, n: i + 1 }));
  return { cameras: of('videoinput'), mics: of('audioinput') };
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

/** A message a person can act on, for a getUserMedia rejection: its key in i18n/. */
export function describeMediaError(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'media.blocked';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'media.notFound';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'media.inUse';
    case 'NotSupportedError':
      return 'media.unsupported';
    default:
      return 'media.failed';
  }
}
