// Report or block the partner: one button in the call controls opens a small
// dialog where one more press (a reason, or Block) confirms. A report moves
// on to someone new unless "Stay in this call" is ticked, and carries the
// chat lines and a still of the partner's video only when "Attach what I
// saw" is ticked.
import { Ban, Flag } from 'lucide-react';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import ControlDialog from './ControlDialog.jsx';
import { REPORT_REASONS } from '../state/safety.js';

const item =
  'flex w-full items-center rounded-xl px-3 py-2 text-left text-sm hover:bg-slate-100 focus-visible:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-brand-400 dark:hover:bg-slate-800 dark:focus-visible:bg-slate-800';

// A checkbox with its label, under the reasons.
function Option({ testId, checked, onChange, children }) {
  const id = useId();
  return (
    <div className="flex items-start gap-2 px-3 py-2">
      <input
        id={id}
        type="checkbox"
        data-testid={testId}
        className="mt-0.5 h-4 w-4 shrink-0 accent-brand-600"
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id} className="text-xs text-slate-600 dark:text-slate-400">
        {children}
      </label>
    </div>
  );
}

// The reasons, each a button that reports, the choice to attach what the
// reporter saw (off unless ticked), and the choice to stay.
function ReportChoices({ choose, onReport }) {
  const { t } = useTranslation();
  const [stay, setStay] = useState(false);
  const [attach, setAttach] = useState(false);
  return (
    <>
      <ul className="mt-1">
        {REPORT_REASONS.map((reason) => (
          <li key={reason}>
            <button type="button" data-testid={`report-${reason}`} className={item} onClick={choose(() => onReport(reason, { stay, attach }))}>
              {t(`safety.${reason}`)}
            </button>
          </li>
        ))}
      </ul>
      <Option testId="report-attach" checked={attach} onChange={setAttach}>
        {t('safety.attach')}
      </Option>
      <Option testId="report-stay" checked={stay} onChange={setStay}>
        {t('safety.stay')}
      </Option>
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
