// Browser test, issue 13: the interests field (remembered), "You both like"
// in the call, and Report and Block in the call controls, by keyboard and by
// mouse. Same origin: the Go server serves the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../lib/harness.mjs';
import { negativeWindow } from '../lib/contract.mjs';
import {
  browserStack, join, openLanding, visible, waitMatched, withFailureShots, T,
} from './support.mjs';

// A short rematch window: without the block, the two would meet again 300 ms
// after it. No Redis: the server's embedded store.
const stack = browserStack({ redis: false, sameOrigin: true, env: { REMATCH_WINDOW_MS: '300', INTEREST_WAIT_MS: '20000' } });
const { user, users } = stack;

async function typeInterests(user, text) {
  await user.tid('interests-input').fill(text);
}

const interestTags = (user) => user.tid('interest-tags').locator('li').allTextContents();
const reportLines = () => stack.server.logs().split('\n').filter((l) => l.includes('"msg":"report"'));

test('interests, "You both like", report by keyboard, block by mouse; the blocked pair never meets again', { timeout: 180_000 }, async () => {
  const p = 'safety';
  const a = await user('Alice', p);
  const b = await user('Bob', p);
  const c = await user('Cleo', p);
  await withFailureShots(p, () => users, diag, async () => {
    await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
    await typeInterests(a, 'Music, chess, music, ');
    assert.deepEqual(await interestTags(a), ['music', 'chess']);
    await a.shot('00-interests');
    await typeInterests(b, 'films, MUSIC');
    await join(a);
    await visible(a, 'queue-view');
    await join(b);
    await Promise.all([waitMatched(a, 'Bob'), waitMatched(b, 'Alice')]);
    for (const u of [a, b]) {
      assert.equal((await u.tid('common-interests').textContent()).trim(), 'You both like: music');
    }
    await a.shot('01-you-both-like');

    // Report, by keyboard only: focus the button, Enter, then a reason.
    await a.tid('safety-button').focus();
    await a.page.keyboard.press('Enter');
    await visible(a, 'safety-dialog');
    const focused = await a.page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
    assert.equal(focused, 'safety-cancel', 'focus moves into the dialog');
    await a.shot('02-safety-dialog');
    await a.page.keyboard.press('Escape');
    await visible(a, 'video-chat');
    assert.equal(await a.tid('safety-dialog').count(), 0, 'Escape closes the dialog');
    assert.equal(await a.page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'safety-button');
    await a.page.keyboard.press('Enter');
    // "Stay in this call": without it a report moves on to someone new
    await a.tid('report-stay').focus();
    await a.page.keyboard.press('Space');
    await a.tid('report-spam').focus();
    await a.page.keyboard.press('Enter');
    await until(() => a.tid('notice').getAttribute('data-kind').then((k) => k === 'reported').catch(() => false),
      { timeout: T.ui, what: 'the "reported" notice' });
    await a.shot('03-reported');
    await visible(a, 'video-chat'); // a report with "stay" does not end the call
    await until(() => reportLines().length === 1, { timeout: T.ui, what: 'one report log line' });
    const line = JSON.parse(reportLines()[0]);
    assert.equal(line.reason, 'spam');
    assert.ok(!JSON.stringify(line).includes('127.0.0.1'), `the report log holds an address: ${reportLines()[0]}`);

    // Block, by mouse: ends the call for both, like Next.
    await b.tid('safety-button').click();
    await b.tid('block-button').click();
    await Promise.all([visible(b, 'queue-view'), visible(a, 'queue-view')]);
    await until(() => b.tid('notice').getAttribute('data-kind').then((k) => k === 'blocked').catch(() => false),
      { timeout: T.ui, what: 'the "blocked" notice' });
    await b.shot('04-blocked');
    // The only two waiting, past the 300 ms rematch window: they stay apart
    // (bounded negative window).
    await negativeWindow(1500);
    for (const u of [a, b]) assert.ok(await u.tid('queue-view').isVisible(), `${u.label} left the queue`);
    // A third meets one of them; the other keeps waiting.
    await openLanding(c, stack.url);
    await join(c);
    const partner = await waitMatched(c);
    assert.ok(['Alice', 'Bob'].includes(partner), `Cleo met ${partner}`);
    const other = partner === 'Alice' ? b : a;
    assert.ok(await other.tid('queue-view').isVisible(), `${other.label} left the queue`);

    // Remembered: a new visit offers Alice's interests again.
    if (other === a) await a.tid('queue-cancel').click();
    await a.page.reload({ waitUntil: 'domcontentloaded' });
    await visible(a, 'start-view');
    assert.equal(await a.tid('interests-input').inputValue(), 'music, chess');
    await a.shot('05-remembered');
  });
});

async function diag() {
  const { server } = stack;
  const st = server?.process;
  return `  server ${server?.url}: exitCode ${st?.exitCode} signal ${st?.signalCode}\n  server logs (tail):\n    ${(server?.logs() || '').trim().split('\n').slice(-12).join('\n    ')}`;
}
