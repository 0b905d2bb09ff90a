// Report or block the partner: one button in the call controls opens a small
// dialog where one more press (a reason, or Block) confirms. A report moves
// on to someone new unless "Stay in this call" is ticked.
import { Ban, Flag } from 'lucide-react';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import ControlDialog from './ControlDialog.jsx';
import { REPORT_REASONS } from '../state/safety.js';

const item =
  'flex w-full items-center rounded-xl px-3 py-2 text-left text-sm hover:bg-slate-100 focus-visible:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-brand-400 dark:hover:bg-slate-800 dark:focus-visible:bg-slate-800';

// The reasons, each a button that reports, and the choice to stay.
function ReportChoices({ choose, onReport }) {
  const { t } = useTranslation();
  const [stay, setStay] = useState(false);
  const id = useId();
  return (
    <>
      <ul className="mt-1">
        {REPORT_REASONS.map((reason) => (
          <li key={reason}>
            <button type="button" data-testid={`report-${reason}`} className={item} onClick={choose(() => onReport(reason, { stay }))}>
              {t(`safety.${reason}`)}
            </button>
          </li>
        ))}
      </ul>
      <div className="flex items-center gap-2 px-3 py-2">
        <input
          id={id}
          type="checkbox"
          data-testid="report-stay"
          className="h-4 w-4 accent-brand-600"
          checked={stay}
          onChange={(e) => setStay(e.target.checked)}
        />
        <label htmlFor={id} className="text-xs text-slate-600 dark:text-slate-400">
          {t('safety.stay')}
        </label>
      </div>
    </>
  );
}

export default function SafetyMenu({ partnerName, onReport, onBlock }) {
  const { t } = useTranslation();
  return (
    <ControlDialog
      icon={Flag}
      label={t('safety.open')}
      testId="safety"
      title={t('safety.title', { name: partnerName })}
      closeLabel={t('safety.cancel')}
      focus="button"
      className="p-3"
    >
      {(close) => {
        const choose = (action) => () => {
          close();
          action();
        };
        return (
          <>
            <ReportChoices choose={choose} onReport={onReport} />
            <div className="mt-2 border-t border-slate-200 pt-2 dark:border-slate-800">
              <button
                type="button"
                data-testid="block-button"
                className={`${item} gap-2 font-semibold text-rose-600 dark:text-rose-400`}
                onClick={choose(onBlock)}
              >
                <Ban className="h-4 w-4" aria-hidden="true" />
                {t('safety.block', { name: partnerName })}
              </button>
            </div>
          </>
        );
      }}
    </ControlDialog>
  );
}
