// "You both like: …" in the call, when the two share interests.
import { Sparkles } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export default function CommonInterests({ interests }) {
  const { t } = useTranslation();
  if (!interests?.length) return null;
  return (
    <p
      data-testid="common-interests"
      className="mt-1 inline-flex max-w-full items-center gap-1.5 truncate rounded-full bg-white/15 px-2.5 py-0.5 text-xs font-medium backdrop-blur"
    >
      <Sparkles className="h-3 w-3 shrink-0" aria-hidden="true" />
      {t('call.commonInterests', { interests: interests.join(', ') })}
    </p>
  );
}
