// Step 5: the call. Remote video full screen, local picture-in-picture, controls, chat.
import { VideoOff } from 'lucide-react';
import { useNextShortcut } from '../hooks/useNextShortcut.js';
import { isMediaFlowing } from '../state/flow.js';
import CallControls from './CallControls.jsx';
import CallFailed from './CallFailed.jsx';
import CallStatus from './CallStatus.jsx';
import ChatPanel from './ChatPanel.jsx';
import CommonInterests from './CommonInterests.jsx';
import ConnectingOverlay from './ConnectingOverlay.jsx';
import LocalVideo from './LocalVideo.jsx';
import RemoteVideo from './RemoteVideo.jsx';

export default function VideoChat({ state, actions }) {
  const { partner, call, camera, mic, chatOpen, unread, messages, localStream, remoteStream } = state;
  const flowing = isMediaFlowing(call);
  useNextShortcut(actions.next);

  return (
    <div data-testid="video-chat" className="fixed inset-0 overflow-hidden bg-slate-200 text-white dark:bg-slate-950">
      <RemoteVideo
        key={partner.roomId}
        stream={remoteStream}
        partnerName={partner.name}
        onPlaying={() => actions.remotePlaying(partner.roomId)}
      />
      {!flowing && !call.failed && <ConnectingOverlay partnerName={partner.name} />}
      {call.failed && <CallFailed onNext={actions.next} />}

      <header className="absolute inset-x-0 top-0 z-10 flex items-center gap-3 bg-gradient-to-b from-black/60 to-transparent px-4 pb-10 pt-4 sm:px-6">
        <div className="min-w-0">
          <p className="text-xs uppercase tracking-wider text-white/60">Talking to</p>
          <p data-testid="partner-name" className="truncate text-lg font-semibold">
            {partner.name}
          </p>
          <CommonInterests interests={partner.commonInterests} />
        </div>
        <CallStatus call={call} />
      </header>

      <div
        className={`absolute bottom-28 right-4 z-20 aspect-[3/4] w-28 overflow-hidden rounded-2xl border-2 border-white/20 bg-slate-800 shadow-2xl transition-[right] sm:aspect-video sm:w-56 ${
          chatOpen ? 'sm:right-[25.5rem]' : 'sm:right-6'
        }`}
      >
        <LocalVideo
          data-testid="local-video"
          aria-label="Your video"
          stream={localStream}
          className="h-full w-full object-cover"
        />
        {!camera && (
          <div className="absolute inset-0 flex items-center justify-center bg-slate-800">
            <VideoOff className="h-6 w-6 text-white/70" aria-label="Your camera is off" />
          </div>
        )}
      </div>

      <div
        className={`absolute inset-x-0 bottom-0 z-20 bg-gradient-to-t from-black/70 to-transparent px-4 pb-6 pt-10 ${
          chatOpen ? 'sm:right-96' : ''
        }`}
      >
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
          partnerName={partner.name}
          onReport={actions.report}
          onBlock={actions.block}
          settings={{
            devices: state.devices,
            hideIp: state.hideIp,
            relayOnly: call.relayOnly,
            onOpen: actions.listDevices,
            onSelect: actions.selectDevice,
            onHideIp: actions.setHideIp,
          }}
        />
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
