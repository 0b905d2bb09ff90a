// The moderators' console: asks for the admin token (kept in this tab's
// sessionStorage only), then reads and acts through /admin/api/. Every
// text from the API is set as text, never as HTML.
'use strict';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let token = sessionStorage.getItem('zivro-admin-token') || '';

// el makes an element with attributes and children (strings become text).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c != null) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const when = (ms) => (ms ? new Date(ms).toLocaleString() : '');

async function api(method, path, body) {
  const res = await fetch('/admin/api/' + path, {
    method,
    headers: { Authorization: 'Bearer ' + token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401) {
    signOut('That token was refused.');
    throw new Error('unauthorized');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function show(...children) {
  main.replaceChildren(...children.flat(Infinity).filter((c) => c != null));
}

function fail(err) {
  if (err.message !== 'unauthorized') show(el('p', { class: 'error', role: 'alert' }, 'Failed: ' + err.message));
}

function signOut(message) {
  token = '';
  sessionStorage.removeItem('zivro-admin-token');
  if (message) sessionStorage.setItem('zivro-admin-message', message);
  location.hash = '';
  location.reload();
}

const DURATIONS = [
  ['1 hour', 3600e3],
  ['1 day', 86400e3],
  ['1 week', 7 * 86400e3],
  ['until lifted', 0],
];

function standing(s) {
  return [
    s.banned ? el('span', { class: 'badge ban' }, s.ban && s.ban.until ? 'banned until ' + when(s.ban.until) : 'banned') : null,
    s.coolDownUntil ? el('span', { class: 'badge cool' }, 'cooling down until ' + when(s.coolDownUntil)) : null,
  ];
}

async function reports(all) {
  const data = await api('GET', 'reports?limit=200' + (all ? '&all=1' : ''));
  const rows = data.reports.map((r) =>
    el(
      'tr',
      { class: 'row', 'data-testid': 'report-row', 'data-key': r.key, onclick: () => openKey(r.key) },
      el('td', { class: 'key' }, r.key),
      el('td', {}, String(r.reports)),
      el('td', {}, String(r.reporters)),
      el('td', {}, Object.entries(r.reasons).map(([k, n]) => el('span', { class: 'badge' }, `${k} ×${n}`))),
      el('td', {}, r.evidence ? String(r.evidence) : ''),
      el('td', {}, when(r.last)),
      el('td', {}, standing(r)),
    ),
  );
  show(
    el('h2', {}, `Reported addresses (${data.total})`),
    el('label', {}, el('input', { type: 'checkbox', id: 'all', ...(all ? { checked: '' } : {}), onclick: (e) => reports(e.target.checked).catch(fail) }), ' include dismissed'),
    rows.length
      ? el('table', {}, el('thead', {}, el('tr', {}, ['address key', 'reports', 'reporters', 'reasons', 'with evidence', 'last', 'standing'].map((h) => el('th', {}, h)))), el('tbody', {}, rows))
      : el('p', { 'data-testid': 'no-reports' }, 'No reports to review.'),
  );
}

function evidence(ev) {
  if (!ev) return el('p', {}, 'No evidence attached (or it has expired).');
  const still = ev.still ? el('img', { src: ev.still, alt: 'Still of the reported video', 'data-testid': 'evidence-still' }) : el('p', {}, 'No still.');
  const lines = el(
    'ol',
    { class: 'lines', 'data-testid': 'evidence-lines' },
    ev.lines.map((l) => el('li', { class: l.mine ? 'mine' : 'theirs', title: (l.mine ? 'reporter' : 'reported') + (l.at ? ', ' + when(l.at) : '') }, l.text)),
  );
  return [still, lines];
}

async function openKey(key) {
  location.hash = 'key=' + key;
  const data = await api('GET', 'reports/' + key);
  const note = el('input', { type: 'text', placeholder: 'note (kept in the audit log)', maxlength: '500', 'data-testid': 'ban-note' });
  const duration = el('select', { 'data-testid': 'ban-duration' }, DURATIONS.map(([label, ms]) => el('option', { value: String(ms) }, label)));
  const actions = el(
    'p',
    {},
    data.banned
      ? el('button', { class: 'act', type: 'button', 'data-testid': 'lift-ban', onclick: () => act(() => api('DELETE', 'bans/' + key), key) }, 'Lift ban')
      : [
          duration,
          ' ',
          note,
          ' ',
          el('button', { class: 'act danger', type: 'button', 'data-testid': 'ban', onclick: () => act(() => api('POST', 'bans', { key, durationMs: Number(duration.value), note: note.value }), key) }, 'Ban'),
        ],
    el('button', { class: 'act', type: 'button', 'data-testid': 'dismiss', onclick: () => act(() => api('POST', 'reports/' + key + '/dismiss'), null) }, 'Dismiss reports'),
    data.coolDownUntil ? el('button', { class: 'act', type: 'button', 'data-testid': 'lift-cool-down', onclick: () => act(() => api('DELETE', 'cooldowns/' + key), key) }, 'Lift cool-down') : null,
    el('button', { class: 'act', type: 'button', onclick: () => go('reports') }, 'Back'),
  );
  show(
    el('h2', {}, 'Address ', el('span', { class: 'key', 'data-testid': 'open-key' }, key), ' ', standing(data)),
    actions,
    el('p', { role: 'status', 'data-testid': 'status' }),
    data.reports.map((r) =>
      el(
        'section',
        { class: 'report', 'data-testid': 'report' },
        el('div', {}, el('strong', {}, r.reason), el('br'), when(r.at), el('br'), el('span', { class: 'key' }, 'by ' + r.reporter)),
        evidence(r.evidence),
      ),
    ),
  );
}

// act runs a moderator action, then shows the address again (or the list).
async function act(run, reopen) {
  try {
    await run();
    if (reopen) await openKey(reopen);
    else await go('reports');
  } catch (err) {
    fail(err);
  }
}

async function bans() {
  const data = await api('GET', 'bans');
  show(
    el('h2', {}, `Bans (${data.bans.length})`),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ['address key', 'until', 'note', 'by', 'when', ''].map((h) => el('th', {}, h)))),
      el(
        'tbody',
        {},
        data.bans.map((b) =>
          el(
            'tr',
            { 'data-testid': 'ban-row', 'data-key': b.key },
            el('td', { class: 'key' }, b.key),
            el('td', {}, b.until ? when(b.until) : 'lifted by hand'),
            el('td', {}, b.note || ''),
            el('td', {}, b.by),
            el('td', {}, when(b.at)),
            el('td', {}, el('button', { class: 'act', type: 'button', 'data-testid': 'lift', onclick: () => act(() => api('DELETE', 'bans/' + b.key), null).then(() => go('bans')) }, 'Lift')),
          ),
        ),
      ),
    ),
  );
}

async function audit() {
  const data = await api('GET', 'audit?limit=200');
  show(
    el('h2', {}, 'Audit log'),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ['when', 'who', 'action', 'address key', 'note'].map((h) => el('th', {}, h)))),
      el(
        'tbody',
        {},
        data.entries.map((e) => el('tr', { 'data-testid': 'audit-row' }, el('td', {}, when(e.at)), el('td', {}, e.by), el('td', {}, e.action), el('td', { class: 'key' }, e.key), el('td', {}, e.note || ''))),
      ),
    ),
  );
}

const views = { reports: () => reports(false), bans, audit, logout: () => signOut() };

async function go(view) {
  for (const b of nav.querySelectorAll('button')) b.setAttribute('aria-current', b.dataset.view === view ? 'page' : 'false');
  if (view !== 'logout') location.hash = view;
  try {
    await views[view]();
  } catch (err) {
    fail(err);
  }
}

function start() {
  nav.hidden = false;
  const key = /^#key=([0-9a-f]{32})$/.exec(location.hash);
  if (key) openKey(key[1]).catch(fail);
  else go(location.hash.slice(1) in views ? location.hash.slice(1) : 'reports');
}

nav.addEventListener('click', (e) => {
  const view = e.target.dataset && e.target.dataset.view;
  if (view) go(view);
});

const login = document.getElementById('login');
const message = sessionStorage.getItem('zivro-admin-message');
if (message) {
  document.getElementById('login-error').textContent = message;
  sessionStorage.removeItem('zivro-admin-message');
}
login.addEventListener('submit', (e) => {
  e.preventDefault();
  token = document.getElementById('token').value.trim();
  sessionStorage.setItem('zivro-admin-token', token);
  start();
});
if (token) start();
