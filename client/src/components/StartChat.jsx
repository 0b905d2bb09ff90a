// Step 1: the landing page and the profile form.
import { Globe2, MessageCircle, ShieldCheck, Video } from 'lucide-react';
import { useId, useRef, useState } from 'react';
import { GENDERS, NAME_MAX, REGIONS, validateProfile } from '../state/profile.js';
import { formatInterests } from '../state/interests.js';
import FieldError from './FieldError.jsx';
import HideIpToggle from './HideIpToggle.jsx';
import InterestsField from './InterestsField.jsx';
import Logo from './Logo.jsx';
import ServerWakingBanner from './ServerWakingBanner.jsx';
import ThemeToggle from './ThemeToggle.jsx';

const FEATURES = [
  { icon: Video, text: 'Face-to-face, peer-to-peer video' },
  { icon: MessageCircle, text: 'Text chat during the call' },
  { icon: ShieldCheck, text: 'Anonymous: no account, nothing stored' },
];

export default function StartChat({ online, initialProfile, initialInterests, onlineCount, hideIp, relayAvailable, onHideIp, inert, onStart }) {
  const id = useId();
  const [values, setValues] = useState({
    name: initialProfile?.name ?? '',
    gender: initialProfile?.gender ?? '',
    region: initialProfile?.region ?? '',
    interests: formatInterests(initialInterests ?? []),
    textOnly: initialProfile?.textOnly === true,
  });
  const [errors, setErrors] = useState({});
  const form = useRef(null);

  const update = (field) => (event) => {
    setValues((v) => ({ ...v, [field]: event.target.value }));
    setErrors(({ [field]: _cleared, ...rest }) => rest);
  };

  const submit = (event) => {
    event.preventDefault();
    const { profile, errors: found } = validateProfile(values);
    setErrors(found);
    if (profile && online) onStart(profile);
    // Keyboard and screen-reader users land on what to fix (fields in form order).
    const first = ['name', 'gender', 'region'].find((field) => found[field]);
    if (first) form.current?.querySelector(`[data-field="${first}"]`)?.focus();
  };

  const invalid = (field) => (errors[field] ? 'field field-invalid' : 'field');
  const describedBy = (field) => (errors[field] ? `${id}-${field}-error` : undefined);

  return (
    <div data-testid="start-view" inert={inert} className="relative min-h-full overflow-hidden">
      <div
        aria-hidden="true"
        className="pointer-events-none absolute -top-40 left-1/2 h-[36rem] w-[36rem] -translate-x-1/2 rounded-full bg-gradient-to-br from-brand-400/30 via-fuchsia-400/20 to-transparent blur-3xl dark:from-brand-600/25 dark:via-fuchsia-600/10"
      />
      <header className="relative mx-auto flex max-w-6xl items-center justify-between px-5 py-5 sm:px-8">
        <div className="flex items-center gap-2">
          <Logo className="h-9 w-9" />
          <span className="text-xl font-extrabold tracking-tight">Zivro</span>
        </div>
        <ThemeToggle />
      </header>

      <main className="relative mx-auto grid max-w-6xl items-center gap-10 px-5 pb-12 pt-4 sm:px-8 lg:grid-cols-2 lg:gap-16 lg:pt-12">
        <section>
          <p className="mb-4 inline-flex items-center gap-2 rounded-full border border-brand-200 bg-brand-50 px-3 py-1 text-xs font-semibold text-brand-700 dark:border-brand-500/30 dark:bg-brand-500/10 dark:text-brand-300">
            <Globe2 className="h-3.5 w-3.5" aria-hidden="true" /> Random 1:1 video chat
          </p>
          <h1 className="text-4xl font-extrabold leading-tight tracking-tight sm:text-5xl">
            Meet someone new,{' '}
            <span className="bg-gradient-to-r from-brand-600 to-fuchsia-500 bg-clip-text text-transparent">
              right now.
            </span>
          </h1>
          <p className="mt-4 max-w-lg text-lg text-slate-600 dark:text-slate-400">
            One click pairs you with a random stranger for a face-to-face conversation. Not feeling it? Hit Next.
          </p>
          {onlineCount != null && (
            <p className="mt-5 inline-flex items-center gap-2 text-sm font-medium text-slate-700 dark:text-slate-300">
              <span className="h-2.5 w-2.5 rounded-full bg-emerald-500" aria-hidden="true" />
              <span data-testid="online-count" data-count={onlineCount}>
                {onlineCount === 1 ? '1 person online now' : `${onlineCount.toLocaleString()} people online now`}
              </span>
            </p>
          )}
          <ul className="mt-8 hidden space-y-3 sm:block">
            {FEATURES.map(({ icon: Icon, text }) => (
              <li key={text} className="flex items-center gap-3 text-slate-700 dark:text-slate-300">
                <span className="flex h-9 w-9 items-center justify-center rounded-xl bg-white shadow-sm dark:bg-slate-900">
                  <Icon className="h-4 w-4 text-brand-600 dark:text-brand-400" aria-hidden="true" />
                </span>
                {text}
              </li>
            ))}
          </ul>
        </section>

        <form
          ref={form}
          noValidate
          onSubmit={submit}
          aria-label="Your profile"
          className="rounded-3xl border border-slate-200 bg-white/80 p-6 shadow-xl shadow-slate-900/5 backdrop-blur sm:p-8 dark:border-slate-800 dark:bg-slate-900/80"
        >
          <h2 className="text-xl font-bold tracking-tight">Tell strangers who you are</h2>
          <p className="mt-1 text-sm text-slate-500 dark:text-slate-400">Only your name is shown to your partner.</p>

          {!online && (
            <div className="mt-5">
              <ServerWakingBanner />
            </div>
          )}

          <div className="mt-6 space-y-5">
            <div>
              <label htmlFor={`${id}-name`} className="mb-1.5 block text-sm font-medium">
                Name
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
                placeholder="2–20 characters"
                aria-invalid={Boolean(errors.name)}
                aria-describedby={describedBy('name')}
              />
              <FieldError id={`${id}-name-error`} message={errors.name} />
            </div>

            <div className="grid gap-5 sm:grid-cols-2">
              <div>
                <label htmlFor={`${id}-gender`} className="mb-1.5 block text-sm font-medium">
                  Gender
                </label>
                <select
                  id={`${id}-gender`}
                  data-field="gender"
                  data-testid="gender-select"
                  className={invalid('gender')}
                  value={values.gender}
                  onChange={update('gender')}
                  aria-invalid={Boolean(errors.gender)}
                  aria-describedby={describedBy('gender')}
                >
                  <option value="" disabled>
                    Select…
                  </option>
                  {GENDERS.map((g) => (
                    <option key={g.value} value={g.value}>
                      {g.label}
                    </option>
                  ))}
                </select>
                <FieldError id={`${id}-gender-error`} message={errors.gender} />
              </div>

              <div>
                <label htmlFor={`${id}-region`} className="mb-1.5 block text-sm font-medium">
                  Region
                </label>
                <select
                  id={`${id}-region`}
                  data-field="region"
                  data-testid="region-select"
                  className={invalid('region')}
                  value={values.region}
                  onChange={update('region')}
                  aria-invalid={Boolean(errors.region)}
                  aria-describedby={describedBy('region')}
                >
                  <option value="" disabled>
                    Select…
                  </option>
                  {REGIONS.map((r) => (
                    <option key={r.value} value={r.value}>
                      {r.label}
                    </option>
                  ))}
                </select>
                <FieldError id={`${id}-region-error`} message={errors.region} />
              </div>
            </div>

            <InterestsField id={`${id}-interests`} value={values.interests} onChange={update('interests')} />
            <label className="flex items-start gap-2">
              <input
                type="checkbox"
                data-testid="text-mode"
                className="mt-0.5 h-4 w-4 accent-brand-600"
                checked={values.textOnly}
                onChange={(event) => setValues((v) => ({ ...v, textOnly: event.target.checked }))}
              />
              <span className="text-sm">
                <span className="font-medium">Text only</span>
                <span className="block text-xs text-slate-500 dark:text-slate-400">
                  No camera: chat by text with others who chose text too.
                </span>
              </span>
            </label>
            {!values.textOnly && <HideIpToggle hideIp={hideIp} available={relayAvailable !== false} onChange={onHideIp} />}
          </div>

          <button type="submit" data-testid="start-button" className="btn-primary mt-7 w-full py-3.5 text-base" disabled={!online}>
            {values.textOnly ? (
              <MessageCircle className="h-5 w-5" aria-hidden="true" />
            ) : (
              <Video className="h-5 w-5" aria-hidden="true" />
            )}
            {values.textOnly ? 'Start text chat' : 'Start video chat'}
          </button>
        </form>
      </main>
      <footer className="relative mx-auto flex max-w-6xl flex-wrap gap-x-6 gap-y-2 px-5 pb-8 text-sm text-slate-600 sm:px-8 dark:text-slate-400">
        <span>18+ only. Be kind.</span>
        <a className="link" href="/terms" data-testid="footer-terms">
          Terms of use
        </a>
        <a className="link" href="/privacy" data-testid="footer-privacy">
          Privacy
        </a>
      </footer>
    </div>
  );
}
