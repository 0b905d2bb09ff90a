import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LANGUAGES, LANGUAGE_KEY, chooseLanguage, createI18n, languageName, primaryLanguage } from './i18n.js';

// The browser the detector reads (window.localStorage, navigator), set before
// the first instance: the detector checks for localStorage once.
const items = new Map();
const storage = {
  getItem: (k) => (items.has(k) ? items.get(k) : null),
  setItem: (k, v) => items.set(k, String(v)),
  removeItem: (k) => items.delete(k),
};
vi.stubGlobal('window', { localStorage: storage });
const browserLanguages = (...languages) => vi.stubGlobal('navigator', { language: languages[0], languages });

const fakeDocument = () => ({ documentElement: { lang: 'en' } });

beforeEach(() => items.clear());
afterAll(() => vi.unstubAllGlobals());

const PLURAL = /_(zero|one|two|few|many|other)$/;

/** The leaves of a catalogue: { 'a.b': 'text' }. */
function leaves(messages, prefix = '') {
  return Object.entries(messages).flatMap(([key, value]) =>
    typeof value === 'object' ? leaves(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value]],
  );
}

const keysOf = (messages) => [...new Set(leaves(messages).map(([key]) => key.replace(PLURAL, '')))].sort();
const placeholders = (text) => [...text.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]).sort();
const tags = (text) => [...text.matchAll(/<(\w+)>/g)].map((m) => m[1]).sort();

describe('the translations', () => {
  const english = LANGUAGES.find((l) => l.code === 'en').messages;
  const englishLeaves = new Map(leaves(english).map(([key, text]) => [key.replace(PLURAL, ''), text]));

  it('offers English and two more', () => {
    expect(LANGUAGES.map((l) => l.code)).toEqual(['en', 'es', 'fr']);
  });

  it.each(LANGUAGES.filter((l) => l.code !== 'en').map((l) => [l.code, l.messages]))(
    '%s has every key of English and no other',
    (_, messages) => {
      expect(keysOf(messages)).toEqual(keysOf(english));
    },
  );

  it.each(LANGUAGES.map((l) => [l.code, l.messages]))('%s: every text is filled in and keeps the placeholders and links', (_, messages) => {
    for (const [key, text] of leaves(messages)) {
      expect(typeof text, key).toBe('string');
      expect(text.trim(), key).not.toBe('');
      const source = englishLeaves.get(key.replace(PLURAL, ''));
      expect(placeholders(text), key).toEqual(placeholders(source));
      expect(tags(text), key).toEqual(tags(source));
    }
  });

  it.each(LANGUAGES.map((l) => [l.code, l.messages]))('%s: a counted text has every plural form of the language', (code, messages) => {
    const forms = new Intl.PluralRules(code).resolvedOptions().pluralCategories;
    const counted = new Set(leaves(messages).map(([key]) => key).filter((key) => PLURAL.test(key)).map((key) => key.replace(PLURAL, '')));
    expect(counted.size).toBeGreaterThan(0);
    for (const key of counted) {
      for (const form of forms) expect(leaves(messages).some(([k]) => k === `${key}_${form}`), `${code} ${key}_${form}`).toBe(true);
    }
  });
});

describe('interpolation', () => {
  const i18n = createI18n({ document: fakeDocument() });

  it('puts the values in, in each language', () => {
    expect(i18n.getFixedT('en')('call.connecting', { name: 'Ada' })).toBe('Connecting to Ada…');
    expect(i18n.getFixedT('es')('safety.block', { name: 'Ada' })).toBe('Bloquear a Ada: no volver a coincidir');
    expect(i18n.getFixedT('fr')('profile.error.name', { min: 2, max: 20 })).toBe('Le nom doit compter de 2 à 20 caractères.');
  });

  it('does not escape what React escapes anyway', () => {
    expect(i18n.getFixedT('en')('chat.title', { name: 'Tom & <Jerry>' })).toBe('Chat with Tom & <Jerry>');
  });

  it('counts and formats numbers in the language', () => {
    const en = i18n.getFixedT('en');
    expect(en('landing.online', { count: 1 })).toBe('1 person online now');
    expect(en('landing.online', { count: 1234 })).toBe('1,234 people online now');
    expect(i18n.getFixedT('es')('landing.online', { count: 2 })).toBe('2 personas conectadas ahora');
    expect(i18n.getFixedT('fr')('landing.online', { count: 1 })).toBe('1 personne en ligne');
  });
});

describe('the language chosen', () => {
  it("follows the browser's first language it has", () => {
    browserLanguages('de-DE', 'es-MX', 'en');
    const document = fakeDocument();
    const i18n = createI18n({ document });
    expect(i18n.resolvedLanguage).toBe('es');
    expect(document.documentElement.lang).toBe('es');
    expect(i18n.t('landing.startVideo')).toBe('Empezar videochat');
  });

  it('falls back to English for a browser in none of them', () => {
    browserLanguages('de-DE', 'ja');
    const document = fakeDocument();
    expect(createI18n({ document }).resolvedLanguage).toBe('en');
    expect(document.documentElement.lang).toBe('en');
  });

  it("prefers the user's stored choice over the browser", () => {
    browserLanguages('es-ES', 'es');
    items.set(LANGUAGE_KEY, 'fr');
    const document = fakeDocument();
    const i18n = createI18n({ document });
    expect(i18n.resolvedLanguage).toBe('fr');
    expect(document.documentElement.lang).toBe('fr');
  });

  it('ignores a stored choice it does not offer', () => {
    browserLanguages('es-ES');
    items.set(LANGUAGE_KEY, 'xx');
    expect(createI18n({ document: fakeDocument() }).resolvedLanguage).toBe('es');
  });

  it('remembers only a choice, never what it detected', async () => {
    browserLanguages('es-ES');
    const document = fakeDocument();
    const i18n = createI18n({ document });
    expect(items.has(LANGUAGE_KEY)).toBe(false);
    await chooseLanguage(i18n, 'en', storage);
    expect(items.get(LANGUAGE_KEY)).toBe('en');
    expect(i18n.resolvedLanguage).toBe('en');
    expect(document.documentElement.lang).toBe('en');
    expect(createI18n({ document: fakeDocument() }).resolvedLanguage).toBe('en'); // the next visit
  });

  it('gives the server a primary tag', () => {
    browserLanguages('fr-CA');
    expect(primaryLanguage(createI18n({ document: fakeDocument() }))).toBe('fr');
  });
});

describe('languageName', () => {
  it('names a language in the UI language', () => {
    expect(languageName('es', 'es')).toBe('español');
    expect(languageName('en', 'fr')).toBe('anglais');
    expect(languageName('fr', 'en')).toBe('French');
  });
});
