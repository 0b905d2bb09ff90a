// Over the partner's video when its media has stopped coming (its connection
// is down, or nothing arrived for a couple of seconds): the other side is
// most likely changing networks or reconnecting. The last picture stays
// visible under it; it goes as soon as media flows again.
import { Loader2 } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function PartnerReconnecting({ partnerName }) {
  const { t } = useTranslation();
  return (
    <div
      data-testid="partner-reconnecting"
      role="status"
      className="absolute inset-0 flex flex-col items-center justify-center gap-3 bg-slate-950/60 px-6 text-center text-white"
    >
      <Loader2 className="h-9 w-9 animate-spin text-white/80" aria-hidden="true" />
      <p className="text-base font-medium">{t('call.partnerReconnecting', { name: partnerName })}</p>
    </div>
  );
}
