// "Hide my IP address": calls only through the TURN relay, remembered across visits.

const KEY = 'zivro-hide-ip';

export function loadHideIp(storage) {
  try {
    return storage?.getItem(KEY) === 'true';
  } catch {
    return false;
  }
}

export function saveHideIp(storage, hideIp) {
  try {
    storage?.setItem(KEY, String(Boolean(hideIp)));
  } catch {
    // private mode or full: the setting lasts for this visit
  }
}
