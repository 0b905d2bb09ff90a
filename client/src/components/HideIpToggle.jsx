// "Hide my IP address": calls only through the server's TURN relay (when it has one).
import { useId } from 'react';

export default function HideIpToggle({ hideIp, onChange }) {
  const id = useId();
  return (
    <div className="flex items-start gap-2">
      <input
        id={id}
        type="checkbox"
        data-testid="hide-ip"
        className="mt-0.5 h-4 w-4 accent-brand-600"
        checked={hideIp}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id} className="text-sm">
        <span className="font-medium">Hide my IP address</span>
        <span className="block text-xs text-slate-500 dark:text-slate-400">
          Video goes through our relay, so strangers never see your address. It may cost some quality, and works when the server has a relay.
        </span>
      </label>
    </div>
  );
}
