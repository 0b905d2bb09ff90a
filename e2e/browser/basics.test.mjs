// The app's basics in the browser (issue #19): fewer steps (terms once per
// device, the permission step skipped when the camera is allowed, the
// profile remembered, Back in a call), the unread count in the tab title,
// the keyboard (focus after an invalid submit, in the permission modal,
// after Esc in the chat), the Terms and Privacy pages, and axe-core on the
// landing, queue and call views, desktop and phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../lib/harness.mjs';
import {
  FIRST_VISIT, T, axe, browserStack, hidden, join, openChat, openLanding, sendChat, visible, waitMatched, withFailureShots,
} from './support.mjs';

const stack = browserStack();
const { user, users } = stack;

const DESKTOP = { viewport: { width: 1366, height: 768 } };
const PHONE = { viewport: { width: 390, height: 844 }, device: { isMobile: true, hasTouch: true, deviceScaleFactor: 3 } };

/** The focused element's data-testid ('' for none, e.g. <body>). */
const focused = (u) => u.page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '');

async function waitFocus(u, id) {
  let got;
  await until(async () => (got = await focused(u)) === id, { timeout: T.ui, what: () => `${u.label}: focus on "${got}", not ${id}` });
}

async function pair(a, b) {
  await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
  await join(a);
  await visible(a, 'queue-view');
  await join(b, { gender: 'male', region: 'asia' });
  await Promise.all([waitMatched(a, b.name), waitMatched(b, a.name)]);
}

test('terms and the permission step once per device; the profile remembered across a reload', { timeout: 120_000 }, async () => {
  const p = 'once';
  // a first visit: the browser asks for the camera (the fake UI says yes at once)
  const a = await user('Ada', p, { initScripts: [FIRST_VISIT] });
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(a, stack.url);
    assert.deepEqual(await join(a), { permission: true, terms: true }, 'a first visit shows both steps');
    await a.tid('queue-cancel').click();
    await visible(a, 'start-view');
    assert.deepEqual(await join(a), { permission: false, terms: false }, 'the second search asked again');
    await visible(a, 'queue-view');
    await a.tid('queue-cancel').click();

    // a new visit on the device: the form is filled in, Start goes straight to the queue
    await a.page.reload();
    await openLanding(a, stack.url);
    assert.equal(await a.tid('name-input').inputValue(), 'Ada');
    assert.equal(await a.tid('gender-select').inputValue(), 'female');
    assert.equal(await a.tid('region-select').inputValue(), 'europe');
    await a.tid('start-button').click();
    await visible(a, 'queue-view');
    assert.equal(await a.tid('terms-modal').isVisible(), false);

    // new terms: asked again
    await a.tid('queue-cancel').click();
    await a.page.evaluate(() => localStorage.setItem('zivro-terms-version', '0'));
    await a.page.reload();
    await openLanding(a, stack.url);
    assert.deepEqual(await join(a), { permission: false, terms: true }, 'terms of an older version were not asked again');
  });
});

test('Back in a call ends it inside the app; the partner goes back to the queue', { timeout: 150_000 }, async () => {
  const p = 'back';
  const a = await user('Alice', p);
  const b = await user('Bob', p);
  await withFailureShots(p, () => users, diag, async () => {
    await pair(a, b);
    await a.page.goBack();
    await visible(a, 'start-view');
    assert.equal(new URL(a.page.url()).origin, new URL(stack.url).origin, 'Back left the site');
    await visible(b, 'queue-view');
    // a new search from the landing page is one click away
    await a.tid('start-button').click();
    await visible(a, 'queue-view');
  });
});

test('the tab title counts unread messages while the chat is closed', { timeout: 150_000 }, async () => {
  const p = 'title';
  const a = await user('Alice', p);
  const b = await user('Bob', p);
  await withFailureShots(p, () => users, diag, async () => {
    await pair(a, b);
    const base = await b.page.title();
    await sendChat(a, 'one');
    await sendChat(a, 'two');
    let title;
    await until(async () => (title = await b.page.title()) === `(2) ${base}`, { timeout: T.ui, what: () => `Bob's title "${title}"` });
    await openChat(b);
    await until(async () => (title = await b.page.title()) === base, { timeout: T.ui, what: () => `Bob's title "${title}" after reading` });
  });
});

test('keyboard: focus on the first invalid field, the permission modal\'s primary action, the chat toggle after Esc', { timeout: 150_000 }, async () => {
  const p = 'keys';
  const a = await user('Alice', p, { initScripts: [FIRST_VISIT] });
  const b = await user('Bob', p);
  await withFailureShots(p, () => users, diag, async () => {
    await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
    await a.tid('name-input').fill('Alice');
    await a.tid('start-button').focus();
    await a.page.keyboard.press('Enter');
    await visible(a, 'form-error');
    await waitFocus(a, 'gender-select');
    await a.tid('gender-select').selectOption('female');
    await a.tid('region-select').selectOption('europe');
    await a.tid('start-button').click();
    await visible(a, 'permission-modal');
    await waitFocus(a, 'permission-allow');
    await a.page.keyboard.press('Enter');
    await visible(a, 'terms-modal');
    await a.tid('terms-checkbox').check();
    await a.tid('terms-accept').click();
    await visible(a, 'queue-view');
    await join(b);
    await Promise.all([waitMatched(a, 'Bob'), waitMatched(b, 'Alice')]);
    await openChat(a);
    await waitFocus(a, 'chat-input');
    await a.page.keyboard.press('Escape');
    await hidden(a, 'chat-panel');
    await waitFocus(a, 'chat-toggle');
  });
});

test('the Terms and Privacy pages, linked from the landing page and the terms modal', { timeout: 60_000 }, async () => {
  const p = 'legal';
  const a = await user('Ada', p);
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(a, stack.url);
    await a.tid('footer-terms').click();
    await visible(a, 'terms-page');
    await a.shot('01-terms');
    await a.page.getByRole('link', { name: 'privacy policy' }).click();
    await visible(a, 'privacy-page');
    await a.page.goto(stack.url);
    await openLanding(a, stack.url);
    await a.tid('name-input').fill('Ada');
    await a.tid('gender-select').selectOption('female');
    await a.tid('region-select').selectOption('europe');
    await a.tid('start-button').click();
    await visible(a, 'terms-modal');
    assert.equal(await a.tid('terms-link').getAttribute('href'), '/terms');
    assert.equal(await a.tid('privacy-link').getAttribute('href'), '/privacy');
  });
});

for (const [name, opts] of [['desktop 1366×768', DESKTOP], ['phone 390×844', PHONE]]) {
  test(`axe: no serious or critical violation on the landing, queue and call views (${name})`, { timeout: 150_000 }, async () => {
    const p = `axe-${opts.viewport.width}`;
    const a = await user('Alice', p, opts);
    const b = await user('Bob', p, opts);
    await withFailureShots(p, () => users, diag, async () => {
      await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
      await axe(a, 'landing');
      await join(a);
      await visible(a, 'queue-view');
      await axe(a, 'queue');
      await join(b, { gender: 'male', region: 'asia' });
      await Promise.all([waitMatched(a, 'Bob'), waitMatched(b, 'Alice')]);
      await axe(a, 'call');
      await openChat(a);
      await axe(a, 'call with the chat open');
    });
  });
}

async function diag() {
  const { server } = stack;
  return `  server logs (tail):\n    ${(server?.logs() || '').trim().split('\n').slice(-12).join('\n    ')}`;
}
