// Step 3: accept the rules before joining the queue.
import { ShieldCheck } from 'lucide-react';
import { useState } from 'react';
import Modal from './Modal.jsx';

const RULES = [
  'You are 18 or older.',
  'No nudity, harassment, hate or illegal content.',
  'Do not share personal information with strangers.',
  'Chats are anonymous and not recorded, but people can still screenshot. Be kind.',
];

export default function TermsModal({ online, onAccept, onDecline }) {
  const [agreed, setAgreed] = useState(false);

  return (
    <Modal testId="terms-modal" title="Community rules" icon={<ShieldCheck aria-hidden="true" />} onClose={onDecline}>
      <ul className="space-y-2 text-sm text-slate-600 dark:text-slate-400">
        {RULES.map((rule) => (
          <li key={rule} className="flex gap-2">
            <span className="mt-2 h-1.5 w-1.5 shrink-0 rounded-full bg-brand-500" aria-hidden="true" />
            {rule}
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
          I have read and accept the rules and the{' '}
          <a className="link" href="/terms" target="_blank" rel="noopener" data-testid="terms-link">
            terms of use
          </a>{' '}
          (see also the{' '}
          <a className="link" href="/privacy" target="_blank" rel="noopener" data-testid="privacy-link">
            privacy policy
          </a>
          ).
        </span>
      </label>
      {!online && (
        <p role="status" className="mt-3 text-sm text-amber-600 dark:text-amber-400">
          Waiting for the server to come online…
        </p>
      )}
      <div className="mt-6 flex flex-col-reverse gap-3 sm:flex-row sm:justify-end">
        <button type="button" className="btn-secondary" data-testid="terms-decline" onClick={onDecline}>
          Decline
        </button>
        <button
          type="button"
          className="btn-primary"
          data-testid="terms-accept"
          disabled={!agreed || !online}
          onClick={onAccept}
        >
          Accept & start
        </button>
      </div>
    </Modal>
  );
}
