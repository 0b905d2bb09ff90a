import { describe, expect, it } from 'vitest';
import { regionLabel, validateProfile } from './profile.js';

describe('validateProfile', () => {
  it('accepts a valid profile, trimming the name', () => {
    expect(validateProfile({ name: '  Ada ', gender: 'female', region: 'north-america' })).toEqual({
      profile: { name: 'Ada', gender: 'female', region: 'north-america', interests: [], textOnly: false },
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

  it('reports every invalid field', () => {
    const { profile, errors } = validateProfile({ name: '', gender: 'robot', region: '' });
    expect(profile).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(['gender', 'name', 'region']);
  });
});

describe('regionLabel', () => {
  it('names a known region, and shows an unknown one as it came', () => {
    expect(regionLabel('north-america')).toBe('North America');
    expect(regionLabel('mars')).toBe('mars');
  });
});
