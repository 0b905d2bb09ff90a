import { describe, expect, it } from 'vitest';
import { SWIPE_MIN_PX, isSwipeLeft } from './useSwipeLeft.js';

describe('swipe left for Next', () => {
  it.each([
    ['a long stroke to the left', -SWIPE_MIN_PX, 0, true],
    ['a slightly slanted one', -120, 40, true],
    ['too short', -(SWIPE_MIN_PX - 1), 0, false],
    ['to the right (the browser’s Back direction)', 200, 0, false],
    ['mostly vertical', -80, 60, false],
    ['a tap', 0, 0, false],
  ])('%s', (_, dx, dy, swipe) => {
    expect(isSwipeLeft(dx, dy)).toBe(swipe);
  });
});
