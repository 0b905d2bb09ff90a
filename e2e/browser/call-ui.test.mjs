// The call as users expect it, in the browser: the people online on the
// landing page, the notice when the partner leaves, the N shortcut for Next
// (never while typing), the camera and microphone pickers.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, until } from '../lib/harness.mjs';
import {
  T, browserStack, join, openChat, openLanding, visible, waitChat, waitMatched,
  waitMediaFlowing, withFailureShots,
} from './support.mjs';

let sockets = [];

// Registered before the stack's afterEach, so that it runs first: the raw
// sockets are gone before the server is asked to have drained.
afterEach(() => {
  for (const s of sockets) s.close();
  sockets = [];
});

const stack = browserStack();
const { user, users } = stack;

async function pair(a, b) {
  await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
  await join(a);
  await visible(a, 'queue-view');
  await join(b, { gender: 'male', region: 'asia' });
  await Promise.all([waitMatched(a, b.name), waitMatched(b, a.name)]);
}

const diag = async () => `--- server log tail:\n${stack.server.logs().slice(-2000)}`;

test('the landing page shows how many people are online, from /stats', { timeout: 90_000 }, async () => {
  const p = 'online';
  // Three people connected before the page opens.
  sockets = await Promise.all([1, 2, 3].map(() => connect(stack.server.url, { extraHeaders: { Origin: stack.url } })));
  const a = await user('Ana', p);
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(a, stack.url);
    await visible(a, 'online-count');
    const count = Number(await a.tid('online-count').getAttribute('data-count'));
    assert.ok(count >= 3, `online-count ${count}, want at least the 3 connected`);
    assert.match(await a.tid('online-count').textContent(), new RegExp(`^${count} people online now$`));
  });
});

test('N skips to the next stranger (never while typing); the partner sees "Stranger left. Finding someone new…"', { timeout: 150_000 }, async () => {
  const p = 'shortcut';
  const a = await user('Ana', p);
  const b = await user('Bo', p);
  await withFailureShots(p, () => users, diag, async () => {
    await pair(a, b);
    assert.equal(await b.tid('next-button').getAttribute('aria-keyshortcuts'), 'N');
    // Typing an "n" in the chat sends it, and skips nobody.
    await openChat(b);
    await b.tid('chat-input').pressSequentially('n');
    await b.tid('chat-send').click();
    await waitChat(a, 'partner', (t) => t === 'n', 'with "n"');
    await visible(b, 'video-chat');
    // Outside a text field, N is Next.
    await b.page.evaluate(() => document.activeElement?.blur());
    await b.page.keyboard.press('n');
    await visible(b, 'queue-view');
    await visible(a, 'notice');
    assert.equal(await a.tid('notice').getAttribute('data-kind'), 'partner-left');
    assert.match(await a.tid('notice').textContent(), /Stranger left\. Finding someone new…/);
    await visible(a, 'queue-view');
  });
});

test('camera and microphone pickers: the chosen microphone is sent to the partner', { timeout: 150_000 }, async () => {
  const p = 'pickers';
  const a = await user('Ana', p);
  const b = await user('Bo', p);
  await withFailureShots(p, () => users, diag, async () => {
    await pair(a, b);
    await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b)]);
    await a.tid('settings-button').click();
    await visible(a, 'settings-dialog');
    // The lists fill once the devices are read (labels: permission was given).
    const options = async (id) => a.tid(id).locator('option').evaluateAll((os) => os.filter((o) => o.value).map((o) => ({ value: o.value, label: o.textContent })));
    let cams;
    let mics;
    await until(async () => {
      cams = await options('camera-select');
      mics = await options('mic-select');
      return cams.length >= 1 && mics.length >= 2;
    }, { timeout: T.ui, what: () => `pickers: cameras ${JSON.stringify(cams)}, microphones ${JSON.stringify(mics)}` });
    assert.ok(cams.every((c) => c.label.trim()), `camera labels ${JSON.stringify(cams)}`);
    // Choose a microphone other than the one in use.
    const inUse = () => a.page.evaluate(() => {
      const pc = (window.__zivroPCs || []).at(-1);
      const sent = pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
      const local = document.querySelector('[data-testid="local-video"]').srcObject.getAudioTracks()[0];
      return { sent: sent.track.getSettings().deviceId, sentId: sent.track.id, local: local.getSettings().deviceId, localId: local.id };
    });
    const before = await inUse();
    const other = mics.find((m) => m.value !== before.sent);
    assert.ok(other, `no other microphone than ${before.sent} in ${JSON.stringify(mics)}`);
    await a.tid('mic-select').selectOption(other.value);
    let now;
    await until(async () => {
      now = await inUse();
      return now.sent === other.value && now.local === other.value && now.sentId === now.localId;
    }, { timeout: T.ui, what: () => `after choosing ${other.value}: ${JSON.stringify(now)}` });
    assert.equal(await a.tid('mic-select').inputValue(), other.value);
    // The partner still hears and sees Ana.
    await waitMediaFlowing(b);
    await a.page.keyboard.press('Escape');
    await a.tid('settings-dialog').waitFor({ state: 'hidden', timeout: T.ui });
  });
});
