import { describe, expect, it } from 'vitest';
import { createI18n } from '../i18n/i18n.js';
import { loadProfile, regionLabel, saveProfile, validateProfile } from './profile.js';

describe('validateProfile', () => {
  it('accepts a valid profile, trimming the name', () => {
    expect(validateProfile({ name: '  Ada ', gender: 'female', region: 'north-america' })).toEqual({
      profile: { name: 'Ada', gender: 'female', region: 'north-america', interests: [], textOnly: false, language: '' },
      errors: {},
    });
  });

  it('turns the interests field into tags', () => {
    const { profile } = validateProfile({ name: 'Ada', gender: 'female', region: 'asia', interests: 'Music, chess' });
    expect(profile.interests).toEqual(['music', 'chess']);
  });

  it.each([
    ['', true],
    ['A', true],
    ['  A  ', true],
    ['Al', false],
    ['x'.repeat(20), false],
    [`  ${'x'.repeat(20)}  `, false],
    ['x'.repeat(21), true],
  ])('name %j invalid: %s', (name, invalid) => {
    const { errors } = validateProfile({ name, gender: 'male', region: 'asia' });
    expect(Boolean(errors.name)).toBe(invalid);
  });

  it.each([
    ['es', 'es'],
    ['fil', 'fil'],
    ['', ''],
    ['en-US', ''], // the server takes a primary tag only
    ['EN', ''],
    [undefined, ''],
  ])('language %j is matched on as %j', (language, want) => {
    expect(validateProfile({ name: 'Ada', gender: 'female', region: 'asia', language }).profile.language).toBe(want);
  });

  it('reports every invalid field', () => {
    const { profile, errors } = validateProfile({ name: '', gender: 'robot', region: '' });
    expect(profile).toBeNull();
    expect(errors).toEqual({ name: 'profile.error.name', gender: 'profile.error.gender', region: 'profile.error.region' });
  });
});

describe('regionLabel', () => {
  it('names a known region, and shows an unknown one as it came', () => {
    const i18n = createI18n();
    expect(regionLabel('north-america', i18n.getFixedT('en'))).toBe('North America');
    expect(regionLabel('north-america', i18n.getFixedT('fr'))).toBe('Amérique du Nord');
    expect(regionLabel('mars', i18n.getFixedT('en'))).toBe('mars');
  });
});

describe('the remembered profile', () => {
  const memory = () => {
    const items = new Map();
    return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, String(v)) };
  };

  it('keeps the language preference with the rest', () => {
    const storage = memory();
    saveProfile(storage, { name: 'Ada', gender: 'female', region: 'asia', textOnly: false, language: 'fr' });
    expect(loadProfile(storage)).toEqual({ name: 'Ada', gender: 'female', region: 'asia', textOnly: false, language: 'fr' });
  });

  it('reads a profile saved before the language was kept as without one', () => {
    const storage = memory();
    storage.setItem('zivro-profile', JSON.stringify({ name: 'Ada', gender: 'female', region: 'asia', textOnly: true }));
    expect(loadProfile(storage)).toEqual({ name: 'Ada', gender: 'female', region: 'asia', textOnly: true, language: '' });
  });
});
