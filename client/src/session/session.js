// The session: runs the flow reducer and carries out its side effects: socket
// emits, the local media, and one peer connection per pairing. Components read
// its snapshot and call its actions; nothing here knows about React.
import { CHAT_MAX, flowReducer, initialState, isTextOnly } from '../state/flow.js';
import { createSignalInbox } from '../webrtc/signalInbox.js';
import { FALLBACK_CONFIG } from '../webrtc/iceServers.js';
import { QUALITY_EVERY_MS, isStalled, readStats } from '../webrtc/quality.js';
import { PARTNER_MEDIA_ON, isMediaState, mediaStateMessage, parseMediaState, worthTelling } from '../webrtc/mediaState.js';
import { describeMediaError, setTracksEnabled, stopStream } from '../media/media.js';
import { loadInterests, saveInterests } from '../state/interests.js';
import { loadHideIp, saveHideIp } from '../state/privacy.js';
import { loadProfile, saveProfile } from '../state/profile.js';
import { loadTermsAccepted, saveTermsAccepted } from '../state/terms.js';
import { gatherEvidence } from './evidence.js';

export const RECONNECT_BANNER_MS = 5000;
export const NOTICE_MS = 5000;
// A relay's refusals that mean the pairing is over (README, "The contract").
const ENDED = new Set(['not-your-partner', 'no-partner']);

/**
 * socket: { getStatus, onStatus, on, emit, send } (socket/socket.js)
 * media: { getLocalStream(devices), listDevices(), switchTrack(stream, kind, deviceId), mediaGranted()? } (media/media.js)
 * createPeer(options) → { handleSignal, getStats, replaceTrack, close } (webrtc/peer.js)
 * getIceConfig() → Promise<{ iceServers, relay }>: asked before each call (GET /ice-servers)
 * storage: where the profile, interests, settings and accepted terms are remembered (localStorage)
 */
