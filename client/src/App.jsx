// Renders the view for the current step of the flow.
import { useTranslation } from 'react-i18next';
import Loader from './components/Loader.jsx';
import MediaPermissionModal from './components/MediaPermissionModal.jsx';
import Notice from './components/Notice.jsx';
import PrivacyPage from './components/PrivacyPage.jsx';
import ReconnectBanner from './components/ReconnectBanner.jsx';
import Reconnecting from './components/Reconnecting.jsx';
import StartChat from './components/StartChat.jsx';
import TermsModal from './components/TermsModal.jsx';
import TermsPage from './components/TermsPage.jsx';
import TextChat from './components/TextChat.jsx';
import VideoChat from './components/VideoChat.jsx';
import { BACKEND_URL } from './config.js';
import { useBackEndsCall } from './hooks/useBackEndsCall.js';
import { useOnlineCount } from './hooks/useOnlineCount.js';
import { useSession } from './hooks/useSession.jsx';
import { useTabTitle } from './hooks/useTabTitle.js';
import { isReconnecting, isTextOnly } from './state/flow.js';

// Pages outside the flow, by path (the server answers every path with the app).
const PAGES = { '/terms': TermsPage, '/privacy': PrivacyPage };

export default function App() {
  const Page = PAGES[window.location.pathname];
  return Page ? <Page /> : <Flow />;
}

function Flow() {
  const { t } = useTranslation();
  const [state, actions] = useSession();
  const online = state.connection === 'connected';
  const { phase } = state;
  const reconnecting = isReconnecting(state);
  const onlineCount = useOnlineCount(BACKEND_URL);
  useTabTitle(t('app.title'), state.unread, actions.pageVisibility);
  useBackEndsCall(phase, actions.goHome);

  return (
    <>
      {reconnecting && <Reconnecting />}
      {state.reconnected && <ReconnectBanner onDismiss={actions.dismissReconnect} />}
      {state.notice && !state.reconnected && !reconnecting && <Notice notice={state.notice} onDismiss={actions.dismissNotice} />}

      {(phase === 'idle' || phase === 'permissions' || phase === 'terms') && (
        <StartChat
          online={online}
          initialProfile={state.profile}
          initialInterests={state.interests}
          onlineCount={onlineCount}
          hideIp={state.hideIp}
          relayAvailable={state.relayAvailable}
          onHideIp={actions.setHideIp}
          inert={phase !== 'idle'} onStart={actions.start} />
      )}
      {phase === 'permissions' && !state.permission.silent && (
        <MediaPermissionModal
          requesting={state.permission.requesting}
          error={state.permission.error}
          onAllow={actions.requestPermissions}
          onTextOnly={actions.continueTextOnly}
          onBack={actions.goHome}
        />
      )}
      {phase === 'terms' && <TermsModal online={online} onAccept={actions.acceptTerms} onDecline={actions.goHome} />}
      {phase === 'queue' && <Loader localStream={state.localStream} onCancel={actions.goHome} />}
      {phase === 'chat' && (isTextOnly(state) ? <TextChat state={state} actions={actions} /> : <VideoChat state={state} actions={actions} />)}
    </>
  );
}
