// Step 2: ask for the camera and microphone.
import { AlertTriangle, Camera, Loader2, MessageCircle, Mic } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import Modal from './Modal.jsx';

// When the camera fails (blocked, missing, busy), text only is the way on.
export default function MediaPermissionModal({ requesting, error, onAllow, onTextOnly, onBack }) {
  const { t } = useTranslation();
  return (
    <Modal testId="permission-modal" title={t('permission.title')} icon={<Camera aria-hidden="true" />} onClose={onBack}>
      <p className="text-sm leading-relaxed text-slate-600 dark:text-slate-400">
        {t('permission.body')}
      </p>
      <ul className="mt-4 flex gap-4 text-sm text-slate-700 dark:text-slate-300">
        <li className="flex items-center gap-2">
          <Camera className="h-4 w-4 text-brand-500" aria-hidden="true" /> {t('permission.camera')}
        </li>
        <li className="flex items-center gap-2">
          <Mic className="h-4 w-4 text-brand-500" aria-hidden="true" /> {t('permission.microphone')}
        </li>
      </ul>
      {error && (
        <div
          role="alert"
          data-testid="permission-error"
          className="mt-5 flex gap-3 rounded-2xl border border-rose-200 bg-rose-50 p-4 text-sm text-rose-800 dark:border-rose-500/30 dark:bg-rose-500/10 dark:text-rose-200"
        >
          <AlertTriangle className="mt-0.5 h-4 w-4 shrink-0" aria-hidden="true" />
          <p>{t(error)}</p>
        </div>
      )}
      <div className="mt-6 flex flex-col-reverse gap-3 sm:flex-row sm:justify-end">
        <button type="button" className="btn-secondary" data-testid="permission-back" onClick={onBack}>
          {t('permission.back')}
        </button>
        {error && (
          <button type="button" className="btn-secondary" data-testid="permission-text-only" onClick={onTextOnly}>
            <MessageCircle className="h-4 w-4" aria-hidden="true" />
            {t('permission.textOnly')}
          </button>
        )}
        <button
          type="button"
          className="btn-primary"
          data-testid="permission-allow"
          data-autofocus
          onClick={onAllow}
          disabled={requesting}
        >
          {requesting && <Loader2 className="h-4 w-4 animate-spin" aria-hidden="true" />}
          {t(error ? 'permission.retry' : 'permission.allow')}
        </button>
      </div>
    </Modal>
  );
}
