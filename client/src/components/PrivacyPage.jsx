// /privacy: what the service keeps, and for how long (README: Redis keys, logs).
import LegalPage from './LegalPage.jsx';

export default function PrivacyPage() {
  return (
    <LegalPage testId="privacy-page" title="Privacy policy" updated="December 2026">
      <section>
        <h2 className="text-xl font-bold">No account</h2>
        <p>
          You give a name, a gender, a region and optional interests. The server keeps them while you are queued or in a
          call, shows your name and shared interests to your partner, and forgets them when you leave.
        </p>
      </section>
      <section>
        <h2 className="text-xl font-bold">Video, audio and chat</h2>
        <p>
          Video and audio go directly between you and your partner (or through a relay that cannot read them when you
          hide your IP address). Chat messages pass through the server to your partner and are never stored or logged.
        </p>
      </section>
      <section>
        <h2 className="text-xl font-bold">Safety records</h2>
        <p>
          Reports, blocks and cool-downs are kept against a keyed hash of your network address, never the address itself:
          blocks expire after a period without new ones, reports are kept for moderation in a capped log.
        </p>
      </section>
      <section>
        <h2 className="text-xl font-bold">On your device</h2>
        <p>
          Your browser remembers your profile, interests, theme, the &quot;hide my IP address&quot; setting and that you
          accepted the terms (local storage). Clear the site&apos;s data in your browser to forget them.
        </p>
      </section>
      <p>
        See also the <a className="link" href="/terms">terms of use</a>.
      </p>
    </LegalPage>
  );
}
