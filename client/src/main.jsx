import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import App from './App.jsx';
import { BACKEND_URL, ICE_SERVERS } from './config.js';
import { getLocalStream } from './media/media.js';
import { SessionProvider } from './hooks/useSession.jsx';
import { createSession } from './session/session.js';
import { createSocket } from './socket/socket.js';
import { createPeer } from './webrtc/peer.js';
import './index.css';

const session = createSession({
  socket: createSocket(BACKEND_URL),
  media: { getLocalStream },
  createPeer: (options) => createPeer({ ...options, iceServers: ICE_SERVERS }),
});

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <SessionProvider session={session}>
      <App />
    </SessionProvider>
  </StrictMode>,
);
