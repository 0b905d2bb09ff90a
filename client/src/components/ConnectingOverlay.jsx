import { Loader2 } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function ConnectingOverlay({ partnerName }) {
  const { t } = useTranslation();
  return (
    <div
      data-testid="connecting-overlay"
      role="status"
      className="absolute inset-0 flex flex-col items-center justify-center gap-4 bg-slate-100/90 text-slate-800 dark:bg-slate-950/80 dark:text-white"
    >
      <Loader2 className="h-10 w-10 animate-spin text-brand-500 dark:text-brand-400" aria-hidden="true" />
      <p className="text-lg font-medium">{t('call.connecting', { name: partnerName })}</p>
    </div>
  );
}
