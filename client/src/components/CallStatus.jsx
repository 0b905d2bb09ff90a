// The call's connection state in words, and its quality (round trip, loss) from getStats.
import { useTranslation } from 'react-i18next';
import { describeConnection, describeQuality } from '../state/callStatus.js';
import { qualityLevel } from '../webrtc/quality.js';

const STATE_COLOURS = {
  connected: 'bg-emerald-400',
  failed: 'bg-rose-500',
  disconnected: 'bg-amber-400',
  restarting: 'bg-amber-400 animate-pulse',
  closed: 'bg-slate-400',
};

const BARS = { good: 3, fair: 2, poor: 1 };
const BAR_COLOURS = { good: 'bg-emerald-400', fair: 'bg-amber-400', poor: 'bg-rose-500' };

export default function CallStatus({ call }) {
  const { t } = useTranslation();
  const level = call.quality ? qualityLevel(call.quality) : null;
  const quality = describeQuality(level, call.quality ?? {}, t);
  return (
    <div className="ml-auto flex flex-col items-end gap-1.5">
      <span className="inline-flex items-center gap-2 rounded-full bg-black/40 px-3 py-1 text-xs backdrop-blur">
        <span className={`h-2 w-2 rounded-full ${STATE_COLOURS[call.connectionState] ?? 'bg-sky-400 animate-pulse'}`} aria-hidden="true" />
        <span className="sr-only">{t('status.label')}</span>
        <span data-testid="connection-state" data-state={call.connectionState} role="status">
          {describeConnection(call.connectionState, t)}
        </span>
      </span>
      {call.connectionState === 'connected' && (
        <span
          data-testid="call-quality"
          data-level={level ?? ''}
          data-relayed={call.quality?.relayed ? 'true' : 'false'}
          title={t('status.qualityTitle', { quality })}
          className="inline-flex items-center gap-2 rounded-full bg-black/40 px-3 py-1 text-xs backdrop-blur"
        >
          <span className="flex h-3 items-end gap-0.5" aria-hidden="true">
            {[1, 2, 3].map((n) => (
              <span
                key={n}
                style={{ height: `${n * 33}%` }}
                className={`w-1 rounded-sm ${n <= (BARS[level] ?? 0) ? BAR_COLOURS[level] : 'bg-white/30'}`}
              />
            ))}
          </span>
          <span>{quality}</span>
        </span>
      )}
    </div>
  );
}
