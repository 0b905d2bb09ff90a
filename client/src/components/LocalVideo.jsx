// A muted <video> showing the local camera (or nothing yet).
import { useEffect, useRef } from 'react';

export default function LocalVideo({ stream, className = '', ...rest }) {
  const ref = useRef(null);

  useEffect(() => {
    const video = ref.current;
    video.srcObject = stream ?? null;
    if (stream) video.play().catch(() => {});
  }, [stream]);

  return <video ref={ref} autoPlay playsInline muted className={`-scale-x-100 ${className}`} {...rest} />;
}
