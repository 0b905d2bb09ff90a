// Step 3: accept the rules before joining the queue.
import { ShieldCheck } from 'lucide-react';
import { useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import Modal from './Modal.jsx';

const RULES = ['rules.adults', 'rules.conduct', 'rules.personal', 'rules.screenshots'];

export default function TermsModal({ online, onAccept, onDecline }) {
  const { t } = useTranslation();
  const [agreed, setAgreed] = useState(false);

  return (
    <Modal testId="terms-modal" title={t('rules.title')} icon={<ShieldCheck aria-hidden="true" />} onClose={onDecline}>
      <ul className="space-y-2 text-sm text-slate-600 dark:text-slate-400">
        {RULES.map((rule) => (
          <li key={rule} className="flex gap-2">
            <span className="mt-2 h-1.5 w-1.5 shrink-0 rounded-full bg-brand-500" aria-hidden="true" />
            {t(rule)}
          </li>
        ))}
      </ul>
      <label className="mt-5 flex cursor-pointer items-start gap-3 rounded-2xl border border-slate-200 p-4 text-sm dark:border-slate-700">
        <input
          type="checkbox"
          data-testid="terms-checkbox"
          className="mt-0.5 h-5 w-5 shrink-0 accent-brand-600"
          checked={agreed}
          onChange={(event) => setAgreed(event.target.checked)}
        />
        <span>
          <Trans
            i18nKey="rules.accept"
            components={{
              // The links' texts come from the translation.
              terms: <a className="link" href="/terms" target="_blank" rel="noopener" data-testid="terms-link" />,
              privacy: <a className="link" href="/privacy" target="_blank" rel="noopener" data-testid="privacy-link" />,
            }}
          />
        </span>
      </label>
      {!online && (
        <p role="status" className="mt-3 text-sm text-amber-600 dark:text-amber-400">
          {t('rules.waiting')}
        </p>
      )}
      <div className="mt-6 flex flex-col-reverse gap-3 sm:flex-row sm:justify-end">
        <button type="button" className="btn-secondary" data-testid="terms-decline" onClick={onDecline}>
          {t('rules.decline')}
        </button>
        <button
          type="button"
          className="btn-primary"
          data-testid="terms-accept"
          disabled={!agreed || !online}
          onClick={onAccept}
        >
          {t('rules.acceptAndStart')}
        </button>
      </div>
    </Modal>
  );
}
