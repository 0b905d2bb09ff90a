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
