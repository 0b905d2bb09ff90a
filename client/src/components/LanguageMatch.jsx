// "Prefer people who speak <the UI's language>": the join then carries the
// language (README, "The contract"), and the server pairs speakers of it
// first, anyone after a short wait. Off unless chosen: the language a user
// reads is not always the one it wants to talk in.
import { useTranslation } from 'react-i18next';
import { languageName, primaryLanguage } from '../i18n/i18n.js';

export default function LanguageMatch({ checked, onChange }) {
  const { t, i18n } = useTranslation();
  const ui = primaryLanguage(i18n);
  return (
    <label className="flex items-start gap-2">
      <input
        type="checkbox"
        data-testid="language-match"
        className="mt-0.5 h-4 w-4 shrink-0 accent-brand-600"
        checked={checked}
        onChange={onChange}
      />
      <span className="text-sm">
        <span data-testid="language-match-label" className="font-medium">
          {t('language.match', { language: languageName(ui, ui) })}
        </span>
        <span className="block text-xs text-slate-500 dark:text-slate-400">{t('language.matchHint')}</span>
      </span>
    </label>
  );
}
