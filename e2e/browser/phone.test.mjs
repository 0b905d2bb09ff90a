// The call screen on a phone (390×844, touch) and on a laptop (1366×768):
// every control at least 44×44 px and never covered (with the chat open and
// closed), the chat beside the video on the laptop and under the controls on
// the phone, the report and settings dialogs inside the viewport without
// shifting the view, the whole partner in the picture, swipe left to Next
// (a swipe right does nothing), and the partner's camera-off and mute shown.
// With ZIVRO_SCREENSHOTS=1 it writes docs/screenshots/call-phone.png and
// call-desktop.png for the README.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../lib/harness.mjs';
import {
  T, browserStack, hidden, join, openLanding, sendChat, visible, waitChat, waitMatched,
  waitMediaFlowing, withFailureShots,
} from './support.mjs';

const PHONE = {
  viewport: { width: 390, height: 844 },
  device: { isMobile: true, hasTouch: true, deviceScaleFactor: 3 },
};
const DESKTOP = { viewport: { width: 1366, height: 768 } };

const CONTROLS = ['toggle-mic', 'toggle-camera', 'chat-toggle', 'next-button', 'end-call', 'settings-button', 'safety-button'];
const CHAT_CONTROLS = ['chat-input', 'chat-send'];
const MIN_PX = 44;

const stack = browserStack();
const { user, users } = stack;
const diag = async () => `--- server log tail:\n${stack.server.logs().slice(-2000)}`;

async function pair(a, b) {
  await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
  await join(a);
  await visible(a, 'queue-view');
  await join(b, { gender: 'male', region: 'asia' });
  await Promise.all([waitMatched(a, b.name), waitMatched(b, a.name)]);
  await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b)]);
}

/**
 * For each testid: its box, whether it is inside the viewport, and what
 * document.elementFromPoint finds at its centre (covered = something else).
 */
function measure(u, ids) {
  return u.page.evaluate((list) => list.map((id) => {
    const el = document.querySelector(`[data-testid="${id}"]`);
    if (!el) return { id, missing: true };
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return {
      id,
      width: r.width,
      height: r.height,
      inside: r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
      covered: !(hit && (hit === el || el.contains(hit))),
      hit: hit ? `${hit.tagName.toLowerCase()}[data-testid=${hit.closest('[data-testid]')?.getAttribute('data-testid')}]` : null,
    };
  }), ids);
}

async function assertControls(u, ids, when) {
  for (const m of await measure(u, ids)) {
    const where = `${u.label} (${when}): ${m.id}`;
    assert.ok(!m.missing, `${where} is missing`);
    assert.ok(m.width >= MIN_PX && m.height >= MIN_PX, `${where} is ${m.width}×${m.height} px, want at least ${MIN_PX}×${MIN_PX}`);
    assert.ok(m.inside, `${where} is not inside the viewport`);
    assert.ok(!m.covered, `${where} is covered: the point at its centre is ${m.hit}`);
  }
}

const rectOf = (u, id) => u.page.evaluate((i) => {
  const r = document.querySelector(`[data-testid="${i}"]`).getBoundingClientRect();
  return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
}, id);

const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/** Opens a call control's dialog: it is inside the viewport and nothing scrolled sideways. */
async function assertDialogInside(u, name) {
  await u.tid(`${name}-button`).click();
  await visible(u, `${name}-dialog`);
  const got = await u.page.evaluate((n) => {
    const r = document.querySelector(`[data-testid="${n}-dialog"]`).getBoundingClientRect();
    const shifted = [document.scrollingElement, ...document.querySelectorAll('[data-testid="video-chat"] *, [data-testid="video-chat"]')]
      .filter((e) => e.scrollLeft !== 0).map((e) => e.getAttribute('data-testid') || e.tagName);
    return {
      rect: { left: r.left, top: r.top, right: r.right, bottom: r.bottom },
      vw: innerWidth, vh: innerHeight, shifted,
      view: document.querySelector('[data-testid="video-chat"]').getBoundingClientRect().left,
    };
  }, name);
  const { rect, vw, vh } = got;
  assert.ok(rect.left >= 0 && rect.top >= 0 && rect.right <= vw && rect.bottom <= vh,
    `${u.label}: ${name}-dialog ${JSON.stringify(rect)} is not inside the ${vw}×${vh} viewport`);
  assert.deepEqual(got.shifted, [], `${u.label}: opening ${name} scrolled sideways`);
  assert.equal(got.view, 0, `${u.label}: opening ${name} shifted the call view`);
  await u.tid(`${name}-cancel`).click();
  await hidden(u, `${name}-dialog`);
}

