// What a resume looks like: our own reconnecting banner, the notice of a
// lost session, and the partner reconnecting over its video.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { I18nextProvider } from 'react-i18next';
import { describe, expect, it } from 'vitest';
import { createI18n } from '../i18n/i18n.js';
import { flowReducer, initialState } from '../state/flow.js';
import Notice from './Notice.jsx';
import Reconnecting from './Reconnecting.jsx';
import VideoChat from './VideoChat.jsx';

const i18n = createI18n(); // no browser here: English
const render = (component, props = {}) =>
  renderToStaticMarkup(createElement(I18nextProvider, { i18n }, createElement(component, props)));

describe('a resume on screen', () => {
  it('"Reconnecting…" is a status', () => {
    const html = render(Reconnecting);
    expect(html).toContain('role="status"');
    expect(html).toContain('data-testid="reconnecting"');
    expect(html).toContain('Reconnecting…');
  });

  it('the lost session has its own notice; the others keep theirs', () => {
    const lost = render(Notice, { notice: { kind: 'resume-lost' }, onDismiss: () => {} });
    expect(lost).toContain('data-testid="resume-lost-notice"');
    expect(lost).toContain('Connection lost — finding you a new partner…');
    expect(render(Notice, { notice: { kind: 'partner-left' }, onDismiss: () => {} })).toContain('data-testid="notice"');
  });

  describe('the partner reconnecting', () => {
    const actions = new Proxy({}, { get: () => () => {} });
    const call = (...steps) =>
      [
        { type: 'SOCKET_CONNECTED' },
        { type: 'START', profile: { name: 'Ada', gender: 'female', region: 'europe' } },
        { type: 'PERMISSION_GRANTED' },
        { type: 'TERMS_ACCEPTED' },
        { type: 'MATCHED', roomId: 'r1', partnerId: 'p1', partnerName: 'Bob', isInitiator: true },
        { type: 'REMOTE_TRACK', roomId: 'r1' },
        { type: 'CALL_STATE', roomId: 'r1', connectionState: 'connected' },
        { type: 'REMOTE_PLAYING', roomId: 'r1' },
        ...steps,
      ].reduce(flowReducer, initialState);
    const view = (state) => render(VideoChat, { state: { ...state, partnerMedia: { video: true, audio: true } }, actions });
    const quality = (stalled) => ({ type: 'CALL_QUALITY', roomId: 'r1', rttMs: 40, lossPct: 0, relayed: false, stalled });

    it('shows over the video while its media stalls, and goes when it flows again', () => {
      expect(view(call())).not.toContain('partner-reconnecting');
      const stalled = view(call(quality(true)));
      expect(stalled).toContain('data-testid="partner-reconnecting"');
      expect(stalled).toContain('Bob is reconnecting…');
      expect(stalled).toContain('data-testid="remote-video"'); // the video stays
      expect(view(call(quality(true), quality(false)))).not.toContain('partner-reconnecting');
      expect(view(call({ type: 'CALL_STATE', roomId: 'r1', connectionState: 'disconnected' }))).toContain('partner-reconnecting');
    });

    it('not once the call failed: the failure says what to do', () => {
      const failed = view(call({ type: 'CALL_STATE', roomId: 'r1', connectionState: 'failed' }));
      expect(failed).not.toContain('partner-reconnecting');
      expect(failed).toContain('Next');
    });
  });
});