export function createSession({
  socket,
  media,
  createPeer,
  getIceConfig = async () => FALLBACK_CONFIG,
  timers = globalThis,
  storage = globalThis.localStorage,
}) {
  let state = initialState;
  let localStream = null;
  let remoteStream = null;
  let peer = null;
  let messageSeq = 0;
  let bannerTimer = null;
  let noticeTimer = null;
  let qualityTimer = null;
  // The next call's ICE configuration, asked for on entering the queue.
  let iceConfig = null;
  // The partner's camera and microphone as it told us (webrtc/mediaState.js).
  let partnerMedia = PARTNER_MEDIA_ON;
  // Our state changes (join, Next, block, leave) sent and not answered yet,
  // as { ends, resend }: ends for a Next, block or leave, which a matched
  // may have crossed on the wire; resend sends it again.
  const unanswered = new Set();
  // What to send when the same session is back after a drop, in order: the
  // state changes made while the connection was down, and those it cut off
  // unanswered (the server may never have had them). A new session had no
  // place or pairing they would change: it forgets them.
  let owed = [];
  // Counts matched events: a doubtful one is shown only if none came after it.
  let matchSeq = 0;
  const inbox = createSignalInbox();
  const listeners = new Set();
  const build = () => ({ ...state, localStream, remoteStream, partnerMedia });
  let snapshot = build();

  const notify = () => {
    snapshot = build();
    listeners.forEach((listener) => listener());
  };

  function dispatch(action) {
    const prev = state;
    state = flowReducer(state, action);
    follow(prev, state);
    notify();
  }

  // Side effects that follow from a transition.
  function follow(prev, next) {
    // A text-only call has no peer connection: nothing to configure or open.
    const video = !isTextOnly(next);
    if (next.phase === 'queue' && prev.phase !== 'queue' && video) learnRelay((iceConfig = getIceConfig()));
    // Whether "hide my IP address" can work, asked again with each connection:
    // a server still waking up could not answer the first time.
    if (next.connection === 'connected' && prev.connection !== 'connected') learnRelay(getIceConfig());
    if (prev.partner?.roomId !== next.partner?.roomId) {
      closePeer();
      partnerMedia = PARTNER_MEDIA_ON;
      if (next.partner && video) openPeer(next.partner);
    }
    if (next.phase === 'idle' && prev.phase !== 'idle') {
      stopStream(localStream);
      localStream = null;
      inbox.clear();
    }
    if (prev.camera !== next.camera) setTracksEnabled(localStream, 'video', next.camera);
    if (prev.mic !== next.mic) setTracksEnabled(localStream, 'audio', next.mic);
    if ((prev.camera !== next.camera || prev.mic !== next.mic) && peer) tellPartner();
    if (next.reconnected && !prev.reconnected) {
      timers.clearTimeout(bannerTimer);
      bannerTimer = timers.setTimeout(() => dispatch({ type: 'RECONNECT_BANNER_DISMISSED' }), RECONNECT_BANNER_MS);
    }
    if (prev.interests !== next.interests) saveInterests(storage, next.interests);
    if (prev.profile !== next.profile && next.profile) saveProfile(storage, next.profile);
    if (next.termsAccepted && !prev.termsAccepted) saveTermsAccepted(storage);
    if (prev.hideIp !== next.hideIp) saveHideIp(storage, next.hideIp);
    if (prev.notice !== next.notice) {
      timers.clearTimeout(noticeTimer);
      // A refused join stays on the landing page until the user starts again.
      if (next.notice && next.notice.kind !== 'refused') {
        noticeTimer = timers.setTimeout(() => dispatch({ type: 'NOTICE_DISMISSED' }), NOTICE_MS);
      }
    }
  }

  // Notes whether the server has a relay, from an ICE configuration asked for.
  function learnRelay(config) {
    config.then(
      ({ relay }) => relay !== state.relayAvailable && dispatch({ type: 'RELAY_KNOWN', relay: relay === true }),
      () => {}, // not asked: left as it was
    );
  }

  async function openPeer({ id, roomId, isInitiator }) {
    const current = () => state.partner?.roomId === roomId;
    const config = (await (iceConfig ?? getIceConfig()).catch(() => null)) ?? FALLBACK_CONFIG;
    if (!current() || peer) return; // the call ended while we asked
    const relayOnly = state.hideIp && config.relay;
    dispatch({ type: 'CALL_ROUTE', roomId, relayOnly });
    let announced = false; // the camera or mic already off, told once connected
    peer = createPeer({
      isInitiator,
      localStream,
      iceServers: config.iceServers,
      relayOnly,
      send: (data) => socket.send('signal', { to: id, data }),
      onRemoteStream: (stream) => {
        if (!current()) return;
        remoteStream = stream;
        dispatch({ type: 'REMOTE_TRACK', roomId });
      },
      onConnectionState: (connectionState) => {
        if (connectionState === 'connected' && !announced && current() && worthTelling(state)) {
          announced = true;
          tellPartner();
        }
        dispatch({ type: 'CALL_STATE', roomId, connectionState });
      },
      onFailed: () => dispatch({ type: 'CALL_FAILED', roomId }),
    });
    // Signals that came before we knew this partner (kept per sender).
    for (const data of inbox.take(id)) peer.handleSignal(data);
    pollQuality(peer, roomId, null);
  }

  // Tells the partner whether our camera and microphone are on.
  function tellPartner() {
    if (state.partner) socket.send('signal', { to: state.partner.id, data: mediaStateMessage(state) });
  }

  // The call's round trip and loss, every QUALITY_EVERY_MS while it lasts.
  function pollQuality(forPeer, roomId, previous) {
    qualityTimer = timers.setTimeout(async () => {
      if (peer !== forPeer) return;
      let reading;
      let stalled;
      try {
        reading = readStats(await forPeer.getStats(), previous);
        stalled = isStalled(reading, previous);
      } catch {
        reading = previous;
        stalled = state.call.stalled; // nothing new to tell
      }
      if (peer !== forPeer) return;
      if (reading) {
        const { rttMs, lossPct, relayed } = reading;
        dispatch({ type: 'CALL_QUALITY', roomId, rttMs, lossPct, relayed, stalled });
      }
      pollQuality(forPeer, roomId, reading);
    }, QUALITY_EVERY_MS);
  }

  function closePeer() {
    timers.clearTimeout(qualityTimer);
    peer?.close();
    peer = null;
    stopStream(remoteStream);
    remoteStream = null;
  }

  // Sends a state change, kept in unanswered until the server answers (or
  // socket.io-client gives up: a timeout, the connection dropped). false
  // when the connection is down: nothing sent.
  function change(event, payload, { ends, resend }, onReply = () => {}) {
    const request = { ends, resend };
    unanswered.add(request);
    const sent = socket.emit(event, payload, (reply) => {
      unanswered.delete(request);
      onReply(reply);
    });
    if (!sent) unanswered.delete(request);
    return sent;
  }

  // Joins the queue; false when the socket is down (nothing sent).
  function emitJoin(profileToSend) {
    const { textOnly, language, ...profile } = profileToSend;
    // textOnly and language only when set: a video user without a language
    // preference joins in the original shape.
    const payload = { ...profile, ...(language && { language }), ...(textOnly && { textOnly: true }) };
    return change('join-queue', payload, { ends: false, resend: () => emitJoin(profileToSend) }, (reply) => {
      // Refused (a cool-down after reports, the server unable to queue us):
      // waiting would be for nothing. "busy" (already queued) is no refusal.
      // The code, not the English text, says which (README, "The contract").
      if (reply?.ok === false && reply.code !== 'busy') {
        dispatch({ type: 'JOIN_REFUSED', code: typeof reply.code === 'string' ? reply.code : '' });
      }
    });
  }

  /**
   * Sends our own Next, block or leave. Until the server answers it, a
   * matched may have crossed it on the wire (docs/ordering.md, rule 3: the
   * server drops what it would announce after it, not what is already on
   * its way), so matched events are checked meanwhile (see 'matched').
   * While the connection is down, a Next or a leave is owed; false when
   * nothing was sent nor owed (a block: by the time the session is back,
   * the server may have paired us with someone else).
   */
  function own(event) {
    // Sent again after a drop that cut it off, a block is a Next: it may
    // have taken effect, and a second one would block whoever came next.
    const resend = () => own(event === 'block' ? 'next' : event);
    if (change(event, undefined, { ends: true, resend })) return true;
    if (event === 'block') return false;
    owed.push(resend);
    return true;
  }

  // A matched now may be for a pairing that our own request has ended.
  const doubtful = () => [...unanswered].some((request) => request.ends);

  // The connection dropped: what it left unanswered is owed, first.
  function dropped() {
    owed = [...[...unanswered].map((request) => request.resend), ...owed];
    unanswered.clear();
  }

  // The server gave our session back after a drop: what we did meanwhile is
  // sent, and a call that the drop's network change broke is mended.
  function resumed() {
    const owing = owed;
    owed = [];
    owing.forEach((resend) => resend());
    peer?.restartIce();
  }

  // A new session after a drop: the server forgot our search or our call,
  // and had nothing that what we owed would change. Start the search again.
  function renewed() {
    owed = [];
    if (state.phase === 'queue') emitJoin(state.profile);
  }

  function joinQueue() {
    if (state.phase === 'terms' && emitJoin(state.profile)) dispatch({ type: 'TERMS_ACCEPTED' });
  }

  state = {
    ...state,
    profile: loadProfile(storage),
    interests: loadInterests(storage),
    hideIp: loadHideIp(storage),
    termsAccepted: loadTermsAccepted(storage),
  };
  snapshot = build();

  socket.onStatus((status, details) => {
    if (status !== 'connected') {
      dropped();
      dispatch({ type: 'SOCKET_DISCONNECTED' });
      return;
    }
    const recovered = details?.recovered === true;
    const back = state.everConnected;
    dispatch({ type: 'SOCKET_CONNECTED', recovered });
    if (back && recovered) resumed();
    else if (back) renewed();
  });
  if (socket.getStatus() === 'connected') dispatch({ type: 'SOCKET_CONNECTED' });

  socket.on('matched', (payload) => {
    if (!payload || typeof payload.partnerId !== 'string' || !payload.partnerId) return;
    const seq = ++matchSeq;
    const matched = {
      type: 'MATCHED',
      roomId: String(payload.roomId ?? `${payload.partnerId}:${Date.now()}`),
      partnerId: payload.partnerId,
      partnerName: typeof payload.partnerName === 'string' ? payload.partnerName : 'Stranger',
      isInitiator: payload.isInitiator === true,
      commonInterests: Array.isArray(payload.commonInterests)
        ? payload.commonInterests.filter((t) => typeof t === 'string')
        : [],
      partnerRegion: typeof payload.partnerRegion === 'string' ? payload.partnerRegion : '',
    };
    if (!doubtful()) {
      dispatch(matched);
      return;
    }
    // Doubtful: it may be for a pairing that our own Next, block or leave,
    // sent before it came, has already ended. The server checks a relay
    // against the pairing its earlier events left (docs/ordering.md, rule
    // 1), so a signal to this partner answers: refused as not our partner,
    // the pairing is over and never shown. The signal is our own media-state
    // message, true whoever reads it. Any other answer (a timeout, a
    // server that does not ack) shows it, as before this check.
    socket.emit('signal', { to: matched.partnerId, data: mediaStateMessage(state) }, (reply) => {
      if (reply?.ok === false && ENDED.has(reply.code)) return;
      if (seq === matchSeq) dispatch(matched);
    });
  });

  socket.on('partner-left', (payload) => dispatch({ type: 'PARTNER_LEFT', reason: payload?.reason }));

  socket.on('signal', (payload) => {
    const { from, data } = payload ?? {};
    if (typeof from !== 'string' || data == null) return;
    if (isMediaState(data)) {
      // Not WebRTC: only the current partner's counts, and it is never kept.
      if (from !== state.partner?.id) return;
      partnerMedia = parseMediaState(data);
      notify();
      return;
    }
    if (peer && from === state.partner?.id) {
      peer.handleSignal(data);
      return;
    }
    // Someone not (yet) our partner, or ours before the connection exists:
    // kept until matched says who (see signalInbox: a new pairing's offer can
    // come before our matched, a previous pairing's signals are never kept).
    if (state.phase === 'queue' || state.phase === 'chat') inbox.push(from, data);
  });

  socket.on('chat-message', (payload) => {
    const { from, message, timestamp } = payload ?? {};
    if (typeof message !== 'string') return;
    dispatch({
      type: 'CHAT_RECEIVED',
      id: ++messageSeq,
      from,
      text: message,
      timestamp: Number.isFinite(timestamp) ? timestamp : Date.now(),
    });
  });

  const actions = {
    /**
     * The landing form's Start. When the browser already allows the camera,
     * the permission step is not shown: the stream is taken at once.
     */
    start(profile) {
      if (state.phase !== 'idle') return;
      if (profile.textOnly) {
        dispatch({ type: 'START', profile });
        if (state.termsAccepted) joinQueue();
        return;
      }
      const check = media.mediaGranted;
      dispatch({ type: 'START', profile, checking: Boolean(check) });
      check?.()
        .catch(() => false)
        .then((granted) => {
          if (state.phase !== 'permissions' || !state.permission.silent || state.permission.requesting) return;
          if (granted) actions.requestPermissions();
          else dispatch({ type: 'PERMISSION_PROMPT' });
        });
    },
    async requestPermissions() {
      if (state.phase !== 'permissions' || state.permission.requesting) return;
      dispatch({ type: 'PERMISSION_REQUESTED' });
      try {
        const stream = await media.getLocalStream();
        if (state.phase !== 'permissions') {
          stopStream(stream); // the user left meanwhile
          return;
        }
        stopStream(localStream);
        localStream = stream;
        dispatch({ type: 'PERMISSION_GRANTED' });
        // Terms this device accepted already: straight into the queue.
        if (state.termsAccepted) joinQueue();
      } catch (err) {
        dispatch({ type: 'PERMISSION_DENIED', message: describeMediaError(err) });
      }
    },
    /** No camera (refused or missing): go on as a text-only user. */
    continueTextOnly() {
      if (state.phase !== 'permissions') return;
      dispatch({ type: 'TEXT_ONLY_CHOSEN' });
      if (state.termsAccepted) joinQueue();
    },
    acceptTerms: joinQueue,
    goHome() {
      if (state.phase === 'queue' || state.phase === 'chat') own('leave-queue');
      dispatch({ type: 'GO_HOME' });
    },
    next() {
      if (state.phase !== 'chat') return;
      own('next');
      dispatch({ type: 'NEXT' });
    },
    /**
     * Reports the partner; once the server took it, moves on to someone new
     * (a Next), unless stay: the reporter should not have to sit on with
     * whoever it reported. A refused report changes nothing.
     */
    async report(reason, { stay = false, attach = false } = {}) {
      if (state.phase !== 'chat') return;
      const { roomId } = state.partner;
      // Only when the reporter asked: the chat lines and a still of the
      // partner's video, taken now (see evidence.js).
      const payload = { reason };
      if (attach) payload.evidence = await gatherEvidence(state.messages, remoteStream);
      const sent = socket.emit('report', payload, (reply) => {
        dispatch({ type: reply?.ok ? 'REPORTED' : 'REPORT_FAILED' });
        if (reply?.ok && !stay && state.partner?.roomId === roomId) actions.next();
      });
      if (!sent) dispatch({ type: 'REPORT_FAILED' }); // reconnecting: try again once back
    },
    /** Blocks the partner and moves on; not while reconnecting (nothing happens). */
    block() {
      if (state.phase !== 'chat' || !own('block')) return;
      dispatch({ type: 'BLOCKED' });
    },
    dismissNotice: () => dispatch({ type: 'NOTICE_DISMISSED' }),
    setHideIp: (hideIp) => dispatch({ type: 'HIDE_IP_SET', hideIp: Boolean(hideIp) }),
    /** Reads the cameras and microphones (labels once permission is given). */
    async listDevices() {
      try {
        dispatch({ type: 'DEVICES_LISTED', ...(await media.listDevices()) });
      } catch {
        // no list: the pickers stay empty
      }
    },
    /** Switches the camera ('video') or the microphone ('audio') to deviceId. */
    async selectDevice(kind, deviceId) {
      if (!localStream) return;
      try {
        const { stream, track } = await media.switchTrack(localStream, kind, deviceId);
        if (!localStream) {
          track.stop();
          return;
        }
        localStream = stream;
        setTracksEnabled(localStream, kind, kind === 'video' ? state.camera : state.mic);
        await peer?.replaceTrack(track);
        dispatch({ type: 'DEVICE_SELECTED', kind, deviceId });
      } catch (err) {
        dispatch({ type: 'DEVICE_FAILED', message: describeMediaError(err) });
      }
    },
    sendChat(text) {
      const message = String(text).trim().slice(0, CHAT_MAX);
      if (state.phase !== 'chat' || !message) return false;
      // While reconnecting it goes when the session is back.
      socket.send('chat-message', { message });
      dispatch({ type: 'CHAT_SENT', id: ++messageSeq, text: message, timestamp: Date.now() });
      return true;
    },
    toggleChat: () => dispatch({ type: 'CHAT_TOGGLED' }),
    /** The tab went to the background (hidden) or came back. */
    pageVisibility: (hidden) => dispatch({ type: 'PAGE_VISIBILITY', hidden: Boolean(hidden) }),
    toggleCamera: () => dispatch({ type: 'TOGGLE_CAMERA' }),
    toggleMic: () => dispatch({ type: 'TOGGLE_MIC' }),
    remotePlaying: (roomId) => dispatch({ type: 'REMOTE_PLAYING', roomId }),
    dismissReconnect: () => dispatch({ type: 'RECONNECT_BANNER_DISMISSED' }),
  };

  return {
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    actions,
  };
}