async function assertCallLayout(u, { phone }) {
  const when = phone ? 'phone' : 'desktop';
  // The partner is whole in the picture, over a blurred copy of itself.
  const fit = await u.page.evaluate(() => {
    const v = document.querySelector('[data-testid="remote-video"]');
    const copies = [...document.querySelectorAll('video')].filter((o) => o !== v && o.srcObject === v.srcObject);
    return { fit: getComputedStyle(v).objectFit, copies: copies.map((c) => c.muted) };
  });
  assert.equal(fit.fit, 'contain', `${u.label}: the remote video crops the partner`);
  assert.deepEqual(fit.copies, [true], `${u.label}: want one muted backdrop copy of the remote video`);

  await assertControls(u, CONTROLS, `${when}, chat closed`);
  await u.tid('chat-toggle').click();
  await visible(u, 'chat-panel');
  await assertControls(u, [...CONTROLS, ...CHAT_CONTROLS], `${when}, chat open`);
  // The call's indicators (text, smaller than a control) stay in sight too.
  const [status] = await measure(u, ['connection-state']);
  assert.ok(status.inside && !status.covered, `${u.label} (${when}, chat open): connection-state is hidden: ${JSON.stringify(status)}`);
  const chat = await rectOf(u, 'chat-panel');
  const stage = await rectOf(u, 'remote-video');
  assert.ok(!overlap(chat, stage), `${u.label}: the chat ${JSON.stringify(chat)} is over the video ${JSON.stringify(stage)}`);
  if (phone) {
    const next = await rectOf(u, 'next-button');
    assert.ok(chat.top >= next.bottom, `${u.label}: on a phone the chat goes under the controls`);
    assert.ok(stage.bottom <= next.top, `${u.label}: on a phone the video goes above the controls`);
  } else {
    assert.ok(chat.left >= stage.right, `${u.label}: on a laptop the chat goes beside the video`);
  }
  await assertDialogInside(u, 'safety');
  await assertDialogInside(u, 'settings');
}

async function saveScreenshot(u, file) {
  if (process.env.ZIVRO_SCREENSHOTS !== '1') return;
  const out = path.join(repoRoot, 'docs', 'screenshots', file);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await u.page.evaluate(() => document.activeElement?.blur());
  await u.page.screenshot({ path: out, scale: 'css', animations: 'disabled' });
}

test('the call on a phone and on a laptop: controls 44 px and uncovered, chat beside or below, dialogs inside, the partner’s camera-off and mute', { timeout: 240_000 }, async () => {
  const p = 'phone-layout';
  const a = await user('Ana', p, PHONE);
  const b = await user('Bo', p, DESKTOP);
  await withFailureShots(p, () => users, diag, async () => {
    await pair(a, b);
    await assertCallLayout(a, { phone: true });
    await assertCallLayout(b, { phone: false });

    // Camera-off and mute, told through signal.data, both ways.
    await b.tid('toggle-camera').click();
    await visible(a, 'partner-camera-off');
    await b.tid('toggle-mic').click();
    await visible(a, 'partner-muted');
    await b.tid('toggle-camera').click();
    await hidden(a, 'partner-camera-off');
    await b.tid('toggle-mic').click();
    await hidden(a, 'partner-muted');
    await a.tid('toggle-mic').click();
    await visible(b, 'partner-muted');
    assert.equal(await b.tid('partner-camera-off').count(), 0);
    await a.tid('toggle-mic').click();
    await hidden(b, 'partner-muted');

    await sendChat(b, 'Hi! Where are you calling from?');
    await waitChat(a, 'partner', (t) => t.startsWith('Hi!'), 'with the greeting');
    await sendChat(a, 'Lisbon. You?');
    await waitChat(b, 'partner', (t) => t.startsWith('Lisbon'), 'with the answer');
    await saveScreenshot(a, 'call-phone.png');
    await saveScreenshot(b, 'call-desktop.png');
  });
});

/** A touch stroke by dx px across the middle of the partner's video, as real touch events. */
async function swipe(u, dx) {
  const r = await rectOf(u, 'remote-video');
  const y = (r.top + r.bottom) / 2;
  const x0 = dx < 0 ? r.right - 40 : r.left + 40;
  const cdp = await u.context.newCDPSession(u.page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: x0, y }] });
  for (let i = 1; i <= 8; i++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: x0 + (dx * i) / 8, y: y + i }] });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

test('a swipe left on the partner’s video is Next; a swipe right neither skips nor leaves the site', { timeout: 240_000 }, async () => {
  const p = 'phone-swipe';
  const a = await user('Ana', p, PHONE);
  const b = await user('Bo', p, PHONE);
  const c = await user('Cy', p, PHONE);
  await withFailureShots(p, () => users, diag, async () => {
    await pair(a, b);
    await openLanding(c, stack.url);
    await join(c, { gender: 'other', region: 'africa' });
    await visible(c, 'queue-view');

    const url = a.page.url();
    await swipe(a, 250);
    assert.equal(a.page.url(), url, 'a swipe right navigated');
    // Still with Bo: a Next would have shown Bo the notice and sent Ana on.
    assert.equal(await a.tid('video-chat').isVisible(), true);
    assert.equal(await b.tid('notice').count(), 0, 'a swipe right skipped the partner');

    await swipe(a, -250);
    // Ana was requeued behind Cy, who waited: they meet.
    await waitMatched(a, c.name, T.match);
    await waitMatched(c, a.name, T.match);
    await visible(b, 'queue-view');
    // The browser's own sideways gesture (Back) is off while in the call.
    assert.equal(await a.page.evaluate(() => getComputedStyle(document.documentElement).overscrollBehaviorX), 'none');
  });
});
