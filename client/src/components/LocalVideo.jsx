// A <video> showing a MediaStream (or nothing yet).
import { useEffect, useRef } from 'react';

export default function VideoStream({ stream, muted = false, mirrored = false, className = '', onPlaying, ...rest }) {
  const ref = useRef(null);

  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    video.srcObject = stream ?? null;
    if (stream) video.play().catch(() => {}); // autoplay may wait for the element to be ready
  }, [stream]);

  return (
    <video
      ref={ref}
      autoPlay
      playsInline
      muted={muted}
      onPlaying={onPlaying}
      className={`${mirrored ? '-scale-x-100' : ''} ${className}`}
      {...rest}
    />
  );
}
