// The UI's languages (i18next; main.jsx hands the instance to
// react-i18next). The language is the user's choice when it made one
// (localStorage LANGUAGE_KEY, written only by chooseLanguage, never by
// detection: a browser set to another language later is followed until the
// user picks one), else the browser's (navigator.languages), else English.
// <html lang> follows it.
// To add a language: a JSON file beside en.json with every key, and a line in
// LANGUAGES (README, "Languages").
import i18next from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import en from './en.json';
import es from './es.json';
import fr from './fr.json';

export const LANGUAGE_KEY = 'zivro-language';

/** The languages offered, each named in itself. */
export const LANGUAGES = [
  { code: 'en', name: 'English', messages: en },
  { code: 'es', name: 'Español', messages: es },
  { code: 'fr', name: 'Français', messages: fr },
];

const resources = Object.fromEntries(LANGUAGES.map(({ code, messages }) => [code, { translation: messages }]));

/** A new, initialised i18next instance; document: whose <html lang> follows it. */
export function createI18n({ document = globalThis.document } = {}) {
  const i18n = i18next.createInstance();
  i18n.use(LanguageDetector);
  i18n.on('languageChanged', () => {
    if (document) document.documentElement.lang = i18n.resolvedLanguage ?? 'en';
  });
  i18n.init({
    resources,
    supportedLngs: LANGUAGES.map((l) => l.code),
    fallbackLng: 'en',
    load: 'languageOnly', // es-MX → es
    initAsync: false, // the messages are bundled: ready before the first render
    interpolation: { escapeValue: false }, // React escapes what it renders
    detection: {
      order: ['localStorage', 'navigator'],
      lookupLocalStorage: LANGUAGE_KEY,
      caches: [],
    },
  });
  return i18n;
}

/** The user's choice: shown at once and remembered on the device. */
export function chooseLanguage(i18n, code, storage = globalThis.localStorage) {
  try {
    storage?.setItem(LANGUAGE_KEY, code);
  } catch {
    // private mode or full: the choice lasts until the page is closed
  }
  return i18n.changeLanguage(code);
}

/** The UI language as the server takes it: a primary tag ("es"). */
export const primaryLanguage = (i18n) => i18n.resolvedLanguage ?? 'en';

/**
 * A language's name in the UI's language ("español" in Spanish, "Spanish" in
 * English), from the browser's own names (Intl.DisplayNames); the code itself
 * where it has none.
 */
export function languageName(code, uiLanguage) {
  try {
    return new Intl.DisplayNames([uiLanguage], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}
