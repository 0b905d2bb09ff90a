// Camera and microphone pickers, and "hide my IP address", in a small dialog
// opened from the call controls.
import { Settings } from 'lucide-react';
import { useId } from 'react';
import ControlDialog from './ControlDialog.jsx';
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

export default function DeviceSettings({ devices, hideIp, relayAvailable, relayOnly, onOpen, onSelect, onHideIp }) {
  const id = useId();
  return (
    <ControlDialog
      icon={Settings}
      label="Camera, microphone and privacy settings"
      testId="settings"
      title="Settings"
      closeLabel="Close settings"
      focus="select"
      onOpen={onOpen}
      className="space-y-3 p-4"
    >
      {() => (
        <>
          <Picker id={`${id}-camera`} label="Camera" testId="camera-select" devices={devices.cameras} value={devices.video} onChange={(v) => onSelect('video', v)} />
          <Picker id={`${id}-mic`} label="Microphone" testId="mic-select" devices={devices.mics} value={devices.audio} onChange={(v) => onSelect('audio', v)} />
          <HideIpToggle hideIp={hideIp} available={relayAvailable !== false} onChange={onHideIp} />
          <p data-testid="relay-status" className="text-xs text-slate-500 dark:text-slate-400">
            {relayOnly ? 'This call goes through a relay: your partner cannot see your IP address.' : 'Applies from your next call.'}
          </p>
        </>
      )}
    </ControlDialog>
  );
}
