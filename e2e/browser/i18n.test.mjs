// The translated UI (issue #19): a browser in Spanish gets the landing page
// in Spanish (<html lang="es">), on a phone (390×844) with Start on the first
// screen and no serious axe-core violation; the language select switches to
// English and the choice outlasts a reload; "Prefer people who speak …"
// puts the UI's language in the join (the profile in Redis says so) and two
// such users are paired; in the call the language is in the settings.
// The expected texts are the client's own catalogues (client/src/i18n).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { redisCommand } from '../lib/redis.mjs';
import { until } from '../lib/harness.mjs';
import {
  T, axe, browserStack, clientDir, join, openLanding, visible, waitMatched, withFailureShots,
} from './support.mjs';

const catalogue = (code) => JSON.parse(fs.readFileSync(path.join(clientDir, 'src', 'i18n', `${code}.json`), 'utf8'));
const en = catalogue('en');
const es = catalogue('es');
const fr = catalogue('fr');

const PHONE = {
  viewport: { width: 390, height: 844 },
  device: { isMobile: true, hasTouch: true, deviceScaleFactor: 3 },
};

const stack = browserStack();
const { user, users } = stack;
const diag = async () => `--- server log tail:\n${stack.server.logs().slice(-2000)}`;

const lang = (u) => u.page.evaluate(() => document.documentElement.lang);
const text = async (u, id) => (await u.tid(id).first().textContent())?.trim();

/** Waits until the page speaks code: <html lang> and the start button's text. */
async function waitLanguage(u, code, startText) {
  let got;
  await until(async () => (got = { lang: await lang(u), start: await text(u, 'start-button') }).lang === code && got.start === startText, {
    timeout: T.ui,
    what: () => `${u.label}: lang ${JSON.stringify(got)}, not ${code} with "${startText}"`,
  });
}

/** The profile the server keeps for the one user waiting in the queue. */
async function queuedProfile() {
  let ids;
  await until(async () => (ids = await redisCommand(stack.redis.port, 'LRANGE', 'zivro:queue:list', '0', '-1')).length === 1, {
    timeout: T.ui,
    what: () => `one user queued, not ${JSON.stringify(ids)}`,
  });
  return JSON.parse(await redisCommand(stack.redis.port, 'GET', `zivro:user:${ids[0]}`));
}

test('a Spanish browser on a phone: the landing page in Spanish, Start above the fold, axe clean; the select switches to English, kept across a reload', { timeout: 120_000 }, async () => {
  const p = 'i18n-landing';
  const u = await user('Lucía', p, { locale: 'es-ES', ...PHONE });
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(u, stack.url);
    await waitLanguage(u, 'es', es.landing.startVideo);
    assert.equal(await u.tid('language-select').inputValue(), 'es');
    assert.equal(await u.page.title(), es.app.title);
    assert.equal(await text(u, 'footer-terms'), es.landing.terms);
    assert.equal(await u.tid('gender-select').locator('option[value="female"]').textContent(), es.profile.gender.female);
    assert.match(await text(u, 'online-count'), /conectad/);

    // Start on the first screen, without scrolling.
    const fold = await u.page.evaluate(() => {
      const r = document.querySelector('[data-testid="start-button"]').getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, height: innerHeight, scrollY, page: document.documentElement.scrollHeight };
    });
    assert.equal(fold.scrollY, 0);
    assert.ok(fold.top >= 0 && fold.bottom <= fold.height, `start-button at ${fold.top}–${fold.bottom} px on a ${fold.height} px screen (page ${fold.page} px)`);

    await axe(u, 'Spanish landing');

    await u.tid('language-select').selectOption('en');
    await waitLanguage(u, 'en', en.landing.startVideo);
    assert.equal(await text(u, 'footer-terms'), en.landing.terms);
    assert.equal(await u.page.title(), en.app.title);

    // The choice, not the browser's Spanish, wins on the next visit.
    await openLanding(u, stack.url);
    await waitLanguage(u, 'en', en.landing.startVideo);
    assert.equal(await u.tid('language-select').inputValue(), 'en');
  });
});

test('"Prefer people who speak Spanish" joins with language es; two such users are paired, and the call\'s settings switch the language', { timeout: 150_000 }, async () => {
  const p = 'i18n-match';
  const a = await user('Lucía', p, { locale: 'es-ES' });
  const b = await user('Mateo', p, { locale: 'es-MX' });
  await withFailureShots(p, () => users, diag, async () => {
    await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
    for (const u of [a, b]) {
      assert.equal(await u.tid('language-match').isChecked(), false, `${u.label}: the preference is off until chosen`);
      assert.equal(await text(u, 'language-match-label'), es.language.match.replace('{{language}}', 'español'));
      await u.tid('language-match').check();
    }

    await join(a);
    await visible(a, 'queue-view');
    assert.equal((await queuedProfile()).lang, 'es', "Lucía's join carries her language");

    await join(b, { gender: 'male', region: 'south-america' });
    await Promise.all([waitMatched(a, b.name), waitMatched(b, a.name)]);
    assert.equal(await text(a, 'next-button'), es.controls.next);

    await a.tid('settings-button').click();
    await visible(a, 'settings-dialog');
    await a.tid('settings-dialog').getByTestId('language-select').selectOption('fr');
    let got;
    await until(async () => (got = await text(a, 'next-button')) === fr.controls.next, {
      timeout: T.ui,
      what: () => `${a.label}: next-button says "${got}" after choosing French`,
    });
    assert.equal(await lang(a), 'fr');
    assert.equal(await text(b, 'next-button'), es.controls.next, "the partner's language is its own");

    // Home again: the preference is remembered with the profile, and now
    // names the UI's new language.
    await a.tid('end-call').click();
    await visible(a, 'start-view');
    assert.equal(await a.tid('language-match').isChecked(), true);
    assert.equal(await text(a, 'language-match-label'), fr.language.match.replace('{{language}}', 'français'));
  });
});
