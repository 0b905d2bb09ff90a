// Step 5 for a text-only user: the call is its chat. No video, no camera
// controls; the partner's name and the safety menu above, Next and End below.
import { PhoneOff, SkipForward } from 'lucide-react';
import { useNextShortcut } from '../hooks/useNextShortcut.js';
import ChatPanel from './ChatPanel.jsx';
import CommonInterests from './CommonInterests.jsx';
import PartnerRegion from './PartnerRegion.jsx';
import SafetyMenu from './SafetyMenu.jsx';

export default function TextChat({ state, actions }) {
  const { partner, messages } = state;
  useNextShortcut(actions.next);

  return (
    <div data-testid="text-chat" className="fixed inset-0 flex flex-col overflow-hidden bg-slate-950 text-white">
      <header className="flex shrink-0 items-start gap-2 px-3 py-3 sm:gap-3 sm:px-5">
        <div className="min-w-0 flex-1">
          <p className="text-xs uppercase tracking-wider text-white/70">Text chat with</p>
          <p data-testid="partner-name" className="truncate text-lg font-semibold">
            {partner.name}
          </p>
          <PartnerRegion region={partner.region} />
          <CommonInterests interests={partner.commonInterests} />
        </div>
        <SafetyMenu partnerName={partner.name} onReport={actions.report} onBlock={actions.block} />
      </header>

      <ChatPanel
        key={partner.roomId}
        main
        open
        partnerName={partner.name}
        messages={messages}
        onSend={actions.sendChat}
      />

      <div className="flex shrink-0 items-center justify-center gap-3 px-3 py-3 sm:py-4">
        <button
          type="button"
          data-testid="next-button"
          aria-keyshortcuts="N"
          title="Next stranger (N)"
          className="inline-flex h-12 shrink-0 items-center gap-2 rounded-full bg-brand-600 px-5 font-semibold text-white shadow-lg shadow-brand-600/30 transition hover:bg-brand-500 focus-visible:outline-none focus-visible:ring-4 focus-visible:ring-brand-400/50"
          onClick={actions.next}
        >
          <SkipForward className="h-5 w-5" aria-hidden="true" />
          Next
        </button>
        <button
          type="button"
          data-testid="end-call"
          aria-label="End call"
          className="icon-btn bg-rose-600 text-white hover:bg-rose-500"
          onClick={actions.goHome}
        >
          <PhoneOff className="h-5 w-5" aria-hidden="true" />
        </button>
      </div>
    </div>
  );
}
