// /terms: the terms of use every user accepts (state/terms.js: raise
// TERMS_VERSION when this text changes in a way users must agree to again).
import LegalPage from './LegalPage.jsx';

export default function TermsPage() {
  return (
    <LegalPage testId="terms-page" title="Terms of use" updated="December 2026">
      <section>
        <h2 className="text-xl font-bold">Who may use Zivro</h2>
        <p>You must be 18 or older. By starting a chat you accept these terms and the community rules shown before your first call.</p>
      </section>
      <section>
        <h2 className="text-xl font-bold">How you behave</h2>
        <ul className="list-disc space-y-1 pl-6">
          <li>No nudity, sexual content, harassment, hate, threats or illegal content.</li>
          <li>No spam, advertising, or recording other people without their consent.</li>
          <li>Do not share personal information with strangers, yours or anyone else&apos;s.</li>
        </ul>
      </section>
      <section>
        <h2 className="text-xl font-bold">Reports, blocks and cool-downs</h2>
        <p>
          You can report or block the person you are talking to. When several people report the same network, it may not
          join for a while. Reports are kept for moderation, without any chat text.
        </p>
      </section>
      <section>
        <h2 className="text-xl font-bold">No guarantee</h2>
        <p>
          Zivro pairs strangers at random; we do not know who you meet and are not responsible for what they say or show.
          The service is provided as is and may stop or change at any time. Leave any call you do not like with Next or End
          call.
        </p>
      </section>
      <p>
        How we handle data: see the <a className="link" href="/privacy">privacy policy</a>.
      </p>
    </LegalPage>
  );
}
