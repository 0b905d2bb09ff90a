// TURN against a real coturn (Debian's coturn, started here on loopback with
// use-auth-secret): the server's /ice-servers hands out credentials in the
// REST scheme; two users who chose "Hide my IP address" call through the
// relay only, and media flows; credentials that are expired or forged are
// refused by coturn.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../lib/harness.mjs';
import { startCoturn, turnCredential } from '../lib/coturn.mjs';
import {
  browserStack, join, openLanding, selectedPair, visible, waitMatched,
  waitMediaFlowing, withFailureShots,
} from './support.mjs';

let coturn;
const stack = browserStack({
  env: async () => {
    coturn = await startCoturn();
    return { TURN_URLS: coturn.url, TURN_SECRET: coturn.secret, TURN_TTL: '600' };
  },
});
const { user, users } = stack;
after(async () => { if (coturn) await coturn.stop(); });

const diag = async () => `--- coturn log tail:\n${coturn.logs().slice(-2500)}\n--- server log tail:\n${stack.server.logs().slice(-2000)}`;

test('two users with "Hide my IP address" call through coturn: media flows, the selected pair is a relay', { timeout: 180_000 }, async () => {
  const p = 'turn';
  const a = await user('Ana', p);
  const b = await user('Bo', p);
  await withFailureShots(p, () => users, diag, async () => {
    await Promise.all([openLanding(a, stack.url), openLanding(b, stack.url)]);
    for (const u of [a, b]) {
      await u.tid('hide-ip').check();
      assert.equal(await u.tid('hide-ip').isChecked(), true);
    }
    await join(a);
    await visible(a, 'queue-view');
    await join(b, { gender: 'male', region: 'asia' });
    await Promise.all([waitMatched(a, 'Bo'), waitMatched(b, 'Ana')]);
    await Promise.all([waitMediaFlowing(a), waitMediaFlowing(b)]);
    for (const u of [a, b]) {
      // relay only: the peer connection was made with iceTransportPolicy relay
      const policy = await u.page.evaluate(() => (window.__zivroPCs || []).at(-1)?.getConfiguration().iceTransportPolicy);
      assert.equal(policy, 'relay', `${u.label}: iceTransportPolicy`);
      const pair = await selectedPair(u);
      assert.deepEqual(pair, { local: 'relay', remote: 'relay' }, `${u.label}: selected candidate pair ${JSON.stringify(pair)}`);
      // the quality indicator says so, from getStats
      await until(async () => (await u.tid('call-quality').getAttribute('data-relayed')) === 'true',
        { timeout: 15_000, what: () => `${u.label}: call-quality never said relayed` });
    }
    // the TURN credential came from /ice-servers: coturn saw the REST username
    assert.match(coturn.logs(), /user <\d+:[A-Za-z0-9]+>/);
  });
});

test('coturn refuses expired and forged credentials, and takes the server\'s', { timeout: 120_000 }, async () => {
  const p = 'turn-creds';
  const a = await user('Ana', p);
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(a, stack.url);
    // What the browser gathers with one TURN server, relay only.
    const gather = (server) => a.page.evaluate(async (srv) => {
      const pc = new RTCPeerConnection({ iceServers: [srv], iceTransportPolicy: 'relay' });
      const types = [];
      const errors = [];
      pc.onicecandidate = (e) => { if (e.candidate) types.push(e.candidate.type); };
      pc.onicecandidateerror = (e) => errors.push(e.errorCode);
      pc.createDataChannel('probe');
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        const done = () => { if (pc.iceGatheringState === 'complete') resolve(); };
        pc.onicegatheringstatechange = done;
        done();
      });
      pc.close();
      return { types, errors };
    }, server);
    // the server's own answer, fetched as the client does
    const cfg = await a.page.evaluate(async (url) => (await fetch(`${url}/ice-servers`, { credentials: 'include' })).json(), stack.server.url);
    assert.equal(cfg.relay, true);
    const turn = cfg.iceServers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
    assert.ok(turn && turn.username && turn.credential, JSON.stringify(cfg));
    const good = await gather(turn);
    assert.deepEqual(good.types, ['relay'], `with /ice-servers' credential: ${JSON.stringify(good)}`);

    const now = Math.floor(Date.now() / 1000);
    const expired = `${now - 60}:expired`;
    const forged = `${now + 600}:forged`;
    for (const [what, srv] of [
      ['expired', { urls: coturn.url, username: expired, credential: turnCredential(coturn.secret, expired) }],
      ['forged', { urls: coturn.url, username: forged, credential: turnCredential('not the secret', forged) }],
      ['tampered expiry', { urls: coturn.url, username: `${now + 99999}:${turn.username.split(':')[1]}`, credential: turn.credential }],
    ]) {
      const got = await gather(srv);
      assert.deepEqual(got.types, [], `${what}: no relay candidate, got ${JSON.stringify(got)}`);
      assert.ok(got.errors.includes(401), `${what}: coturn answers 401, got ${JSON.stringify(got)}`);
    }
  });
});
