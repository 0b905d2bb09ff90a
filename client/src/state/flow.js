// The flow of the app, idle → permissions → terms → queue → chat, as one pure reducer
// (a text-only user goes from idle straight to the terms: no camera to ask for).
// Side effects (socket emits, media, the peer connection) live in session/session.js,
// which follows the transitions made here.

export const CHAT_MAX = 500;

const initialCall = {
  connectionState: 'new', // RTCPeerConnection's, or 'restarting' during an ICE restart
  hasRemoteTrack: false,
  remotePlaying: false,
  failed: false,
  quality: null, // { rttMs, lossPct, relayed } from getStats
  relayOnly: false, // the call goes through the TURN relay only ("hide my IP address")
  stalled: false, // nothing came from the partner since the last reading of the statistics
};

export const initialState = {
  phase: 'idle', // 'idle' | 'permissions' | 'terms' | 'queue' | 'chat'
  connection: 'connecting', // socket: 'connecting' | 'connected' | 'disconnected'
  everConnected: false,
  reconnected: false, // show the "reconnected" banner (off the queue and the call: there a resume is silent)
  profile: null,
  interests: [], // the tags the landing page offers, remembered across visits
  notice: null, // a short message: the partner left, a report, a block, a refused join, a session lost
  hideIp: false, // calls through the TURN relay only, when the server has one
  relayAvailable: null, // whether the server has a TURN relay (GET /ice-servers): null until it said
  devices: { cameras: [], mics: [], video: '', audio: '' }, // { deviceId, label } lists; the chosen ids
  // silent: the browser already allows the camera (or we are asking it
  // whether it does), so the permission step is not shown unless it fails.
  permission: { requesting: false, error: null, silent: false },
  termsAccepted: false, // this device accepted the current terms (state/terms.js)
  partner: null, // { id, name, roomId, isInitiator, commonInterests, region }
  call: initialCall,
  camera: true,
  mic: true,
  messages: [], // { id, from: 'me' | 'partner', text, timestamp }
  chatOpen: false,
  unread: 0, // partner messages not seen: the chat closed or the tab hidden
  pageHidden: false, // the tab is in the background (document.hidden)
};

const inCall = (state) => state.phase === 'queue' || state.phase === 'chat';

/** A text-only user: no camera, no peer connection; the chat is the call. */
export const isTextOnly = (state) => state.profile?.textOnly === true;

const home = (state) => ({
  ...initialState,
  connection: state.connection,
  everConnected: state.everConnected,
  reconnected: state.reconnected,
  profile: state.profile,
  interests: state.interests,
  notice: state.notice,
  hideIp: state.hideIp,
  relayAvailable: state.relayAvailable,
  devices: state.devices,
  termsAccepted: state.termsAccepted,
  pageHidden: state.pageHidden,
});

const queued = (state) => ({
  ...state,
  phase: 'queue',
  partner: null,
  call: initialCall,
  messages: [],
  chatOpen: isTextOnly(state), // a text-only call is its chat
  unread: 0,
});

// Only events about the current pairing may touch the call.
const forCurrentRoom = (state, action) => state.phase === 'chat' && state.partner?.roomId === action.roomId;

