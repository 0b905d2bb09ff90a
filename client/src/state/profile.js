// The landing form's profile: the options the server and the browser tests know,
// and the validation shown inline by StartChat.
import { parseInterests } from './interests.js';

export const NAME_MIN = 2;
export const NAME_MAX = 20;

// The option values; their words are profile.gender.<value> and
// profile.region.<value> in i18n/.
export const GENDERS = ['male', 'female', 'other'];

export const REGIONS = ['asia', 'europe', 'africa', 'north-america', 'south-america', 'oceania'];

const isOption = (options, value) => options.includes(value);

// The language to be matched on, as the server takes it (README, "The
// contract"): a BCP 47 primary tag; '' for no preference.
const LANGUAGE_TAG = /^[a-z]{2,3}$/;
const matchLanguage = (language) => (typeof language === 'string' && LANGUAGE_TAG.test(language) ? language : '');

/** A region's label in the language of t; the value itself when this client does not know it. */
export const regionLabel = (value, t) => (REGIONS.includes(value) ? t(`profile.region.${value}`) : value);

/**
 * Returns { profile, errors }: profile is the trimmed profile when errors is empty,
 * with the interests field's text as a list of tags. errors holds translation
 * keys (profile.error.*; the name's takes { min: NAME_MIN, max: NAME_MAX }).
 */
export function validateProfile({ name = '', gender = '', region = '', interests = '', textOnly = false, language = '' }) {
  const trimmed = String(name).trim();
  const errors = {};
  if (trimmed.length < NAME_MIN || trimmed.length > NAME_MAX) {
    errors.name = 'profile.error.name';
  }
  if (!isOption(GENDERS, gender)) errors.gender = 'profile.error.gender';
  if (!isOption(REGIONS, region)) errors.region = 'profile.error.region';
  const valid = Object.keys(errors).length === 0;
  const profile = {
    name: trimmed,
    gender,
    region,
    interests: parseInterests(interests),
    textOnly: textOnly === true,
    language: matchLanguage(language),
  };
  return { profile: valid ? profile : null, errors };
}

// The last profile started with ({ name, gender, region, textOnly, language }; the interests are
// kept by interests.js), so that a reload or a new visit starts filled in.
export const PROFILE_KEY = 'zivro-profile';

/** The remembered profile, null when none, unreadable, or no longer valid. */
export function loadProfile(storage) {
  try {
    const stored = JSON.parse(storage?.getItem(PROFILE_KEY) ?? 'null');
    if (!stored || typeof stored !== 'object') return null;
    const { name = '', gender = '', region = '', textOnly = false, language = '' } = stored;
    if (!validateProfile({ name, gender, region }).profile) return null;
    return { name: String(name), gender, region, textOnly: textOnly === true, language: matchLanguage(language) };
  } catch {
    return null;
  }
}

export function saveProfile(storage, { name, gender, region, textOnly = false, language = '' }) {
  try {
    storage?.setItem(PROFILE_KEY, JSON.stringify({ name, gender, region, textOnly, language }));
  } catch {
    // private mode or full: the form is empty next visit
  }
}
