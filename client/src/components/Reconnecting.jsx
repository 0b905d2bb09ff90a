// Shown in the queue or a call while our connection to the server is down:
// the server keeps our place and our call for a while, the video between the
// two browsers keeps playing, and what we type is sent once we are back.
import { Loader2 } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function Reconnecting() {
  const { t } = useTranslation();
  return (
    <div
      role="status"
      data-testid="reconnecting"
      className="fixed inset-x-0 top-3 z-50 mx-auto flex w-fit max-w-[92vw] animate-fade-in items-center gap-3 rounded-full bg-amber-500 px-4 py-2 text-sm font-medium text-slate-950 shadow-lg"
    >
      <Loader2 className="h-4 w-4 shrink-0 animate-spin" aria-hidden="true" />
      <span>{t('notice.reconnecting')}</span>
    </div>
  );
}
