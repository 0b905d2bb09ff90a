// Interests: the tags a user may give on the landing page. The server pairs
// users who share one first; these rules mirror its cleaning so that what the
// field shows is what the server uses.

export const INTERESTS_MAX = 5;
export const INTEREST_LEN_MAX = 24;
export const INTERESTS_KEY = 'zivro-interests';

/** Splits the field's text on commas into at most five distinct lower-case tags. */
export function parseInterests(text) {
  const tags = [];
  for (const part of String(text ?? '').split(',')) {
    const tag = part.trim().toLowerCase().slice(0, INTEREST_LEN_MAX).trim();
    if (tag && !tags.includes(tag) && tags.length < INTERESTS_MAX) tags.push(tag);
  }
  return tags;
}

/** The field's text for a list of tags. */
export const formatInterests = (tags) => tags.join(', ');

/** The remembered tags, [] when none or when storage is blocked. */
export function loadInterests(storage) {
  try {
    const stored = JSON.parse(storage?.getItem(INTERESTS_KEY) ?? '[]');
    return Array.isArray(stored) ? parseInterests(stored.filter((t) => typeof t === 'string').join(',')) : [];
  } catch {
    return [];
  }
}

export function saveInterests(storage, tags) {
  try {
    storage?.setItem(INTERESTS_KEY, JSON.stringify(tags));
  } catch {
    // not remembered; the field still works for this visit
  }
}
