// Browser test, issue 20: a report with evidence ("attach what I saw") from
// our client reaches the moderators' console; the moderator opens it, sees
// the still of the reported video and the chat lines, bans in one click;
// the reported user is dropped, and its client's rejoin is refused (banned).
// Same origin, embedded store. The users are told apart by address through
// CLIENT_IP_HEADER (every page comes from 127.0.0.1): a ban is per address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../lib/harness.mjs';
import { ADMIN_TOKEN } from '../lib/admin.mjs';
import {
  browserStack, join, openLanding, visible, waitMatched, waitMediaFlowing, sendChat, waitChat, withFailureShots, T,
} from './support.mjs';

const stack = browserStack({
  redis: false,
  sameOrigin: true,
  env: { ADMIN_TOKEN, CLIENT_IP_HEADER: 'X-Test-Client-IP', REMATCH_WINDOW_MS: '60000' },
});
const { user, users } = stack;
const fromAddress = (ip) => ({ device: { extraHTTPHeaders: { 'X-Test-Client-IP': ip } } });

test('moderation console: a report with evidence arrives, the moderator sees the still and the chat lines, bans; the reported user is dropped and refused', { timeout: 240_000 }, async () => {
  const p = 'moderation';
  const alice = await user('Alice', p, fromAddress('10.1.0.1'));
  const bob = await user('Bob', p, fromAddress('10.2.0.1'));
  const mod = await user('Moderator', p, fromAddress('10.3.0.1'));
  await withFailureShots(p, () => users, () => stack.server.logs().slice(-3000), async () => {
    await Promise.all([openLanding(alice, stack.url), openLanding(bob, stack.url)]);
    await join(alice);
    await join(bob);
    await Promise.all([waitMatched(alice, 'Bob'), waitMatched(bob, 'Alice')]);
    await waitMediaFlowing(alice);
    await sendChat(alice, 'hello Bob');
    await waitChat(bob, 'partner', (t) => t === 'hello Bob', '"hello Bob"');
    await sendChat(bob, 'something rude');
    await waitChat(alice, 'partner', (t) => t === 'something rude', '"something rude"');

    // Report with evidence: off by default, ticked here; stay in the call.
    await alice.tid('safety-button').click();
    await visible(alice, 'safety-dialog');
    assert.equal(await alice.tid('report-attach').isChecked(), false, '"attach what I saw" is off by default');
    assert.match(await alice.tid('safety-dialog').textContent(), /last 20 chat lines .* still of their video/);
    await alice.tid('report-attach').check();
    await alice.tid('report-stay').check();
    await alice.shot('00-report-dialog');
    await alice.tid('report-harassment').click();
    await until(() => stack.server.logs().includes('"evidence":true'), { timeout: T.ui, what: 'the report with evidence filed' });

    // The moderator signs in and opens the report.
    await mod.page.goto(`${stack.url}/admin`);
    await mod.tid('token').fill(ADMIN_TOKEN);
    await mod.tid('sign-in').click();
    await visible(mod, 'report-row');
    assert.equal(await mod.tid('report-row').count(), 1);
    await mod.shot('01-reports');
    await mod.tid('report-row').click();
    await visible(mod, 'evidence-still');
    const still = await mod.tid('evidence-still').evaluate((img) => ({ w: img.naturalWidth, h: img.naturalHeight, src: img.src.slice(0, 23) }));
    assert.equal(still.src, 'data:image/jpeg;base64,');
    assert.ok(still.w > 0 && still.w <= 160 && still.h > 0 && still.h <= 120, `still of ${still.w}×${still.h}`);
    const lines = await mod.tid('evidence-lines').locator('li').evaluateAll((li) => li.map((l) => [l.className, l.textContent]));
    assert.deepEqual(lines, [['mine', 'hello Bob'], ['theirs', 'something rude']]);
    await mod.shot('02-evidence');

    // One click bans (until lifted, the default duration's first choice aside).
    await mod.tid('ban-duration').selectOption('0');
    await mod.tid('ban').click();
    await visible(mod, 'lift-ban');
    // Bob is dropped: Alice's call ends, and Bob's client, reconnected, is
    // refused when it rejoins.
    await visible(alice, 'queue-view', T.ui);
    await until(async () => /banned/.test((await bob.tid('notice').first().textContent({ timeout: 1000 }).catch(() => '')) ?? ''),
      { timeout: T.server, what: 'Bob told his join was refused: banned' });
    await bob.shot('03-banned');
    assert.ok(!stack.server.logs().includes('something rude'), 'a chat line reached the log');

    // The audit log shows the ban.
    await mod.tid('nav-audit').click();
    await visible(mod, 'audit-row');
    assert.match(await mod.tid('audit-row').first().textContent(), /admin.*ban/);
  });
});
