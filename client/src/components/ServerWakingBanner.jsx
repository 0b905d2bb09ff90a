// Shown on the landing page while the socket is not connected (a sleeping free-tier server).
import { Loader2 } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function ServerWakingBanner() {
  const { t } = useTranslation();
  return (
    <div
      role="status"
      data-testid="server-waking-banner"
      className="flex items-center gap-3 rounded-2xl border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-500/30 dark:bg-amber-500/10 dark:text-amber-200"
    >
      <Loader2 className="h-4 w-4 shrink-0 animate-spin" aria-hidden="true" />
      <p>
        <strong className="font-semibold">{t('serverWaking.title')}</strong> {t('serverWaking.body')}
      </p>
    </div>
  );
}
