// The partner's video, full screen. If the browser refuses to autoplay it with
// sound, it plays muted and offers a button to turn the sound on.
import { Volume2 } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';

export default function RemoteVideo({ stream, partnerName, onPlaying }) {
  const ref = useRef(null);
  const [soundBlocked, setSoundBlocked] = useState(false);

  useEffect(() => {
    const video = ref.current;
    video.srcObject = stream ?? null;
    if (!stream) return;
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
        ref={ref}
        data-testid="remote-video"
        aria-label={`${partnerName}'s video`}
        autoPlay
        playsInline
        onPlaying={onPlaying}
        className="absolute inset-0 h-full w-full object-cover"
      />
      {soundBlocked && (
        <button
          type="button"
          onClick={unmute}
          className="absolute left-1/2 top-24 z-20 inline-flex -translate-x-1/2 items-center gap-2 rounded-full bg-white px-4 py-2 text-sm font-semibold text-slate-900 shadow-lg focus-visible:outline-none focus-visible:ring-4 focus-visible:ring-brand-400/60"
        >
          <Volume2 className="h-4 w-4" aria-hidden="true" />
          Tap to hear {partnerName}
        </button>
      )}
    </>
  );
}
