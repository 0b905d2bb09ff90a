import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { I18nextProvider } from 'react-i18next';
import { describe, expect, it } from 'vitest';
import { createI18n } from '../i18n/i18n.js';
import HideIpToggle from './HideIpToggle.jsx';

const i18n = createI18n(); // no browser here: English
const render = (props) =>
  renderToStaticMarkup(createElement(I18nextProvider, { i18n }, createElement(HideIpToggle, { onChange: () => {}, ...props })));
const checkbox = (html) => html.match(/<input[^>]*>/)[0];

describe('"Hide my IP address"', () => {
  it('without a relay on the server: off, disabled, and says why', () => {
    const html = render({ hideIp: true, available: false });
    expect(checkbox(html)).toContain('disabled');
    expect(checkbox(html)).not.toContain('checked');
    expect(html).toContain('data-testid="hide-ip-unavailable"');
    expect(html).toContain('this server has no relay');
  });

  it('with a relay (or not known yet): a working switch', () => {
    for (const available of [true, undefined]) {
      const html = render({ hideIp: true, available });
      expect(checkbox(html)).not.toContain('disabled');
      expect(checkbox(html)).toContain('checked');
      expect(html).not.toContain('hide-ip-unavailable');
    }
  });
});
