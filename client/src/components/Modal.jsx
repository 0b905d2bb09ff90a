// A centred dialog over the landing page: labelled, focus moved inside (to the
// control marked data-autofocus, else the first), Escape closes.
import { useEffect, useId, useRef } from 'react';

export default function Modal({ testId, title, icon, onClose, children }) {
  const titleId = useId();
  const ref = useRef(null);

  useEffect(() => {
    const previous = document.activeElement;
    // The dialog's primary action when it names one (data-autofocus), else its first control.
    const box = ref.current;
    (box?.querySelector('[data-autofocus]:not([disabled])') ?? box?.querySelector('input, button:not([disabled]), [href]'))?.focus();
    return () => previous?.focus?.();
  }, []);

  const onKeyDown = (event) => {
    if (event.key === 'Escape') onClose();
  };

  return (
    <div className="fixed inset-0 z-40 flex items-end justify-center bg-slate-950/60 p-4 backdrop-blur-sm sm:items-center">
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid={testId}
        onKeyDown={onKeyDown}
        className="w-full max-w-md animate-fade-in rounded-3xl border border-slate-200 bg-white p-6 shadow-2xl sm:p-8 dark:border-slate-800 dark:bg-slate-900"
      >
        <div className="mb-5 flex items-center gap-3">
          <span className="flex h-11 w-11 shrink-0 items-center justify-center rounded-2xl bg-brand-100 text-brand-600 dark:bg-brand-500/15 dark:text-brand-300">
            {icon}
          </span>
          <h2 id={titleId} className="text-xl font-bold tracking-tight">
            {title}
          </h2>
        </div>
        {children}
      </div>
    </div>
  );
}
