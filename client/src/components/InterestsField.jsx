// The landing page's optional interests: comma-separated tags, shown as chips.
import { Sparkles } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { INTERESTS_MAX, parseInterests } from '../state/interests.js';

export default function InterestsField({ id, value, onChange }) {
  const { t } = useTranslation();
  const tags = parseInterests(value);
  return (
    <div>
      <label htmlFor={id} className="mb-1.5 block text-sm font-medium">
        {t('interests.label')} <span className="font-normal text-slate-500 dark:text-slate-400">{t('interests.optional')}</span>
      </label>
      <input
        id={id}
        data-testid="interests-input"
        className="field"
        value={value}
        onChange={onChange}
        maxLength={200}
        autoComplete="off"
        placeholder={t('interests.placeholder')}
        aria-describedby={`${id}-hint`}
      />
      <p id={`${id}-hint`} className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
        {t('interests.hint', { max: INTERESTS_MAX })}
      </p>
      {tags.length > 0 && (
        <ul data-testid="interest-tags" aria-label={t('interests.yours')} className="mt-2 flex flex-wrap gap-1.5">
          {tags.map((tag) => (
            <li
              key={tag}
              className="inline-flex items-center gap-1 rounded-full bg-brand-50 px-2.5 py-0.5 text-xs font-medium text-brand-700 dark:bg-brand-500/15 dark:text-brand-300"
            >
              <Sparkles className="h-3 w-3" aria-hidden="true" />
              {tag}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
