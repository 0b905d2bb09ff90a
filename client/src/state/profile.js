// The landing form's profile: the options the server and the browser tests know,
// and the validation shown inline by StartChat.
import { parseInterests } from './interests.js';

export const NAME_MIN = 2;
export const NAME_MAX = 20;

export const GENDERS = [
  { value: 'male', label: 'Male' },
  { value: 'female', label: 'Female' },
  { value: 'other', label: 'Other' },
];

export const REGIONS = [
  { value: 'asia', label: 'Asia' },
  { value: 'europe', label: 'Europe' },
  { value: 'africa', label: 'Africa' },
  { value: 'north-america', label: 'North America' },
  { value: 'south-america', label: 'South America' },
  { value: 'oceania', label: 'Oceania' },
];

const isOption = (options, value) => options.some((o) => o.value === value);

/** A region's label; the value itself when this client does not know it. */
export const regionLabel = (value) => REGIONS.find((r) => r.value === value)?.label ?? value;

/**
 * Returns { profile, errors }: profile is the trimmed profile when errors is empty,
 * with the interests field's text as a list of tags.
 */
export function validateProfile({ name = '', gender = '', region = '', interests = '', textOnly = false }) {
  const trimmed = String(name).trim();
  const errors = {};
  if (trimmed.length < NAME_MIN || trimmed.length > NAME_MAX) {
    errors.name = `Name must be ${NAME_MIN} to ${NAME_MAX} characters.`;
  }
  if (!isOption(GENDERS, gender)) errors.gender = 'Choose a gender.';
  if (!isOption(REGIONS, region)) errors.region = 'Choose a region.';
  const valid = Object.keys(errors).length === 0;
  const profile = { name: trimmed, gender, region, interests: parseInterests(interests), textOnly: textOnly === true };
  return { profile: valid ? profile : null, errors };
}

// The last profile started with ({ name, gender, region, textOnly }; the interests are
// kept by interests.js), so that a reload or a new visit starts filled in.
export const PROFILE_KEY = 'zivro-profile';

/** The remembered profile, null when none, unreadable, or no longer valid. */
export function loadProfile(storage) {
  try {
    const stored = JSON.parse(storage?.getItem(PROFILE_KEY) ?? 'null');
    if (!stored || typeof stored !== 'object') return null;
    const { name = '', gender = '', region = '', textOnly = false } = stored;
    return validateProfile({ name, gender, region }).profile && { name: String(name), gender, region, textOnly: textOnly === true };
  } catch {
    return null;
  }
}

export function saveProfile(storage, { name, gender, region, textOnly = false }) {
  try {
    storage?.setItem(PROFILE_KEY, JSON.stringify({ name, gender, region, textOnly }));
  } catch {
    // private mode or full: the form is empty next visit
  }
}
