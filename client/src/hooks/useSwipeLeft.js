// Swipe left on the partner's video for Next, as on the phone apps people
// know. Pointer events, so it works for touch and pen alike (a mouse drag
// is not a swipe: on a laptop it would skip someone by accident); the
// element carries `touch-action: none` so the browser neither scrolls nor
// cancels the stroke. While the call is on screen, the page's horizontal
// overscroll is off too, so that a sideways swipe never turns into the
// browser's Back and leaves the site mid-call.
import { useEffect, useRef } from 'react';

export const SWIPE_MIN_PX = 60;

/** Whether a stroke of (dx, dy) pixels is a swipe to the left. */
export const isSwipeLeft = (dx, dy) => dx <= -SWIPE_MIN_PX && Math.abs(dx) > 2 * Math.abs(dy);

// A stroke that starts on a control or in a dialog is the control's.
const onControl = (target) => target instanceof Element && target.closest('button, a, input, select, textarea, [role="dialog"]');

export function useSwipeLeft(onSwipe) {
  const start = useRef(null);

  useEffect(() => {
    const root = document.documentElement;
    const before = root.style.overscrollBehaviorX;
    root.style.overscrollBehaviorX = 'none';
    return () => {
      root.style.overscrollBehaviorX = before;
    };
  }, []);

  return {
    onPointerDown(event) {
      if (event.pointerType === 'mouse' || !event.isPrimary || onControl(event.target)) return;
      start.current = { id: event.pointerId, x: event.clientX, y: event.clientY };
    },
    onPointerUp(event) {
      const from = start.current;
      start.current = null;
      if (from?.id === event.pointerId && isSwipeLeft(event.clientX - from.x, event.clientY - from.y)) onSwipe();
    },
    onPointerCancel() {
      start.current = null;
    },
  };
}
