// Text-only mode in the browser (issue #19): a user who ticks "Text only" and
// one whose camera is blocked (who goes on with "Continue with text only") are
// paired with each other, chat both ways with no video and no peer
// connection, each seeing the other's region, while a video user who waited
// first stays in the queue. A report moves the reporter on at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../lib/harness.mjs';
import {
  DENY_MEDIA, T, browserStack, chatTexts, hidden, join, openLanding, visible, waitChat, withFailureShots,
} from './support.mjs';

const stack = browserStack();
const { user, users } = stack;

/** Fills the landing form and presses Start (text: tick "Text only" first). */
async function start(u, { region, text }) {
  await u.tid('name-input').fill(u.name);
  await u.tid('gender-select').selectOption('female');
  await u.tid('region-select').selectOption(region);
  if (text) await u.tid('text-mode').check();
  await u.tid('start-button').click();
}

async function acceptTerms(u) {
  await visible(u, 'terms-modal');
  await u.tid('terms-checkbox').check();
  await u.tid('terms-accept').click();
  await hidden(u, 'terms-modal');
}

/** Waits for the text-only call with partnerName. */
async function waitTextCall(u, partnerName) {
  await visible(u, 'text-chat', T.match);
  let got;
  await until(async () => (got = (await u.tid('partner-name').textContent())?.trim()) === partnerName,
    { timeout: T.ui, what: () => `${u.label}: partner-name "${got}", not ${partnerName}` });
}

/** How many <video> elements and RTCPeerConnections the page has. */
const mediaOf = (u) => u.page.evaluate(() => ({
  videos: document.querySelectorAll('video').length,
  pcs: (window.__zivroPCs || []).length,
}));

test('two text-only users are paired with each other and chat both ways; a video user stays in the queue', { timeout: 150_000 }, async () => {
  const p = 'text';
  const v = await user('Vera', p);
  const t = await user('Tom', p);
  const c = await user('Cleo', p, { initScripts: [DENY_MEDIA] });
  await withFailureShots(p, () => users, null, async () => {
    await Promise.all([openLanding(v, stack.url), openLanding(t, stack.url), openLanding(c, stack.url)]);

    // the video user waits first
    await join(v, { region: 'africa' });
    await visible(v, 'queue-view');

    // Tom ticks "Text only": no camera step, straight to the terms
    await start(t, { region: 'europe', text: true });
    await acceptTerms(t);
    await visible(t, 'queue-view');
    assert.equal(await t.tid('permission-modal').count(), 0, 'Tom was asked for the camera');

    // Cleo's camera is blocked: the permission step offers text only
    await start(c, { region: 'asia', text: false });
    await visible(c, 'permission-error');
    await c.tid('permission-text-only').click();
    await acceptTerms(c);

    await Promise.all([waitTextCall(t, 'Cleo'), waitTextCall(c, 'Tom')]);
    await t.shot('01-text-call');
    // each sees where the other said it is (matched.partnerRegion)
    assert.equal((await t.tid('partner-region').textContent()).trim(), 'Asia');
    assert.equal((await c.tid('partner-region').textContent()).trim(), 'Europe');
    for (const u of [t, c]) {
      assert.deepEqual(await mediaOf(u), { videos: 0, pcs: 0 }, `${u.label}: video or a peer connection in a text call`);
      await visible(u, 'chat-input');
      await visible(u, 'next-button');
      await visible(u, 'end-call');
    }

    await t.tid('chat-input').fill('Hi Cleo');
    await t.tid('chat-send').click();
    await waitChat(c, 'partner', (x) => x === 'Hi Cleo', 'with "Hi Cleo"');
    await c.tid('chat-input').fill('Hi Tom');
    await c.tid('chat-send').click();
    await waitChat(t, 'partner', (x) => x === 'Hi Tom', 'with "Hi Tom"');
    assert.deepEqual(await chatTexts(t, 'me'), ['Hi Cleo']);

    // the video user was never paired with either
    await visible(v, 'queue-view');
    assert.equal(await v.tid('video-chat').count(), 0, 'Vera left the queue');

    // Cleo reports Tom: once taken, she moves on to someone new (both requeued)
    await c.tid('safety-button').click();
    await c.tid('report-spam').click();
    await Promise.all([visible(c, 'queue-view'), visible(t, 'queue-view')]);
    assert.equal(await c.tid('notice').getAttribute('data-kind'), 'reported');

    // Cancel: home, "Text only" still ticked (remembered with the profile)
    await t.tid('queue-cancel').click();
    await visible(t, 'start-view');
    assert.equal(await t.tid('text-mode').isChecked(), true, 'Tom\'s "Text only" was forgotten');
  });
});
