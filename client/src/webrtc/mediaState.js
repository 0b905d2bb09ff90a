// The partner's camera and microphone, told through `signal.data`: a message
// type of our own clients, `{ type: 'media-state', video, audio }`. The server
// passes it through untouched; peer.js's parseSignal and the original client
// (an if/else on offer, answer and ice-candidate) both ignore a type they do
// not know, so an original client as partner sees nothing new.
//
// A partner is taken to have both on until told otherwise, so a client sends
// the message only when it has something to say: on a toggle during a call,
// and once when the connection is up if the camera or the microphone is off
// already. A call between two users with everything on therefore carries
// exactly the original client's messages, except in two rare cases: a
// matched that may have crossed our own Next is checked with one (see
// session.js, 'matched'), and an answering side whose connection failed asks
// for an ICE restart (webrtc/peer.js, { type: 'ice-restart' }).

export const MEDIA_STATE = 'media-state';

/** What a new partner is taken to have. */
export const PARTNER_MEDIA_ON = Object.freeze({ video: true, audio: true });

export const mediaStateMessage = ({ camera, mic }) => ({ type: MEDIA_STATE, video: camera, audio: mic });

export const isMediaState = (data) => data?.type === MEDIA_STATE;

/** Reads a media-state message; a field that is not a boolean counts as on. */
export const parseMediaState = (data) => ({ video: data.video !== false, audio: data.audio !== false });

/** Whether a call that has just connected should tell the partner. */
export const worthTelling = ({ camera, mic }) => !camera || !mic;
