import { describe, expect, it } from 'vitest';
import { describeMediaError, getLocalStream, setTracksEnabled, stopStream } from './media.js';

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
    ['NotAllowedError', /blocked/],
    ['NotFoundError', /No camera or microphone/],
    ['NotReadableError', /in use/],
    ['NotSupportedError', /browser/],
    ['Whatever', /Could not start/],
  ])('explains %s', (name, pattern) => {
    expect(describeMediaError({ name })).toMatch(pattern);
  });
});
