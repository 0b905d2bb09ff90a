// Step 5 for a text-only user: the call is its chat. No video, no camera
// controls; the partner's name and the safety menu above, Next and End below.
import { useNextShortcut } from '../hooks/useNextShortcut.js';
import { useTranslation } from 'react-i18next';
import ChatPanel from './ChatPanel.jsx';
import CommonInterests from './CommonInterests.jsx';
import NextAndEnd from './NextAndEnd.jsx';
import PartnerRegion from './PartnerRegion.jsx';
import SafetyMenu from './SafetyMenu.jsx';

export default function TextChat({ state, actions }) {
  const { t } = useTranslation();
  const { partner, messages } = state;
  useNextShortcut(actions.next);

  return (
    <div data-testid="text-chat" className="fixed inset-0 flex flex-col overflow-hidden bg-slate-950 text-white">
      <header className="flex shrink-0 items-start gap-2 px-3 py-3 sm:gap-3 sm:px-5">
        <div className="min-w-0 flex-1">
          <p className="text-xs uppercase tracking-wider text-white/70">{t('call.textWith')}</p>
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
        <NextAndEnd onNext={actions.next} onEnd={actions.goHome} />
      </div>
    </div>
  );
}
