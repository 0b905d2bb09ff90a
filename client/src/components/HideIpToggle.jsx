// "Hide my IP address": calls only through the server's TURN relay. Without
// one (available false) the switch is off and disabled, saying why.
import { useId } from 'react';
import { useTranslation } from 'react-i18next';

export default function HideIpToggle({ hideIp, available = true, onChange }) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <div className="flex items-start gap-2">
      <input
        id={id}
        type="checkbox"
        data-testid="hide-ip"
        className="mt-0.5 h-4 w-4 shrink-0 accent-brand-600"
        checked={hideIp && available}
        disabled={!available}
        aria-describedby={available ? undefined : `${id}-unavailable`}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id} className={`text-sm ${available ? '' : 'opacity-60'}`}>
        <span className="font-medium">{t('hideIp.label')}</span>
        <span className="block text-xs text-slate-500 dark:text-slate-400">{t('hideIp.hint')}</span>
        {!available && (
          <span id={`${id}-unavailable`} data-testid="hide-ip-unavailable" className="block text-xs font-medium">
            {t('hideIp.unavailable')}
          </span>
        )}
      </label>
    </div>
  );
}
