// The frame of the Terms and Privacy pages: the logo back home, the language,
// a title, the text.
import { useTranslation } from 'react-i18next';
import LanguageSelect from './LanguageSelect.jsx';
import Logo from './Logo.jsx';

export default function LegalPage({ testId, title, children }) {
  const { t } = useTranslation();
  return (
    <div data-testid={testId} className="min-h-full">
      <header className="mx-auto flex max-w-3xl items-center justify-between gap-3 px-5 py-5 sm:px-8">
        <a href="/" className="flex items-center gap-2 rounded-xl focus-visible:outline-none focus-visible:ring-4 focus-visible:ring-brand-500/40">
          <Logo className="h-9 w-9" />
          <span className="text-xl font-extrabold tracking-tight">Zivro</span>
        </a>
        <LanguageSelect compact />
      </header>
      <main className="mx-auto max-w-3xl px-5 pb-16 sm:px-8">
        <h1 className="text-3xl font-extrabold tracking-tight">{title}</h1>
        <p className="mt-2 text-sm text-slate-600 dark:text-slate-400">{t('legal.updated', { date: t('legal.updatedDate') })}</p>
        <div className="legal mt-8 space-y-6 leading-relaxed text-slate-700 dark:text-slate-300">{children}</div>
      </main>
    </div>
  );
}
