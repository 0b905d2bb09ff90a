// The two controls every call has, video or text: Next (N) and End call.
import { PhoneOff, SkipForward } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function NextAndEnd({ onNext, onEnd }) {
  const { t } = useTranslation();
  return (
    <>
      <button
        type="button"
        data-testid="next-button"
        aria-keyshortcuts="N"
        title={t('controls.nextTitle')}
        className="inline-flex h-12 shrink-0 items-center gap-2 rounded-full bg-brand-600 px-5 font-semibold text-white shadow-lg shadow-brand-600/30 transition hover:bg-brand-500 focus-visible:outline-none focus-visible:ring-4 focus-visible:ring-brand-400/50"
        onClick={onNext}
      >
        <SkipForward className="h-5 w-5" aria-hidden="true" />
        {t('controls.next')}
      </button>
      <button
        type="button"
        data-testid="end-call"
        aria-label={t('controls.endCall')}
        className="icon-btn bg-rose-600 text-white hover:bg-rose-500"
        onClick={onEnd}
      >
        <PhoneOff className="h-5 w-5" aria-hidden="true" />
      </button>
    </>
  );
}
