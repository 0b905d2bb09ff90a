// Camera and microphone pickers, and "hide my IP address", in a small dialog
// opened from the call controls. Escape closes it.
import { Settings, X } from 'lucide-react';
import { useEffect, useId, useRef, useState } from 'react';
import HideIpToggle from './HideIpToggle.jsx';

function Picker({ id, label, testId, devices, value, onChange }) {
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-xs font-semibold uppercase tracking-wide text-slate-500">
        {label}
      </label>
      <select id={id} data-testid={testId} className="field py-2 text-sm" value={value} onChange={(e) => onChange(e.target.value)}>
        {!value && <option value="">Default</option>}
        {devices.map((d) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label}
          </option>
        ))}
      </select>
    </div>
  );
}

export default function DeviceSettings({ devices, hideIp, relayOnly, onOpen, onSelect, onHideIp }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const opener = useRef(null);
  const dialog = useRef(null);

  useEffect(() => {
    if (open) dialog.current?.querySelector('select')?.focus();
  }, [open]);

  const close = () => {
    setOpen(false);
    opener.current?.focus();
  };

  return (
    <div className="relative">
      <button
        ref={opener}
        type="button"
        data-testid="settings-button"
        aria-label="Camera, microphone and privacy settings"
        aria-haspopup="dialog"
        aria-expanded={open}
        className="icon-btn bg-white/15 text-white backdrop-blur hover:bg-white/25"
        onClick={() => {
          if (open) return close();
          onOpen();
          setOpen(true);
        }}
      >
        <Settings className="h-5 w-5" aria-hidden="true" />
      </button>
      {open && (
        <div
          ref={dialog}
          role="dialog"
          aria-labelledby={`${id}-title`}
          data-testid="settings-dialog"
          onKeyDown={(event) => event.key === 'Escape' && close()}
          className="absolute bottom-14 left-1/2 z-30 w-72 -translate-x-1/2 animate-fade-in space-y-3 rounded-2xl border border-slate-200 bg-white p-4 text-slate-900 shadow-2xl dark:border-slate-800 dark:bg-slate-900 dark:text-slate-100"
        >
          <div className="flex items-center justify-between">
            <h2 id={`${id}-title`} className="text-sm font-bold">
              Settings
            </h2>
            <button type="button" aria-label="Close settings" className="rounded-full p-1 hover:bg-slate-100 dark:hover:bg-slate-800" onClick={close}>
              <X className="h-4 w-4" aria-hidden="true" />
            </button>
          </div>
          <Picker id={`${id}-camera`} label="Camera" testId="camera-select" devices={devices.cameras} value={devices.video} onChange={(v) => onSelect('video', v)} />
          <Picker id={`${id}-mic`} label="Microphone" testId="mic-select" devices={devices.mics} value={devices.audio} onChange={(v) => onSelect('audio', v)} />
          <HideIpToggle hideIp={hideIp} onChange={onHideIp} />
          <p data-testid="relay-status" className="text-xs text-slate-500 dark:text-slate-400">
            {relayOnly ? 'This call goes through a relay: your partner cannot see your IP address.' : 'Applies from your next call.'}
          </p>
        </div>
      )}
    </div>
  );
}
