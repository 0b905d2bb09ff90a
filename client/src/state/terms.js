// The terms a device has accepted: asked once, and again when they change.
// Raise TERMS_VERSION with any change to the rules (TermsModal), the Terms
// page or the Privacy page that users must agree to again.

export const TERMS_VERSION = 1;
const KEY = 'zivro-terms-version';

/** True when this device accepted the current terms. */
export function loadTermsAccepted(storage) {
  try {
    return storage?.getItem(KEY) === String(TERMS_VERSION);
  } catch {
    return false;
  }
}

export function saveTermsAccepted(storage) {
  try {
    storage?.setItem(KEY, String(TERMS_VERSION));
  } catch {
    // private mode or full: asked again next visit
  }
}
