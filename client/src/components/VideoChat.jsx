// Step 5: the call. The partner's video with the call's header over its top
// and the local picture-in-picture in its corner; the controls under the
// video; the chat, when open, beside the video on laptops and under the
// controls on phones, so that nothing covers the video's indicators or a
// control. A swipe to the left on the video is Next.
import { VideoOff } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { useNextShortcut } from '../hooks/useNextShortcut.js';
import { useSwipeLeft } from '../hooks/useSwipeLeft.js';
import { isMediaFlowing, isPartnerStalled } from '../state/flow.js';
import CallControls from './CallControls.jsx';
import CallFailed from './CallFailed.jsx';
import CallStatus from './CallStatus.jsx';
import ChatPanel from './ChatPanel.jsx';
import CommonInterests from './CommonInterests.jsx';
import ConnectingOverlay from './ConnectingOverlay.jsx';
import DeviceSettings from './DeviceSettings.jsx';
import LocalVideo from './LocalVideo.jsx';
import PartnerCameraOff from './PartnerCameraOff.jsx';
import PartnerMuted from './PartnerMuted.jsx';
import PartnerReconnecting from './PartnerReconnecting.jsx';
import PartnerRegion from './PartnerRegion.jsx';
import RemoteVideo from './RemoteVideo.jsx';
import SafetyMenu from './SafetyMenu.jsx';

export default function VideoChat({ state, actions }) {
  const { partner, call, camera, mic, chatOpen, unread, messages, localStream, remoteStream, partnerMedia } = state;
  const { t } = useTranslation();
  const flowing = isMediaFlowing(call);
  useNextShortcut(actions.next);
  const swipe = useSwipeLeft(actions.next);

  return (
    <div
      data-testid="video-chat"
      className="fixed inset-0 flex flex-col overflow-hidden bg-slate-950 text-white md:flex-row"
    >
      <div className="flex min-h-0 min-w-0 flex-1 flex-col">
        <section
          aria-label={t('call.with', { name: partner.name })}
          className="relative min-h-0 flex-1 overflow-hidden bg-black"
        >
          {/* The swipe area: touch-action none here only, so that the
              dialogs of the header still scroll by touch. */}
          <div className="absolute inset-0 touch-none select-none" {...swipe}>
            <RemoteVideo
              key={partner.roomId}
              stream={remoteStream}
              partnerName={partner.name}
              onPlaying={() => actions.remotePlaying(partner.roomId)}
            />
            {flowing && !partnerMedia.video && <PartnerCameraOff partnerName={partner.name} />}
            {flowing && isPartnerStalled(call) && !call.failed && <PartnerReconnecting partnerName={partner.name} />}
            {!flowing && !call.failed && <ConnectingOverlay partnerName={partner.name} />}
            {call.failed && <CallFailed onNext={actions.next} />}
          </div>

          <header className="absolute inset-x-0 top-0 z-10 flex items-start gap-2 bg-gradient-to-b from-black/60 to-transparent px-3 pb-8 pt-3 sm:gap-3 sm:px-5">
            <div className="min-w-0 flex-1">
              <p className="hidden text-xs uppercase tracking-wider text-white/70 sm:block">{t('call.talkingTo')}</p>
              <p data-testid="partner-name" className="truncate text-lg font-semibold">
                {partner.name}
              </p>
              <PartnerRegion region={partner.region} />
              {!partnerMedia.audio && <PartnerMuted partnerName={partner.name} />}
              <CommonInterests interests={partner.commonInterests} />
            </div>
            <CallStatus call={call} />
            <DeviceSettings
              devices={state.devices}
              hideIp={state.hideIp}
              relayAvailable={state.relayAvailable}
              relayOnly={call.relayOnly}
              onOpen={actions.listDevices}
              onSelect={actions.selectDevice}
              onHideIp={actions.setHideIp}
            />
            <SafetyMenu partnerName={partner.name} onReport={actions.report} onBlock={actions.block} />
          </header>

          <div className="absolute bottom-3 right-3 z-20 aspect-[3/4] w-24 overflow-hidden rounded-2xl border-2 border-white/20 bg-slate-800 shadow-2xl sm:aspect-video sm:w-48 md:bottom-4 md:right-4">
            <LocalVideo
              data-testid="local-video"
              aria-label={t('call.yourVideo')}
              stream={localStream}
              className="h-full w-full object-cover"
            />
            {!camera && (
              <div className="absolute inset-0 flex items-center justify-center bg-slate-800">
                <VideoOff className="h-6 w-6 text-white/70" aria-label={t('call.yourCameraOff')} />
              </div>
            )}
          </div>
        </section>

        <div className="shrink-0 bg-slate-950 px-3 py-3 sm:py-4">
          <CallControls
            camera={camera}
            mic={mic}
            chatOpen={chatOpen}
            unread={unread}
            onToggleCamera={actions.toggleCamera}
            onToggleMic={actions.toggleMic}
            onToggleChat={actions.toggleChat}
            onNext={actions.next}
            onEnd={actions.goHome}
          />
        </div>
      </div>

      <ChatPanel
        open={chatOpen}
        partnerName={partner.name}
        messages={messages}
        onSend={actions.sendChat}
        onClose={actions.toggleChat}
      />
    </div>
  );
}
