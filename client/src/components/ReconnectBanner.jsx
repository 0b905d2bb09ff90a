// Shown for a few seconds after the socket reconnected, away from the queue and
// the call (there a resumed session carries on silently, and a lost one says so
// with its own notice).
import { Wifi, X } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function ReconnectBanner({ onDismiss }) {
  const { t } = useTranslation();
  return (
    <div
      role="status"
      data-testid="reconnect-banner"
      className="fixed inset-x-0 top-3 z-50 mx-auto flex w-fit max-w-[92vw] animate-fade-in items-center gap-3 rounded-full bg-emerald-600 py-2 pl-4 pr-2 text-sm font-medium text-white shadow-lg"
    >
      <Wifi className="h-4 w-4 shrink-0" aria-hidden="true" />
      <span>{t('notice.reconnected')}</span>
      <button
        type="button"
        onClick={onDismiss}
        aria-label={t('common.dismiss')}
        className="rounded-full p-1 hover:bg-white/20 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-white"
      >
        <X className="h-4 w-4" aria-hidden="true" />
      </button>
    </div>
  );
}
