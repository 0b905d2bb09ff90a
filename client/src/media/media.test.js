import { describe, expect, it } from 'vitest';
import { describeMediaError, getLocalStream, mediaGranted, listDevices, setTracksEnabled, stopStream, switchTrack } from './media.js';
import { fakeStream, fakeTrack } from '../testing/fakes.js';

const track = (kind) => ({ kind, enabled: true, stopped: false, stop() { this.stopped = true; } });
const streamOf = (...tracks) => ({ getTracks: () => tracks });

describe('media', () => {
  it('asks for video and audio', async () => {
    let asked;
    const stream = {};
    await expect(getLocalStream({ getUserMedia: async (c) => ((asked = c), stream) })).resolves.toBe(stream);
    expect(asked).toEqual({ video: true, audio: true });
  });

  it('rejects with NotSupportedError when there is no getUserMedia', async () => {
    await expect(getLocalStream(undefined)).rejects.toMatchObject({ name: 'NotSupportedError' });
  });

  it('stops every track', () => {
    const tracks = [track('audio'), track('video')];
    stopStream(streamOf(...tracks));
    expect(tracks.every((t) => t.stopped)).toBe(true);
    expect(() => stopStream(null)).not.toThrow();
  });

  it('enables and disables tracks of one kind', () => {
    const [a, v] = [track('audio'), track('video')];
    setTracksEnabled(streamOf(a, v), 'video', false);
    expect([a.enabled, v.enabled]).toEqual([true, false]);
  });

  it.each([
    ['NotAllowedError', 'media.blocked'],
    ['NotFoundError', 'media.notFound'],
    ['NotReadableError', 'media.inUse'],
    ['NotSupportedError', 'media.unsupported'],
    ['Whatever', 'media.failed'],
  ])('explains %s', (name, key) => {
    expect(describeMediaError({ name })).toBe(key);
  });
});

describe('devices', () => {
  it('lists cameras and microphones, numbering them for those without a label', async () => {
    const mediaDevices = {
      enumerateDevices: async () => [
        { kind: 'videoinput', deviceId: 'v1', label: 'Front' },
        { kind: 'audioinput', deviceId: 'a1', label: '' },
        { kind: 'audiooutput', deviceId: 'o1', label: 'Speaker' },
        { kind: 'videoinput', deviceId: '', label: '' }, // before permission
      ],
    };
    expect(await listDevices(mediaDevices)).toEqual({
      cameras: [{ deviceId: 'v1', label: 'Front', n: 1 }],
      mics: [{ deviceId: 'a1', label: '', n: 1 }],
    });
  });

  it('switches one kind of track, keeping the others and stopping the old one', async () => {
    const oldVideo = fakeTrack('video');
    const audio = fakeTrack('audio');
    const newVideo = fakeTrack('video');
    const asked = [];
    const mediaDevices = {
      getUserMedia: async (c) => {
        asked.push(c);
        return fakeStream(newVideo);
      },
    };
    const { stream, track } = await switchTrack(fakeStream(audio, oldVideo), 'video', 'cam2', mediaDevices, (t) => fakeStream(...t));
    expect(asked).toEqual([{ video: { deviceId: { exact: 'cam2' } } }]);
    expect(track).toBe(newVideo);
    expect(stream.getTracks()).toEqual([audio, newVideo]);
    expect(oldVideo.stopped).toBe(true);
    expect(audio.stopped).toBe(false);
  });
});

describe('mediaGranted', () => {
  const query = (states) => ({ query: async ({ name }) => {
    if (!(name in states)) throw new TypeError(`'${name}' is not a valid permission name`);
    return { state: states[name] };
  } });

  it('true only when both the camera and the microphone are granted', async () => {
    expect(await mediaGranted(query({ camera: 'granted', microphone: 'granted' }))).toBe(true);
    expect(await mediaGranted(query({ camera: 'granted', microphone: 'prompt' }))).toBe(false);
    expect(await mediaGranted(query({ camera: 'denied', microphone: 'granted' }))).toBe(false);
  });

  it('false when the browser cannot tell (no API, or no camera permission name)', async () => {
    expect(await mediaGranted(undefined)).toBe(false);
    expect(await mediaGranted(query({}))).toBe(false);
  });
});