export function flowReducer(state, action) {
  switch (action.type) {
    case 'START':
      return state.phase === 'idle'
        ? {
            ...state,
            // A text-only user needs no camera: straight to the terms.
            phase: action.profile.textOnly ? 'terms' : 'permissions',
            profile: action.profile,
            interests: action.profile.interests ?? [],
            notice: null,
            permission: { requesting: false, error: null, silent: Boolean(action.checking) },
          }
        : state;

    case 'PERMISSION_PROMPT':
      // The browser would ask: show the step that explains why first.
      return state.phase === 'permissions' && state.permission.silent
        ? { ...state, permission: { ...state.permission, silent: false } }
        : state;

    case 'PERMISSION_REQUESTED':
      return state.phase === 'permissions'
        ? { ...state, permission: { ...state.permission, requesting: true, error: null } }
        : state;

    case 'PERMISSION_GRANTED':
      return state.phase === 'permissions'
        ? { ...state, phase: 'terms', permission: { requesting: false, error: null, silent: false } }
        : state;

    case 'PERMISSION_DENIED':
      return state.phase === 'permissions'
        ? { ...state, permission: { requesting: false, error: action.message, silent: false } }
        : state;

    case 'TEXT_ONLY_CHOSEN':
      // No camera (refused or missing): carry on with the chat alone.
      return state.phase === 'permissions'
        ? {
            ...state,
            phase: 'terms',
            profile: { ...state.profile, textOnly: true },
            permission: { requesting: false, error: null, silent: false },
          }
        : state;

    case 'TERMS_ACCEPTED':
      return state.phase === 'terms' ? queued({ ...state, termsAccepted: true }) : state;

    case 'GO_HOME':
      return state.phase === 'idle' ? state : home(state);

    case 'MATCHED':
      if (!inCall(state)) return state; // e.g. a late match after Cancel
      return {
        ...queued(state),
        phase: 'chat',
        partner: {
          id: action.partnerId,
          name: action.partnerName || 'Stranger',
          roomId: action.roomId,
          isInitiator: Boolean(action.isInitiator),
          commonInterests: action.commonInterests ?? [],
          region: action.partnerRegion ?? '', // '' when the server sent none
        },
      };

    case 'PARTNER_LEFT':
      // The server has requeued us: say so, briefly.
      return state.phase === 'chat' ? { ...queued(state), notice: { kind: 'partner-left' } } : state;

    case 'NEXT':
      // We asked the server to requeue us.
      return state.phase === 'chat' ? queued(state) : state;

    case 'BLOCKED':
      // A block ends the call as Next does.
      return state.phase === 'chat' ? { ...queued(state), notice: { kind: 'blocked' } } : state;

    case 'REPORTED':
    case 'REPORT_FAILED':
      return inCall(state) ? { ...state, notice: { kind: action.type === 'REPORTED' ? 'reported' : 'report-failed' } } : state;

    case 'JOIN_REFUSED':
      // e.g. a cool-down after reports: back to the landing page, saying why.
      return state.phase === 'queue' ? { ...home(state), notice: { kind: 'refused', code: action.code } } : state;

    case 'NOTICE_DISMISSED':
      return { ...state, notice: null };

    case 'CALL_STATE':
      if (!forCurrentRoom(state, action)) return state;
      return {
        ...state,
        call: {
          ...state.call,
          connectionState: action.connectionState,
          failed: action.connectionState === 'failed' || (state.call.failed && action.connectionState !== 'connected'),
          // Connected again after a break: media flows again (the next reading confirms).
          stalled: action.connectionState === 'connected' && state.call.connectionState !== 'connected' ? false : state.call.stalled,
        },
      };

    case 'CALL_FAILED':
      return forCurrentRoom(state, action) ? { ...state, call: { ...state.call, failed: true } } : state;

    case 'CALL_QUALITY':
      if (!forCurrentRoom(state, action)) return state;
      return {
        ...state,
        call: {
          ...state.call,
          quality: { rttMs: action.rttMs, lossPct: action.lossPct, relayed: action.relayed },
          stalled: action.stalled === true,
        },
      };

    case 'CALL_ROUTE':
      return forCurrentRoom(state, action) ? { ...state, call: { ...state.call, relayOnly: action.relayOnly } } : state;

    case 'RELAY_KNOWN':
      return { ...state, relayAvailable: action.relay };

    case 'HIDE_IP_SET':
      return { ...state, hideIp: action.hideIp };

    case 'DEVICES_LISTED':
      return { ...state, devices: { ...state.devices, cameras: action.cameras, mics: action.mics } };

    case 'DEVICE_SELECTED':
      return { ...state, devices: { ...state.devices, [action.kind]: action.deviceId } };

    case 'DEVICE_FAILED':
      return { ...state, notice: { kind: 'device-failed', message: action.message } };

    case 'REMOTE_TRACK':
      return forCurrentRoom(state, action) ? { ...state, call: { ...state.call, hasRemoteTrack: true } } : state;

    case 'REMOTE_PLAYING':
      return forCurrentRoom(state, action) ? { ...state, call: { ...state.call, remotePlaying: true } } : state;

    case 'TOGGLE_CAMERA':
      return { ...state, camera: !state.camera };

    case 'TOGGLE_MIC':
      return { ...state, mic: !state.mic };

    case 'CHAT_SENT':
      if (state.phase !== 'chat') return state;
      return {
        ...state,
        messages: [...state.messages, { id: action.id, from: 'me', text: action.text, timestamp: action.timestamp }],
      };

    case 'CHAT_RECEIVED':
      if (state.phase !== 'chat' || state.partner.id !== action.from) return state;
      return {
        ...state,
        messages: [...state.messages, { id: action.id, from: 'partner', text: action.text, timestamp: action.timestamp }],
        unread: state.chatOpen && !state.pageHidden ? 0 : state.unread + 1,
      };

    case 'PAGE_VISIBILITY':
      // Coming back to the tab with the chat open is reading it.
      return {
        ...state,
        pageHidden: action.hidden,
        unread: !action.hidden && state.chatOpen ? 0 : state.unread,
      };

    case 'CHAT_TOGGLED':
      return { ...state, chatOpen: !state.chatOpen, unread: 0 };

    case 'SOCKET_CONNECTED': {
      const back = state.everConnected && state.connection !== 'connected';
      const next = { ...state, connection: 'connected', everConnected: true };
      if (!back) return next;
      // Back after a drop. In the queue or a call, a recovered session (the
      // server kept our place, our pairing and what was sent to us) carries
      // on as if nothing happened. A new one (the server lost ours, or its
      // resume window lapsed) has neither: a new search, which the session
      // joins, saying why the call is gone. Elsewhere nothing was lost.
      if (inCall(state)) return action.recovered ? next : { ...queued(next), notice: { kind: 'resume-lost' } };
      return { ...next, reconnected: true };
    }

    case 'SOCKET_DISCONNECTED':
      // Stay where we are: the server keeps a resumable session's queue place
      // and pairing for a while, and the media between the two browsers does
      // not go through it. The view says that we are reconnecting
      // (isReconnecting); the reconnect decides (SOCKET_CONNECTED).
      return { ...state, connection: 'disconnected', reconnected: false };

    case 'RECONNECT_BANNER_DISMISSED':
      return { ...state, reconnected: false };

    default:
      return state;
  }
}

/** In the queue or a call while the socket is down: waiting for the session to resume. */
export const isReconnecting = (state) => inCall(state) && state.everConnected && state.connection !== 'connected';

/**
 * The partner's media has come and stopped: its connection is down (the
 * other side is changing networks or reconnecting) or nothing arrives.
 */
export const isPartnerStalled = (call) =>
  (call.remotePlaying || call.hasRemoteTrack) && (call.connectionState === 'disconnected' || call.stalled);

/** True once the partner's media is actually reaching us. */
export const isMediaFlowing = (call) =>
  call.remotePlaying || (call.hasRemoteTrack && call.connectionState === 'connected');
