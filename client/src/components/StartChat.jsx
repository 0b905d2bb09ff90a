// Step 1: the landing page and the profile form. On a phone (360–430 px
// wide, 844 px tall) the Start button is on the first screen in every
// language: the pitch shrinks to the headline and the online count, the
// form's subtitle goes, and gender and region share a row.
import { Globe2, MessageCircle, ShieldCheck, Video } from 'lucide-react';
import { useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { primaryLanguage } from '../i18n/i18n.js';
import { GENDERS, NAME_MAX, NAME_MIN, REGIONS, validateProfile } from '../state/profile.js';
import { formatInterests } from '../state/interests.js';
import FieldError from './FieldError.jsx';
import HideIpToggle from './HideIpToggle.jsx';
import InterestsField from './InterestsField.jsx';
import LanguageMatch from './LanguageMatch.jsx';
import LanguageSelect from './LanguageSelect.jsx';
import Logo from './Logo.jsx';
import ServerWakingBanner from './ServerWakingBanner.jsx';
import ThemeToggle from './ThemeToggle.jsx';

const FEATURES = [
  { icon: Video, key: 'landing.featureVideo' },
  { icon: MessageCircle, key: 'landing.featureChat' },
  { icon: ShieldCheck, key: 'landing.featureAnonymous' },
];

export default function StartChat({ online, initialProfile, initialInterests, onlineCount, hideIp, relayAvailable, onHideIp, inert, onStart }) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const [values, setValues] = useState({
    name: initialProfile?.name ?? '',
    gender: initialProfile?.gender ?? '',
    region: initialProfile?.region ?? '',
    interests: formatInterests(initialInterests ?? []),
    textOnly: initialProfile?.textOnly === true,
    // Matched on the UI's language at Start (not the one remembered): the
    // choice is "people who speak the language I read".
    matchLanguage: Boolean(initialProfile?.language),
  });
  const [errors, setErrors] = useState({});
  const form = useRef(null);

  const update = (field) => (event) => {
    setValues((v) => ({ ...v, [field]: event.target.value }));
    setErrors(({ [field]: _cleared, ...rest }) => rest);
  };

  const submit = (event) => {
    event.preventDefault();
    const language = values.matchLanguage ? primaryLanguage(i18n) : '';
    const { profile, errors: found } = validateProfile({ ...values, language });
    setErrors(found);
    if (profile && online) onStart(profile);
    // Keyboard and screen-reader users land on what to fix (fields in form order).
    const first = ['name', 'gender', 'region'].find((field) => found[field]);
    if (first) form.current?.querySelector(`[data-field="${first}"]`)?.focus();
  };

  const invalid = (field) => (errors[field] ? 'field field-invalid' : 'field');
  const describedBy = (field) => (errors[field] ? `${id}-${field}-error` : undefined);
  const errorText = (field) => errors[field] && t(errors[field], { min: NAME_MIN, max: NAME_MAX });
  const check = (field) => (event) => setValues((v) => ({ ...v, [field]: event.target.checked }));

  return (
    <div data-testid="start-view" inert={inert} className="relative min-h-full overflow-hidden">
      <div
        aria-hidden="true"
        className="pointer-events-none absolute -top-40 left-1/2 h-[36rem] w-[36rem] -translate-x-1/2 rounded-full bg-gradient-to-br from-brand-400/30 via-fuchsia-400/20 to-transparent blur-3xl dark:from-brand-600/25 dark:via-fuchsia-600/10"
      />
      <header className="relative mx-auto flex max-w-6xl items-center justify-between gap-3 px-5 py-3 sm:px-8 sm:py-5">
        <div className="flex items-center gap-2">
          <Logo className="h-9 w-9" />
          <span className="text-xl font-extrabold tracking-tight">Zivro</span>
        </div>
        <div className="flex items-center gap-2">
          <LanguageSelect compact />
          <ThemeToggle />
        </div>
      </header>

      <main className="relative mx-auto grid max-w-6xl items-center gap-5 px-5 pb-12 pt-1 sm:gap-10 sm:px-8 sm:pt-4 lg:grid-cols-2 lg:gap-16 lg:pt-12">
        <section>
          <p className="mb-4 hidden items-center gap-2 rounded-full border border-brand-200 bg-brand-50 px-3 py-1 text-xs font-semibold text-brand-700 dark:border-brand-500/30 dark:bg-brand-500/10 dark:text-brand-300 sm:inline-flex">
            <Globe2 className="h-3.5 w-3.5" aria-hidden="true" /> {t('landing.badge')}
          </p>
          <h1 className="text-2xl font-extrabold leading-tight tracking-tight sm:text-5xl">
            {t('landing.headline')}{' '}
            <span className="bg-gradient-to-r from-brand-600 to-fuchsia-500 bg-clip-text text-transparent">
              {t('landing.headlineAccent')}
            </span>
          </h1>
          <p className="mt-4 hidden max-w-lg text-lg text-slate-600 sm:block dark:text-slate-400">{t('landing.lead')}</p>
          {onlineCount != null && (
            <p className="mt-2 inline-flex items-center gap-2 text-sm font-medium text-slate-700 sm:mt-5 dark:text-slate-300">
              <span className="h-2.5 w-2.5 rounded-full bg-emerald-500" aria-hidden="true" />
              <span data-testid="online-count" data-count={onlineCount}>
                {t('landing.online', { count: onlineCount })}
              </span>
            </p>
          )}
          <ul className="mt-8 hidden space-y-3 sm:block">
            {FEATURES.map(({ icon: Icon, key }) => (
              <li key={key} className="flex items-center gap-3 text-slate-700 dark:text-slate-300">
                <span className="flex h-9 w-9 items-center justify-center rounded-xl bg-white shadow-sm dark:bg-slate-900">
                  <Icon className="h-4 w-4 text-brand-600 dark:text-brand-400" aria-hidden="true" />
                </span>
                {t(key)}
              </li>
            ))}
          </ul>
        </section>

        <form
          ref={form}
          noValidate
          onSubmit={submit}
          aria-label={t('landing.formLabel')}
          className="rounded-3xl border border-slate-200 bg-white/80 p-5 shadow-xl shadow-slate-900/5 backdrop-blur sm:p-8 dark:border-slate-800 dark:bg-slate-900/80"
        >
          <h2 className="text-lg font-bold tracking-tight sm:text-xl">{t('landing.formTitle')}</h2>
          <p className="mt-1 hidden text-sm text-slate-500 sm:block dark:text-slate-400">{t('landing.formHint')}</p>

          {!online && (
            <div className="mt-5">
              <ServerWakingBanner />
            </div>
          )}

          <div className="mt-3 space-y-3 sm:mt-6 sm:space-y-5">
            <div>
              <label htmlFor={`${id}-name`} className="mb-1.5 block text-sm font-medium">
                {t('landing.name')}
              </label>
              <input
                id={`${id}-name`}
                data-field="name"
                data-testid="name-input"
                className={invalid('name')}
                value={values.name}
                onChange={update('name')}
                maxLength={NAME_MAX + 10}
                autoComplete="nickname"
                placeholder={t('landing.namePlaceholder', { min: NAME_MIN, max: NAME_MAX })}
                aria-invalid={Boolean(errors.name)}
                aria-describedby={describedBy('name')}
              />
              <FieldError id={`${id}-name-error`} message={errorText('name')} />
            </div>

            <div className="grid grid-cols-2 gap-3 sm:gap-5">
              <div>
                <label htmlFor={`${id}-gender`} className="mb-1.5 block text-sm font-medium">
                  {t('landing.gender')}
                </label>
                <select
                  id={`${id}-gender`}
                  data-field="gender"
                  data-testid="gender-select"
                  className={`${invalid('gender')} px-3 sm:px-4`}
                  value={values.gender}
                  onChange={update('gender')}
                  aria-invalid={Boolean(errors.gender)}
                  aria-describedby={describedBy('gender')}
                >
                  <option value="" disabled>
                    {t('landing.choose')}
                  </option>
                  {GENDERS.map((g) => (
                    <option key={g} value={g}>
                      {t(`profile.gender.${g}`)}
                    </option>
                  ))}
                </select>
                <FieldError id={`${id}-gender-error`} message={errorText('gender')} />
              </div>

              <div>
                <label htmlFor={`${id}-region`} className="mb-1.5 block text-sm font-medium">
                  {t('landing.region')}
                </label>
                <select
                  id={`${id}-region`}
                  data-field="region"
                  data-testid="region-select"
                  className={`${invalid('region')} px-3 sm:px-4`}
                  value={values.region}
                  onChange={update('region')}
                  aria-invalid={Boolean(errors.region)}
                  aria-describedby={describedBy('region')}
                >
                  <option value="" disabled>
                    {t('landing.choose')}
                  </option>
                  {REGIONS.map((r) => (
                    <option key={r} value={r}>
                      {t(`profile.region.${r}`)}
                    </option>
                  ))}
                </select>
                <FieldError id={`${id}-region-error`} message={errorText('region')} />
              </div>
            </div>

            <InterestsField id={`${id}-interests`} value={values.interests} onChange={update('interests')} />
            <label className="flex items-start gap-2">
              <input
                type="checkbox"
                data-testid="text-mode"
                className="mt-0.5 h-4 w-4 shrink-0 accent-brand-600"
                checked={values.textOnly}
                onChange={check('textOnly')}
              />
              <span className="text-sm">
                <span className="font-medium">{t('landing.textOnly')}</span>
                <span className="block text-xs text-slate-500 dark:text-slate-400">{t('landing.textOnlyHint')}</span>
              </span>
            </label>
            <LanguageMatch checked={values.matchLanguage} onChange={check('matchLanguage')} />
            {!values.textOnly && <HideIpToggle hideIp={hideIp} available={relayAvailable !== false} onChange={onHideIp} />}
          </div>

          <button type="submit" data-testid="start-button" className="btn-primary mt-4 w-full py-3.5 text-base sm:mt-7" disabled={!online}>
            {values.textOnly ? (
              <MessageCircle className="h-5 w-5" aria-hidden="true" />
            ) : (
              <Video className="h-5 w-5" aria-hidden="true" />
            )}
            {t(values.textOnly ? 'landing.startText' : 'landing.startVideo')}
          </button>
        </form>
      </main>
      <footer className="relative mx-auto flex max-w-6xl flex-wrap gap-x-6 gap-y-2 px-5 pb-8 text-sm text-slate-600 sm:px-8 dark:text-slate-400">
        <span>{t('landing.adultsOnly')}</span>
        <a className="link" href="/terms" data-testid="footer-terms">
          {t('landing.terms')}
        </a>
        <a className="link" href="/privacy" data-testid="footer-privacy">
          {t('landing.privacy')}
        </a>
      </footer>
    </div>
  );
}
