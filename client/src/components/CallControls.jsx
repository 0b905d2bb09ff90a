// The buttons under the call: five, so that they keep their full 48 px on a
// 360 px wide phone (settings and report sit at the top of the call).
import { MessageSquare, Mic, MicOff, Video, VideoOff } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import NextAndEnd from './NextAndEnd.jsx';

const round = 'icon-btn bg-white/15 text-white backdrop-blur hover:bg-white/25';
const off = 'icon-btn bg-white text-slate-900 hover:bg-slate-200';

// A camera or microphone switch; pressed means turned off.
function DeviceToggle({ testId, enabled, label, Icon, OffIcon, onToggle }) {
  const Shown = enabled ? Icon : OffIcon;
  return (
    <button
      type="button"
      data-testid={testId}
      aria-pressed={!enabled}
      aria-label={label}
      className={enabled ? round : off}
      onClick={onToggle}
    >
      <Shown className="h-5 w-5" aria-hidden="true" />
    </button>
  );
}

export default function CallControls({
  camera,
  mic,
  chatOpen,
  unread,
  onToggleCamera,
  onToggleMic,
  onToggleChat,
  onNext,
  onEnd,
}) {
  const { t } = useTranslation();
  return (
    <div className="flex items-center justify-center gap-2 min-[375px]:gap-3 sm:gap-4">
      <DeviceToggle
        testId="toggle-mic"
        enabled={mic}
        label={t(mic ? 'controls.mute' : 'controls.unmute')}
        Icon={Mic}
        OffIcon={MicOff}
        onToggle={onToggleMic}
      />
      <DeviceToggle
        testId="toggle-camera"
        enabled={camera}
        label={t(camera ? 'controls.cameraOff' : 'controls.cameraOn')}
        Icon={Video}
        OffIcon={VideoOff}
        onToggle={onToggleCamera}
      />
      <button
        type="button"
        data-testid="chat-toggle"
        aria-pressed={chatOpen}
        aria-expanded={chatOpen}
        aria-controls="chat-panel"
        aria-label={chatOpen ? t('controls.closeChat') : unread ? t('controls.openChatUnread', { count: unread }) : t('controls.openChat')}
        className={`relative ${chatOpen ? off : round}`}
        onClick={onToggleChat}
      >
        <MessageSquare className="h-5 w-5" aria-hidden="true" />
        {!chatOpen && unread > 0 && (
          <span
            data-testid="unread-badge"
            className="absolute -right-1 -top-1 flex h-5 min-w-5 items-center justify-center rounded-full bg-rose-500 px-1.5 text-xs font-bold text-white"
          >
            {unread}
          </span>
        )}
      </button>
      <NextAndEnd onNext={onNext} onEnd={onEnd} />
    </div>
  );
}
