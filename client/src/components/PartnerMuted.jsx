// Next to the partner's name when the partner has muted the microphone.
import { MicOff } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function PartnerMuted({ partnerName }) {
  const { t } = useTranslation();
  return (
    <span
      data-testid="partner-muted"
      role="status"
      className="mt-1 inline-flex items-center gap-1.5 rounded-full bg-black/50 px-2.5 py-1 text-xs font-medium backdrop-blur"
    >
      <MicOff className="h-3.5 w-3.5 text-rose-300" aria-hidden="true" />
      <span>
        {t('call.partnerMuted')}
        <span className="sr-only">{t('call.partnerMutedLong', { name: partnerName })}</span>
      </span>
    </span>
  );
}
