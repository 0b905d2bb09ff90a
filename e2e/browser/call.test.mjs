// Browser tests, cross-origin mode (as deployed: the client on its own origin,
// VITE_BACKEND_URL baked in at build time, the Go server with CLIENT_URL set
// to the client's origin). Users A, B, C, D each have their own browser
// context with a fake camera and microphone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../lib/harness.mjs';
import { redisCommand } from '../lib/redis.mjs';
import {
  DENY_MEDIA, FIRST_VISIT, assertNoStalePeers, assertPaintedTheme, browserStack, chatTexts, hidden, join, openChat, openLanding,
  partnerNameOf, sendChat, visible, waitChat, waitMatched,
  waitMediaFlowing, waitSawView, waitTheme, withFailureShots,
} from './support.mjs';

const PHONE = { width: 390, height: 844 };

const stack = browserStack();
const { user, users } = stack;

/** A and B from the landing page into a call with media flowing both ways. */
async function pair(a, b, { shots = false } = {}) {
  if (!a.page.url().startsWith('http')) await openLanding(a, stack.url);
  if (!b.page.url().startsWith('http')) await openLanding(b, stack.url);
  await join(a, { gender: 'female', region: 'europe', shots });
  await visible(a, 'queue-view');
  await join(b, { gender: 'male', region: 'asia', shots });
  await Promise.all([waitMatched(a, b.name), waitMatched(b, a.name)]);
  await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b)]);
}

test('A and B match, see each other\'s names, media flows both ways, chat both ways, messages capped at 500', { timeout: 150_000 }, async () => {
  const p = 'call';
  const a = await user('Alice', p);
  const b = await user('Bob', p);
  await withFailureShots(p, () => users, diag, async () => {
    await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
    await waitTheme(a, false);
    await a.shot('00-landing-light');
    // B uses the dark theme, so that every step is pictured in both themes
    await b.tid('theme-toggle').click();
    await waitTheme(b, true);
    await b.shot('00-landing-dark');

    await join(a, { gender: 'female', region: 'europe', shots: true });
    await visible(a, 'queue-view');
    await join(b, { gender: 'male', region: 'asia', shots: true });
    await Promise.all([waitMatched(a, 'Bob'), waitMatched(b, 'Alice')]);
    await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b)]);
    await a.shot('05-call-light');
    await b.shot('05-call-dark');

    // chat both ways
    await sendChat(a, 'Hi Bob, Alice here');
    await waitChat(b, 'partner', (t) => t === 'Hi Bob, Alice here', 'with "Hi Bob, Alice here"');
    await waitChat(a, 'me', (t) => t === 'Hi Bob, Alice here', 'with her own "Hi Bob, Alice here"');
    await sendChat(b, 'Hello Alice!');
    await waitChat(a, 'partner', (t) => t === 'Hello Alice!', 'with "Hello Alice!"');
    await waitChat(b, 'me', (t) => t === 'Hello Alice!', 'with his own "Hello Alice!"');
    assert.equal((await chatTexts(b, 'partner')).length, 1, 'B got A\'s message exactly once');
    assert.equal((await chatTexts(a, 'partner')).length, 1, 'A got B\'s message exactly once');

    // 600 typed characters: what arrives is the first 500
    const typed = Array.from({ length: 600 }, (_, i) => String(i % 10)).join('');
    const maxLength = await a.tid('chat-input').evaluate((el) => el.maxLength);
    assert.equal(maxLength, 500, 'chat-input has maxLength 500');
    await a.tid('chat-input').fill(typed);
    const inInput = await a.tid('chat-input').inputValue();
    assert.ok(inInput.length <= 500, `chat-input holds ${inInput.length} characters after typing 600`);
    await a.tid('chat-send').click();
    const got1 = await waitChat(b, 'partner', (t) => t.startsWith('0123456789'), 'with the long typed message');
    assert.equal(got1.length, 500, `the typed 600-character message arrives with ${got1.length} characters, expected 500`);
    assert.equal(got1, typed.slice(0, 500), 'the typed message arrives as its first 500 characters');

    // 600 characters set programmatically (maxLength does not apply): capped all the same
    const forced = Array.from({ length: 600 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    await a.tid('chat-input').evaluate((el, v) => {
      const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'value').set;
      setter.call(el, v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, forced);
    await a.tid('chat-send').click();
    const got2 = await waitChat(b, 'partner', (t) => t.startsWith('abcdefghij'), 'with the long programmatic message');
    assert.equal(got2.length, 500, `a 600-character value sent from the UI arrives with ${got2.length} characters, expected 500`);
    assert.equal(got2, forced.slice(0, 500), 'the programmatic message arrives as its first 500 characters');
    await openChat(b);
    await a.shot('06-chat-light');
    await b.shot('06-chat-dark');

    // unread badge: B closes the panel, A writes, B sees "1"; opening clears it
    await b.tid('chat-toggle').click();
    await hidden(b, 'chat-panel');
    await sendChat(a, 'are you there?');
    await visible(b, 'unread-badge');
    let badge;
    await until(async () => (badge = (await b.tid('unread-badge').textContent()).trim()) === '1',
      { timeout: 5_000, what: () => `B's unread-badge reads "${badge}", expected "1"` });
    await b.shot('07-unread-dark');
    await openChat(b);
    await hidden(b, 'unread-badge');
    await waitChat(b, 'partner', (t) => t === 'are you there?', 'with "are you there?"');

    // camera and mic toggles flip aria-pressed, and back
    for (const id of ['toggle-camera', 'toggle-mic']) {
      const before = await a.tid(id).getAttribute('aria-pressed');
      assert.ok(before === 'true' || before === 'false', `${id} has aria-pressed="${before}"`);
      await a.tid(id).click();
      let now;
      await until(async () => (now = await a.tid(id).getAttribute('aria-pressed')) !== before,
        { timeout: 5_000, what: () => `${id}: aria-pressed stayed "${now}" after a click` });
      if (id === 'toggle-camera') await a.shot('08-camera-off-light');
      await a.tid(id).click();
      await until(async () => (now = await a.tid(id).getAttribute('aria-pressed')) === before,
        { timeout: 5_000, what: () => `${id}: aria-pressed "${now}" after a second click, expected "${before}"` });
    }
  });
});

