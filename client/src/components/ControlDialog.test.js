import { describe, expect, it } from 'vitest';
import { placeDialog } from './ControlDialog.jsx';

const rect = (left, top, size = 48) => ({ left, top, right: left + size, bottom: top + size });

describe('a call control’s dialog stays in the viewport', () => {
  it('below a button at the top right of a phone, right-aligned with it', () => {
    expect(placeDialog(rect(330, 12), 390, 844)).toEqual({ top: 68, right: 12, maxHeight: 844 - 68 - 8 });
  });

  it('above a button near the bottom, with the room above as its height, shifted to stay on screen', () => {
    expect(placeDialog(rect(200, 780), 390, 844)).toEqual({ bottom: 844 - 780 + 8, right: 94, maxHeight: 780 - 16 });
  });

  it('never past the left edge when the button is at the left', () => {
    const p = placeDialog(rect(8, 12), 390, 844);
    expect(390 - p.right - 288).toBeGreaterThanOrEqual(8);
  });

  it('on a screen narrower than the dialog, a margin on both sides', () => {
    expect(placeDialog(rect(250, 12), 300, 600).right).toBe(8);
  });
});
