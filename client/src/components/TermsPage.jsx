// /terms: the terms of use every user accepts (state/terms.js: raise
// TERMS_VERSION when this text changes in a way users must agree to again).
import { Trans, useTranslation } from 'react-i18next';
import LegalPage from './LegalPage.jsx';

export default function TermsPage() {
  const { t } = useTranslation();
  return (
    <LegalPage testId="terms-page" title={t('legal.terms.title')}>
      <section>
        <h2 className="text-xl font-bold">{t('legal.terms.whoTitle')}</h2>
        <p>{t('legal.terms.who')}</p>
      </section>
      <section>
        <h2 className="text-xl font-bold">{t('legal.terms.behaveTitle')}</h2>
        <ul className="list-disc space-y-1 pl-6">
          <li>{t('legal.terms.behaveContent')}</li>
          <li>{t('legal.terms.behaveSpam')}</li>
          <li>{t('legal.terms.behavePersonal')}</li>
        </ul>
      </section>
      <section>
        <h2 className="text-xl font-bold">{t('legal.terms.reportsTitle')}</h2>
        <p>{t('legal.terms.reports')}</p>
      </section>
      <section>
        <h2 className="text-xl font-bold">{t('legal.terms.guaranteeTitle')}</h2>
        <p>{t('legal.terms.guarantee')}</p>
      </section>
      <p>
        {/* The link's text comes from the translation. */}
        <Trans i18nKey="legal.terms.seePrivacy" components={{ privacy: <a className="link" href="/privacy" /> }} />
      </p>
    </LegalPage>
  );
}
