import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nextProvider } from 'react-i18next';
import App from './App.jsx';
import { BACKEND_URL } from './config.js';
import { getLocalStream, listDevices, mediaGranted, switchTrack } from './media/media.js';
import { SessionProvider } from './hooks/useSession.jsx';
import { createSession } from './session/session.js';
import { createI18n } from './i18n/i18n.js';
import { createSocket } from './socket/socket.js';
import { fetchIceConfig } from './webrtc/iceServers.js';
import { createPeer } from './webrtc/peer.js';
import './index.css';

const session = createSession({
  socket: createSocket(BACKEND_URL),
  media: { getLocalStream, listDevices, switchTrack, mediaGranted },
  createPeer,
  getIceConfig: () => fetchIceConfig(BACKEND_URL),
});

const i18n = createI18n();

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <I18nextProvider i18n={i18n}>
      <SessionProvider session={session}>
        <App />
      </SessionProvider>
    </I18nextProvider>
  </StrictMode>,
);
