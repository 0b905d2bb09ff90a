// "Hide my IP address": calls only through the server's TURN relay. Without
// one (available false) the switch is off and disabled, saying why.
import { useId } from 'react';

export default function HideIpToggle({ hideIp, available = true, onChange }) {
  const id = useId();
  return (
    <div className="flex items-start gap-2">
      <input
        id={id}
        type="checkbox"
        data-testid="hide-ip"
        className="mt-0.5 h-4 w-4 accent-brand-600"
        checked={hideIp && available}
        disabled={!available}
        aria-describedby={available ? undefined : `${id}-unavailable`}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id} className={`text-sm ${available ? '' : 'opacity-60'}`}>
        <span className="font-medium">Hide my IP address</span>
        <span className="block text-xs text-slate-500 dark:text-slate-400">
          Video goes through our relay, so strangers never see your address. It may cost some quality.
        </span>
        {!available && (
          <span id={`${id}-unavailable`} data-testid="hide-ip-unavailable" className="block text-xs font-medium">
            Unavailable: this server has no relay.
          </span>
        )}
      </label>
    </div>
  );
}
