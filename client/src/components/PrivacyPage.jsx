// /privacy: what the service keeps, and for how long (README: Redis keys, logs).
import { Trans, useTranslation } from 'react-i18next';
import LegalPage from './LegalPage.jsx';

const SECTIONS = ['account', 'media', 'safety', 'device'];

export default function PrivacyPage() {
  const { t } = useTranslation();
  return (
    <LegalPage testId="privacy-page" title={t('legal.privacy.title')}>
      {SECTIONS.map((section) => (
        <section key={section}>
          <h2 className="text-xl font-bold">{t(`legal.privacy.${section}Title`)}</h2>
          <p>{t(`legal.privacy.${section}`)}</p>
        </section>
      ))}
      <p>
        {/* The link's text comes from the translation. */}
        <Trans i18nKey="legal.privacy.seeTerms" components={{ terms: <a className="link" href="/terms" /> }} />
      </p>
    </LegalPage>
  );
}
