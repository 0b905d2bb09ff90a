import { SkipForward, VideoOff } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function CallFailed({ onNext }) {
  const { t } = useTranslation();
  return (
    <div
      data-testid="call-failed"
      role="alert"
      className="absolute inset-0 flex flex-col items-center justify-center gap-4 bg-slate-100/95 px-6 text-center text-slate-900 dark:bg-slate-950/90 dark:text-white"
    >
      <VideoOff className="h-10 w-10 text-rose-500 dark:text-rose-400" aria-hidden="true" />
      <div>
        <p className="text-lg font-semibold">{t('call.failedTitle')}</p>
        <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">{t('call.failedBody')}</p>
      </div>
      <button type="button" className="btn-primary" onClick={onNext}>
        <SkipForward className="h-4 w-4" aria-hidden="true" />
        {t('call.nextStranger')}
      </button>
    </div>
  );
}
