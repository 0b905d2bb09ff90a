// In place of the partner's video when the partner has turned the camera off
// (it told us, webrtc/mediaState.js): a black picture otherwise looks like a
// broken call.
import { VideoOff } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function PartnerCameraOff({ partnerName }) {
  const { t } = useTranslation();
  return (
    <div
      data-testid="partner-camera-off"
      role="status"
      className="absolute inset-0 flex flex-col items-center justify-center gap-3 bg-slate-900 px-6 text-center text-white"
    >
      <span className="flex h-20 w-20 items-center justify-center rounded-full bg-white/10">
        <VideoOff className="h-9 w-9 text-white/80" aria-hidden="true" />
      </span>
      <p className="text-base font-medium">{t('call.partnerCameraOff', { name: partnerName })}</p>
    </div>
  );
}
