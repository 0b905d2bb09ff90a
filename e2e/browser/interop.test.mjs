// Our client calls the original client. The original is played by a scripted
// page that speaks its messages exactly (CONTRACT.md, "What travels inside
// signal.data"), with its own RTCPeerConnection, and behaves as it does: its
// peer connection and signal listener exist only once its call view has
// mounted after matched (a moment later; a signal before that is dropped),
// and it throws on an sdp that is a string. Both ways round: the original as
// the initiator and as the responder. Media flows both ways.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoRoot, until } from '../lib/harness.mjs';
import { redisCommand } from '../lib/redis.mjs';
import {
  T, browserStack, join, openLanding, startStatic, visible, waitMatched,
  waitMediaFlowing, withFailureShots,
} from './support.mjs';

// The official client's browser bundle, from e2e's own node_modules.
const IO_BUNDLE = path.join(repoRoot, 'e2e', 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js');

// How long after matched the original's call view mounts (React renders,
// then its effect registers the listener). The server's signal delay
// (SIGNAL_DELAY_MS, 250 ms by default) covers it.
const MOUNT_DELAY_MS = 40;

// The original client's page, on an origin of its own that the server allows too.
let origDir;
let origSrv;
const stack = browserStack({
  env: async ({ url }) => {
    origDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zivro-original-'));
    fs.writeFileSync(path.join(origDir, 'index.html'),
      '<!doctype html><title>original client</title><video id="remote" autoplay playsinline muted></video>');
    origSrv = await startStatic(origDir, await freePort());
    return { CLIENT_URL: `${url},${origSrv.url}` };
  },
});
const { user, users } = stack;

after(async () => {
  if (origSrv) await origSrv.stop();
  if (origDir) fs.rmSync(origDir, { recursive: true, force: true });
});

/** The original client's call, as it behaves, run in the page. */
async function originalClient({ serverUrl, name, mountDelayMs }) {
  const st = { received: [], dropped: 0, errors: [], matched: null };
  window.__orig = st;
  const local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  // eslint-disable-next-line no-undef
  const socket = io(serverUrl);
  await new Promise((resolve) => socket.on('connect', resolve));
  // Before the call view mounts, a signal has no listener: it is lost.
  const early = () => { st.dropped += 1; };
  socket.on('signal', early);
  socket.on('matched', (m) => {
    st.matched = m;
    setTimeout(() => mount(m), mountDelayMs);
  });
  function mount(m) {
    socket.off('signal', early);
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.__origPc = pc;
    local.getTracks().forEach((t) => pc.addTrack(t, local));
    pc.ontrack = (e) => { document.getElementById('remote').srcObject = e.streams[0]; };
    pc.onicecandidate = (e) => {
      if (e.candidate) socket.emit('signal', { to: m.partnerId, data: { type: 'ice-candidate', candidate: e.candidate } });
    };
    socket.on('signal', async ({ from, data }) => {
      st.received.push(data);
      try {
        if (data.type === 'offer') {
          await pc.setRemoteDescription(new RTCSessionDescription(data.sdp));
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          socket.emit('signal', { to: from, data: { type: 'answer', sdp: answer } });
        } else if (data.type === 'answer') {
          await pc.setRemoteDescription(new RTCSessionDescription(data.sdp));
        } else if (data.type === 'ice-candidate') {
          await pc.addIceCandidate(new RTCIceCandidate(data.candidate));
        }
      } catch (e) {
        st.errors.push(`${data && data.type}: ${e}`);
      }
    });
    if (m.isInitiator) {
      (async () => {
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        socket.emit('signal', { to: m.partnerId, data: { type: 'offer', sdp: offer } });
      })().catch((e) => st.errors.push(`offer: ${e}`));
    }
  }
  socket.emit('join-queue', { name, gender: 'male', region: 'asia' });
}

async function startOriginal(u) {
  await u.page.goto(origSrv.url, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  await u.page.addScriptTag({ path: IO_BUNDLE });
  await u.page.evaluate(originalClient, { serverUrl: stack.server.url, name: u.name, mountDelayMs: MOUNT_DELAY_MS });
}

/** The original's side: remote video plays and audio comes in. */
async function waitOriginalMedia(u) {
  await u.page.waitForFunction(() => {
    const v = document.getElementById('remote');
    return v && v.videoWidth > 0 && v.currentTime > 0.3;
  }, null, { timeout: T.media, polling: 100 }).catch(async (e) => {
    throw new Error(`${u.label}: the original's remote video never played: ${e.message.split('\n')[0]}; ${JSON.stringify(await u.page.evaluate(() => window.__orig))}`);
  });
  let last;
  await until(async () => {
    const bytes = await u.page.evaluate(async () => {
      let n = 0;
      (await window.__origPc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.bytesReceived || 0; });
      return n;
    });
    const grew = last !== undefined && bytes > last;
    last = bytes;
    return grew;
  }, { timeout: 15_000, interval: 250, what: () => `${u.label}: no audio reaching the original (bytes ${last})` });
}

/** What our client sent is exactly the original's format, and nothing failed. */
async function assertOriginalFormat(u, { initiator }) {
  const st = await u.page.evaluate(() => window.__orig);
  assert.deepEqual(st.errors, [], `the original threw on what it received: ${JSON.stringify(st.errors)}`);
  assert.equal(st.matched.isInitiator, initiator);
  const types = st.received.map((d) => d.type);
  assert.ok(types.includes(initiator ? 'answer' : 'offer'), `received ${JSON.stringify(types)}`);
  for (const d of st.received) {
    assert.ok(['offer', 'answer', 'ice-candidate'].includes(d.type), `a message the original does not know: ${JSON.stringify(d)}`);
    if (d.type === 'ice-candidate') {
      assert.equal(typeof d.candidate, 'object', JSON.stringify(d));
      assert.equal(typeof d.candidate.candidate, 'string', JSON.stringify(d));
    } else {
      assert.deepEqual(Object.keys(d.sdp).sort(), ['sdp', 'type'], JSON.stringify(d));
      assert.equal(d.sdp.type, d.type);
      assert.match(d.sdp.sdp, /^v=0\r\n/);
    }
  }
  // The server held our first signals until the original was listening.
  assert.equal(st.dropped, 0, 'signals reached the original before its call view mounted');
}

/**
 * Our client's camera toggle sends the original a media-state message
 * (webrtc/mediaState.js): its if/else on the type lets it pass without an
 * error, and its call goes on.
 */
async function assertOriginalIgnoresMediaState(ours, orig) {
  await ours.tid('toggle-camera').click();
  await orig.page.waitForFunction(() => window.__orig.received.some((d) => d.type === 'media-state'), null, { timeout: T.ui });
  const st = await orig.page.evaluate(() => window.__orig);
  assert.deepEqual(st.received.filter((d) => d.type === 'media-state'), [{ type: 'media-state', video: false, audio: true }]);
  assert.deepEqual(st.errors, [], `the original threw on what it received: ${JSON.stringify(st.errors)}`);
  await ours.tid('toggle-camera').click();
  await waitOriginalMedia(orig);
  assert.equal(await orig.page.evaluate(() => window.__origPc.connectionState), 'connected');
  // Nothing from the original tells ours the partner's camera is off.
  assert.equal(await ours.tid('partner-camera-off').count(), 0);
}

const diag = async () => `--- server log tail:\n${stack.server.logs().slice(-2500)}`;

test('the original client as initiator calls our client: media flows both ways', { timeout: 150_000 }, async () => {
  const p = 'interop-orig-first';
  const orig = await user('Orig', p);
  const ours = await user('Ours', p);
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(ours, stack.url);
    await startOriginal(orig); // queued first: it waited longer, it offers
    await until(async () => (await redisCommand(stack.redis.port, 'LLEN', 'zivro:queue:list')) === 1,
      { timeout: T.server, what: () => 'the original never queued' });
    await join(ours);
    await waitMatched(ours, 'Orig');
    await Promise.all([waitMediaFlowing(ours), waitOriginalMedia(orig)]);
    await assertOriginalFormat(orig, { initiator: true });
    await assertOriginalIgnoresMediaState(ours, orig);
  });
});

test('our client as initiator calls the original client: media flows both ways', { timeout: 150_000 }, async () => {
  const p = 'interop-ours-first';
  const ours = await user('Ours', p);
  const orig = await user('Orig', p);
  await withFailureShots(p, () => users, diag, async () => {
    await openLanding(ours, stack.url);
    await join(ours);
    await visible(ours, 'queue-view');
    await startOriginal(orig);
    await waitMatched(ours, 'Orig');
    await Promise.all([waitMediaFlowing(ours), waitOriginalMedia(orig)]);
    await assertOriginalFormat(orig, { initiator: false });
  });
});
