// The UI's language, the user's choice (i18n/i18n.js remembers it on the
// device). Each language is named in itself, so that a user who cannot read
// the current one still finds its own. compact: the landing page's header
// (the label for screen readers only); else a labelled field (the call's
// settings).
import { Languages } from 'lucide-react';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, chooseLanguage } from '../i18n/i18n.js';

export default function LanguageSelect({ compact = false }) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const select = (
    <select
      id={id}
      data-testid="language-select"
      className={compact ? 'field h-10 w-auto py-0 pl-9 pr-8 text-sm' : 'field py-2 text-sm'}
      value={i18n.resolvedLanguage}
      onChange={(event) => chooseLanguage(i18n, event.target.value)}
    >
      {LANGUAGES.map(({ code, name }) => (
        <option key={code} value={code} lang={code}>
          {name}
        </option>
      ))}
    </select>
  );
  if (!compact) {
    return (
      <div>
        <label htmlFor={id} className="mb-1 block text-xs font-semibold uppercase tracking-wide text-slate-500">
          {t('language.label')}
        </label>
        {select}
      </div>
    );
  }
  return (
    <div className="relative">
      <label htmlFor={id} className="sr-only">
        {t('language.label')}
      </label>
      <Languages className="pointer-events-none absolute left-3 top-1/2 h-4 w-4 -translate-y-1/2 text-slate-500" aria-hidden="true" />
      {select}
    </div>
  );
}
