// A short message: the partner left, a report, a block, a refused join, a device that failed,
// a session the server could not give back after a drop.
import { Info, X } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { noticeText } from '../state/notices.js';

export default function Notice({ notice, onDismiss }) {
  const { t } = useTranslation();
  const text = noticeText(notice, t);
  return (
    <div
      role="status"
      data-testid={notice.kind === 'resume-lost' ? 'resume-lost-notice' : 'notice'}
      data-kind={notice.kind}
      className="fixed inset-x-0 top-3 z-50 mx-auto flex w-fit max-w-[92vw] animate-fade-in items-center gap-3 rounded-full bg-slate-900 py-2 pl-4 pr-2 text-sm font-medium text-white shadow-lg dark:bg-slate-100 dark:text-slate-900"
    >
      <Info className="h-4 w-4 shrink-0" aria-hidden="true" />
      <span>{text}</span>
      <button
        type="button"
        onClick={onDismiss}
        aria-label={t('common.dismiss')}
        className="rounded-full p-1 hover:bg-white/20 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-white dark:hover:bg-slate-900/10"
      >
        <X className="h-4 w-4" aria-hidden="true" />
      </button>
    </div>
  );
}
