// The partner's video, whole (object-contain: a portrait phone camera on a
// laptop, or a 4:3 webcam on a phone, is never cropped), over a blurred,
// enlarged copy of itself that fills the rest of the area. The copy is a
// second, muted <video> on the same stream: the browser decodes the track
// once, and the blur is a compositor filter. If the browser refuses to
// autoplay with sound, the video plays muted and offers a button to turn the
// sound on.
import { Volume2 } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

export default function RemoteVideo({ stream, partnerName, onPlaying }) {
  const { t } = useTranslation();
  const ref = useRef(null);
  const backdrop = useRef(null);
  const [soundBlocked, setSoundBlocked] = useState(false);

  useEffect(() => {
    const video = ref.current;
    video.srcObject = stream ?? null;
    backdrop.current.srcObject = stream ?? null;
    if (!stream) return;
    backdrop.current.play().catch(() => {});
    video.muted = false;
    video.play().catch((err) => {
      if (err?.name !== 'NotAllowedError') return;
      video.muted = true;
      setSoundBlocked(true);
      video.play().catch(() => {});
    });
  }, [stream]);

  const unmute = () => {
    ref.current.muted = false;
    ref.current.play().catch(() => {});
    setSoundBlocked(false);
  };

  return (
    <>
      <video
        ref={backdrop}
        aria-hidden="true"
        tabIndex={-1}
        autoPlay
        playsInline
        muted
        className="absolute inset-0 h-full w-full scale-110 object-cover opacity-60 blur-2xl"
      />
      <video
        ref={ref}
        data-testid="remote-video"
        aria-label={t('call.partnerVideo', { name: partnerName })}
        autoPlay
        playsInline
        onPlaying={onPlaying}
        className="absolute inset-0 h-full w-full object-contain"
      />
      {soundBlocked && (
        <button
          type="button"
          onClick={unmute}
          className="absolute left-1/2 top-24 z-20 inline-flex -translate-x-1/2 items-center gap-2 rounded-full bg-white px-4 py-2 text-sm font-semibold text-slate-900 shadow-lg focus-visible:outline-none focus-visible:ring-4 focus-visible:ring-brand-400/60"
        >
          <Volume2 className="h-4 w-4" aria-hidden="true" />
          {t('call.tapToHear', { name: partnerName })}
        </button>
      )}
    </>
  );
}
