// Step 4: waiting in the queue for a partner.
import { MessageCircle, X } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import LocalVideo from './LocalVideo.jsx';

const MESSAGES = ['queue.looking', 'queue.globe', 'queue.friendly', 'queue.almost', 'queue.tip'];
const ROTATE_MS = 2800;

export default function Loader({ localStream, onCancel }) {
  const { t } = useTranslation();
  const [index, setIndex] = useState(0);

  useEffect(() => {
    const timer = setInterval(() => setIndex((i) => (i + 1) % MESSAGES.length), ROTATE_MS);
    return () => clearInterval(timer);
  }, []);

  return (
    <main
      data-testid="queue-view"
      className="flex min-h-full flex-col items-center justify-center gap-10 bg-gradient-to-b from-slate-50 to-brand-50 px-6 py-12 text-center dark:from-slate-950 dark:to-slate-900"
    >
      <div className="relative flex h-56 w-56 items-center justify-center" aria-hidden="true">
        <span className="absolute inset-0 animate-ping rounded-full bg-brand-500/20 [animation-duration:2.2s]" />
        <span className="absolute inset-6 animate-ping rounded-full bg-fuchsia-500/20 [animation-delay:0.6s] [animation-duration:2.2s]" />
        <span className="absolute inset-10 rounded-full bg-gradient-to-br from-brand-500 to-fuchsia-500 shadow-2xl shadow-brand-500/40" />
        {localStream ? (
          <LocalVideo
            aria-label={t('queue.preview')}
            stream={localStream}
            className="relative h-36 w-36 rounded-full border-4 border-white/80 bg-slate-900 object-cover dark:border-slate-900/80"
          />
        ) : (
          // Text only: no camera to preview.
          <MessageCircle className="relative h-16 w-16 text-white" />
        )}
      </div>
      <div className="min-h-[4rem]">
        <h1 className="text-2xl font-bold tracking-tight sm:text-3xl">{t('queue.title')}</h1>
        <p key={index} role="status" aria-live="polite" className="mt-2 animate-fade-in text-slate-600 dark:text-slate-400">
          {t(MESSAGES[index])}
        </p>
      </div>
      <button type="button" data-testid="queue-cancel" className="btn-secondary" onClick={onCancel}>
        <X className="h-4 w-4" aria-hidden="true" />
        {t('queue.cancel')}
      </button>
    </main>
  );
}
