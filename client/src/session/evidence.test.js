import { describe, expect, it } from 'vitest';
import { MAX_STILL_BYTES, captureStill, chatLines, dataUrlBytes, stillOf } from './evidence.js';

describe('evidence', () => {
  it('dataUrlBytes counts the bytes a base64 data URL carries', () => {
    expect(dataUrlBytes('data:image/jpeg;base64,QUJD')).toBe(3);
    expect(dataUrlBytes('data:image/jpeg;base64,QUI=')).toBe(2);
    expect(dataUrlBytes('data:image/jpeg;base64,QQ==')).toBe(1);
  });

  it('chatLines keeps the last 20, whole characters (an emoji is not split)', () => {
    const messages = Array.from({ length: 25 }, (_, i) => ({ from: i % 2 ? 'me' : 'partner', text: `m${i}`, timestamp: i }));
    messages.push({ from: 'me', text: '😀'.repeat(301), timestamp: 99 });
    const lines = chatLines(messages);
    expect(lines).toHaveLength(20);
    expect(lines[0]).toEqual({ mine: false, text: 'm6', at: 6 });
    expect(Array.from(lines[19].text)).toHaveLength(300);
  });

  it('stillOf scales the frame to fit 160×120 and lowers the quality until it fits 12 KB', () => {
    const asked = [];
    const canvas = {
      getContext: () => ({ drawImage: () => {} }),
      toDataURL: (type, quality) => {
        asked.push(quality);
        // 16 KB at the first two qualities, then small.
        return `data:${type};base64,` + 'A'.repeat(quality > 0.4 ? 16 * 1024 * 4 / 3 : 100);
      },
    };
    const doc = { createElement: () => canvas };
    const url = stillOf({ videoWidth: 640, videoHeight: 360 }, doc);
    expect(canvas.width).toBe(160);
    expect(canvas.height).toBe(90);
    expect(asked).toEqual([0.7, 0.5, 0.35]);
    expect(dataUrlBytes(url)).toBeLessThanOrEqual(MAX_STILL_BYTES);
    expect(stillOf({ videoWidth: 0, videoHeight: 0 }, doc)).toBeNull();
  });

  it('captureStill of no stream, or of a stream without video, is null', async () => {
    expect(await captureStill(null)).toBeNull();
    expect(await captureStill({ getVideoTracks: () => [] })).toBeNull();
  });
});
