// Where the partner said it is, under its name in the call's header (when it said).
import { MapPin } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { regionLabel } from '../state/profile.js';

export default function PartnerRegion({ region }) {
  const { t } = useTranslation();
  if (!region) return null;
  return (
    <p data-testid="partner-region" className="flex items-center gap-1 text-xs text-white/80">
      <MapPin className="h-3 w-3 shrink-0" aria-hidden="true" />
      {regionLabel(region, t)}
    </p>
  );
}