test('Next with C waiting: B back in the queue, A and B re-matched (C among the partners), no stale peer connection or track', { timeout: 200_000 }, async () => {
  const p = 'next';
  const a = await user('Alice', p);
  const b = await user('Bob', p);
  const c = await user('Carol', p);
  const d = await user('Dave', p);
  await withFailureShots(p, () => users, diag, async () => {
    await pair(a, b);
    await assertNoStalePeers(a, { inCall: true });
    await assertNoStalePeers(b, { inCall: true });
    await openLanding(c, stack.url);
    await join(c, { gender: 'other', region: 'africa' });
    await visible(c, 'queue-view');
    await c.shot('01-queue-waiting');

    const since = Date.now();
    await a.tid('next-button').click();
    // B is told its partner left and shows the queue
    await waitSawView(b, 'queue-view', since);
    // C (waiting) is matched with one of them
    const cPartner = await waitMatched(c, undefined);
    assert.ok(['Alice', 'Bob'].includes(cPartner), `C's partner-name is "${cPartner}", expected Alice or Bob`);
    const withC = cPartner === 'Alice' ? a : b;
    const other = cPartner === 'Alice' ? b : a;
    await waitMatched(withC, 'Carol');
    // the other one waits in the queue, with no open peer connection left over
    await visible(other, 'queue-view');
    await other.shot('02-back-in-queue');
    await assertNoStalePeers(other, { inCall: false, minPcs: 1 });
    // D arrives and is matched with the one left
    await openLanding(d, stack.url);
    await join(d, { gender: 'male', region: 'oceania' });
    await Promise.all([waitMatched(d, other.name), waitMatched(other, 'Dave')]);
    await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b), waitMediaFlowing(c), waitMediaFlowing(d)]);
    await a.shot('03-after-next');
    await b.shot('03-after-next');
    // A and B each had two calls: exactly the current one is alive
    await assertNoStalePeers(a, { inCall: true, minPcs: 2 });
    await assertNoStalePeers(b, { inCall: true, minPcs: 2 });
    await assertNoStalePeers(c, { inCall: true });
    await assertNoStalePeers(d, { inCall: true });
    // names are the new partners', not the old ones'
    assert.equal(await partnerNameOf(withC), 'Carol');
    assert.equal(await partnerNameOf(other), 'Dave');
    // the old chat is gone and a new one works
    await sendChat(withC, 'new partner, new chat');
    await waitChat(c, 'partner', (t) => t === 'new partner, new chat', 'with "new partner, new chat"');
    assert.deepEqual(await chatTexts(other, 'partner'), [], `${other.name} got a message meant for ${withC.name}'s new partner`);
  });
});

