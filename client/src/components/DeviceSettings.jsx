// Camera and microphone pickers, "hide my IP address" and the UI's language,
// in a small dialog opened from the call controls.
import { Settings } from 'lucide-react';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import ControlDialog from './ControlDialog.jsx';
import HideIpToggle from './HideIpToggle.jsx';
import LanguageSelect from './LanguageSelect.jsx';

function Picker({ id, label, testId, devices, value, unnamed, onChange }) {
  const { t } = useTranslation();
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-xs font-semibold uppercase tracking-wide text-slate-500">
        {label}
      </label>
      <select id={id} data-testid={testId} className="field py-2 text-sm" value={value} onChange={(e) => onChange(e.target.value)}>
        {!value && <option value="">{t('settings.default')}</option>}
        {devices.map((d) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || t(unnamed, { n: d.n })}
          </option>
        ))}
      </select>
    </div>
  );
}

export default function DeviceSettings({ devices, hideIp, relayAvailable, relayOnly, onOpen, onSelect, onHideIp }) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <ControlDialog
      icon={Settings}
      label={t('settings.open')}
      testId="settings"
      title={t('settings.title')}
      closeLabel={t('settings.close')}
      focus="select"
      onOpen={onOpen}
      className="space-y-3 p-4"
    >
      {() => (
        <>
          <Picker id={`${id}-camera`} label={t('settings.camera')} testId="camera-select" devices={devices.cameras} value={devices.video} unnamed="media.camera" onChange={(v) => onSelect('video', v)} />
          <Picker id={`${id}-mic`} label={t('settings.microphone')} testId="mic-select" devices={devices.mics} value={devices.audio} unnamed="media.microphone" onChange={(v) => onSelect('audio', v)} />
          <HideIpToggle hideIp={hideIp} available={relayAvailable !== false} onChange={onHideIp} />
          <p data-testid="relay-status" className="text-xs text-slate-500 dark:text-slate-400">
            {t(relayOnly ? 'settings.relayed' : 'settings.nextCall')}
          </p>
          <LanguageSelect />
        </>
      )}
    </ControlDialog>
  );
}
