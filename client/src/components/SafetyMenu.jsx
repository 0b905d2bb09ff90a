// Report or block the partner: one button in the call controls opens a small
// dialog where one more press (a reason, or Block) confirms. A report moves
// on to someone new unless "Stay in this call" is ticked, and carries the
// chat lines and a still of the partner's video only when "Attach what I
// saw" is ticked.
import { Ban, Flag } from 'lucide-react';
import { useId, useState } from 'react';
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
  const [stay, setStay] = useState(false);
  const [attach, setAttach] = useState(false);
  return (
    <>
      <ul className="mt-1">
        {REPORT_REASONS.map((r) => (
          <li key={r.value}>
            <button type="button" data-testid={`report-${r.value}`} className={item} onClick={choose(() => onReport(r.value, { stay, attach }))}>
              {r.label}
            </button>
          </li>
        ))}
      </ul>
      <Option testId="report-attach" checked={attach} onChange={setAttach}>
        Attach what I saw: the last 20 chat lines of this call and a small still of their video, for the
        moderators only (kept at most 7 days)
      </Option>
      <Option testId="report-stay" checked={stay} onChange={setStay}>
        Stay in this call (otherwise, report and find someone new)
      </Option>
    </>
  );
}

export default function SafetyMenu({ partnerName, onReport, onBlock }) {
  return (
    <ControlDialog
      icon={Flag}
      label="Report or block"
      testId="safety"
      title={`Report or block ${partnerName}`}
      closeLabel="Cancel"
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
                Block {partnerName}: never meet again
              </button>
            </div>
          </>
        );
      }}
    </ControlDialog>
  );
}