test('End call: the ender goes home, the partner back to the queue (phone viewport)', { timeout: 150_000 }, async () => {
  const p = 'end';
  const a = await user('Alice', p, { viewport: PHONE, label: 'Alice-phone' });
  const b = await user('Bob', p, { viewport: PHONE, label: 'Bob-phone' });
  await withFailureShots(p, () => users, diag, async () => {
    await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
    await a.shot('00-landing-phone-light');
    await b.tid('theme-toggle').click();
    await waitTheme(b, true);
    await b.shot('00-landing-phone-dark');
    await pair(a, b);
    await a.shot('01-call-phone-light');
    await b.shot('01-call-phone-dark');
    await sendChat(b, 'hi from a phone');
    await openChat(a);
    await waitChat(a, 'partner', (t) => t === 'hi from a phone', 'with "hi from a phone"');
    await a.shot('01-chat-phone-light');
    // close the panel: its toggle, or Escape where the panel covers the toggle
    await a.tid('chat-toggle').click({ timeout: 3_000 }).catch(() => a.page.keyboard.press('Escape'));
    await hidden(a, 'chat-panel');
    await a.tid('end-call').click();
    await visible(a, 'start-view');
    await visible(b, 'queue-view');
    await hidden(a, 'video-chat');
    await hidden(b, 'video-chat');
    await a.shot('02-home-phone');
    await b.shot('02-partner-queue');
    await assertNoStalePeers(a, { inCall: false });
    await assertNoStalePeers(b, { inCall: false });
  });
});

test('Cancel in the queue returns home and leaves the queue', { timeout: 90_000 }, async () => {
  const p = 'cancel';
  const a = await user('Alice', p);
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(a, stack.url);
    await join(a);
    await visible(a, 'queue-view');
    await until(async () => (await redisCommand(stack.redis.port, 'LLEN', 'zivro:queue:list')) === 1,
      { timeout: 5_000, what: 'A never appeared in zivro:queue:list' });
    await a.shot('01-queue');
    await a.tid('queue-cancel').click();
    await visible(a, 'start-view');
    await hidden(a, 'queue-view');
    await a.shot('02-home');
    let q;
    await until(async () => (q = await redisCommand(stack.redis.port, 'LLEN', 'zivro:queue:list')) === 0,
      { timeout: 5_000, what: () => `after Cancel the server still queues A (LLEN zivro:queue:list = ${q})` });
  });
});

