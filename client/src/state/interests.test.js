import { describe, expect, it } from 'vitest';
import { INTERESTS_KEY, formatInterests, loadInterests, parseInterests, saveInterests } from './interests.js';

const memoryStorage = (initial = {}) => {
  const items = { ...initial };
  return { getItem: (k) => items[k] ?? null, setItem: (k, v) => (items[k] = v), items };
};

describe('interests', () => {
  it.each([
    ['', []],
    ['Music', ['music']],
    [' music ,  Chess,,', ['music', 'chess']],
    ['a, A, b, c, d, e, f', ['a', 'b', 'c', 'd', 'e']],
    ['x'.repeat(30), ['x'.repeat(24)]],
  ])('parses %j as %j', (text, tags) => {
    expect(parseInterests(text)).toEqual(tags);
  });

  it('formats tags back into the field', () => {
    expect(formatInterests(['music', 'chess'])).toBe('music, chess');
  });

  it('remembers tags, and survives garbage or a blocked storage', () => {
    const storage = memoryStorage();
    saveInterests(storage, ['music', 'chess']);
    expect(loadInterests(storage)).toEqual(['music', 'chess']);
    expect(loadInterests(memoryStorage({ [INTERESTS_KEY]: '{not json' }))).toEqual([]);
    expect(loadInterests(memoryStorage({ [INTERESTS_KEY]: '"music"' }))).toEqual([]);
    const blocked = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('SecurityError');
      },
    };
    expect(loadInterests(blocked)).toEqual([]);
    expect(() => saveInterests(blocked, ['x'])).not.toThrow();
  });
});