test('Landing form validation, refused camera, declined terms: nobody is queued', { timeout: 90_000 }, async () => {
  const p = 'gates';
  // first visits, so that the app shows its permission step
  const a = await user('Ann', p, { initScripts: [FIRST_VISIT, DENY_MEDIA] });
  const b = await user('Ben', p, { initScripts: [FIRST_VISIT] });
  await withFailureShots(p, () => users, diag, async () => {
    await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
    // an empty / too short form: inline errors, no permission modal
    await a.tid('name-input').fill('A');
    await a.tid('start-button').click();
    await visible(a, 'form-error');
    assert.equal(await a.tid('permission-modal').isVisible(), false, 'an invalid form opened the permission modal');
    await a.shot('01-form-errors');
    // valid form, but the camera is refused: an error and a way back home
    await a.tid('name-input').fill('Ann');
    await a.tid('gender-select').selectOption('female');
    await a.tid('region-select').selectOption('oceania');
    await hidden(a, 'form-error');
    await a.tid('start-button').click();
    await visible(a, 'permission-modal');
    await a.tid('permission-allow').click();
    await visible(a, 'permission-error');
    await a.shot('02-permission-refused');
    await a.tid('permission-back').click();
    await visible(a, 'start-view');
    await hidden(a, 'permission-modal');
    // terms declined: back home
    await b.tid('name-input').fill('Ben');
    await b.tid('gender-select').selectOption('male');
    await b.tid('region-select').selectOption('africa');
    await b.tid('start-button').click();
    await visible(b, 'permission-modal');
    await b.tid('permission-allow').click();
    await visible(b, 'terms-modal');
    await b.tid('terms-decline').click();
    await visible(b, 'start-view');
    await hidden(b, 'terms-modal');
    await hidden(b, 'queue-view');
    assert.equal(await redisCommand(stack.redis.port, 'LLEN', 'zivro:queue:list'), 0, 'someone was queued without accepting the terms');
  });
});

test('Closing a tab mid-call sends the partner back to the queue', { timeout: 150_000 }, async () => {
  const p = 'closetab';
  const a = await user('Alice', p);
  const b = await user('Bob', p);
  await withFailureShots(p, () => users, diag, async () => {
    await pair(a, b);
    const since = Date.now();
    await a.page.close();
    await waitSawView(b, 'queue-view', since);
    await visible(b, 'queue-view');
    await b.shot('01-partner-queue');
    await assertNoStalePeers(b, { inCall: false });
  });
});

test('Theme: dark mode survives a reload (localStorage), and so does light mode', { timeout: 90_000 }, async () => {
  const p = 'theme';
  const a = await user('Alice', p);
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(a, stack.url);
    await waitTheme(a, false);
    await a.tid('theme-toggle').click();
    await waitTheme(a, true);
    await a.shot('01-dark');
    await a.page.reload({ waitUntil: 'domcontentloaded' });
    await visible(a, 'start-view');
    await waitTheme(a, true);
    await a.shot('02-dark-after-reload');
    // dark is not just a class: the page is painted dark (checked at the end)
    const painted = [];
    await assertPaintedTheme(a, 'start-view', true).catch((e) => painted.push(e.message));
    await a.tid('theme-toggle').click();
    await waitTheme(a, false);
    await a.page.reload({ waitUntil: 'domcontentloaded' });
    await visible(a, 'start-view');
    await waitTheme(a, false);
    await assertPaintedTheme(a, 'start-view', false);
    // phone-sized landing page, dark
    const ph = await user('Pat', p, { viewport: PHONE, label: 'Pat-phone' });
    await openLanding(ph, stack.url);
    await ph.tid('theme-toggle').click();
    await waitTheme(ph, true);
    await ph.shot('03-landing-phone-dark');
    assert.deepEqual(painted, [], 'the dark theme paints the page dark');
  });
});

/** Server and static-server state for a failure report. */
async function diag() {
  const { server } = stack;
  const st = server?.process;
  let health;
  try {
    const r = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(2000) });
    health = `${r.status} ${await r.text()}`;
  } catch (e) {
    health = `unreachable (${e.message})`;
  }
  return `  server ${server?.url}: exitCode ${st?.exitCode} signal ${st?.signalCode}; GET /health → ${health}\n  server logs (tail):\n    ${(server?.logs() || '').trim().split('\n').slice(-12).join('\n    ')}`;
}
