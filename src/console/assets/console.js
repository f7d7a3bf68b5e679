// The operator console: plain browser JavaScript, no build step, no library. Every piece of
// data reaches the page through h()/text() below, as text nodes — never as HTML (the page's
// Trusted Types policy makes an innerHTML assignment throw). Calls go to Floorplan's admin API
// with the token from sessionStorage in an Authorization header; the token is never a cookie
// and never in a URL.

import { rolloutChanges, whom } from './rollout-words.js';

const TOKEN_KEY = 'floorplan.console.token';
const DEMO_USERS = [
  { userId: 'u1001', segments: 'plus', label: 'u1001 — the seed panel (PLUS)' },
  { userId: 'u-basic', segments: '', label: 'u-basic — not PLUS, pays shipping' },
  { userId: 'u-mj', segments: '', label: 'u-mj — 满199减20 campaign' },
  { userId: 'u-empty', segments: '', label: 'u-empty — empty cart' },
  { userId: 'u-bulk', segments: '', label: 'u-bulk — 200 lines' },
  { userId: 'u-big', segments: '', label: 'u-big — amounts beyond 2^31' },
];
/** Bidirectional control characters: shown as visible markers, so a title cannot reorder what the operator reads. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes (textContent), never HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : text(String(child)));
  }
  return el;
}

/** Text from data: bidi controls become visible "[U+202E]" markers; the rest is a text node. */
function text(value) {
  const s = String(value);
  if (!BIDI_CONTROLS.test(s)) return document.createTextNode(s);
  BIDI_CONTROLS.lastIndex = 0;
  const span = document.createElement('span');
  let at = 0;
  for (const match of s.matchAll(BIDI_CONTROLS)) {
    span.append(document.createTextNode(s.slice(at, match.index)));
    const code = match[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    span.append(h('mark', { class: 'control', title: 'bidirectional control character' }, `[U+${code}]`));
    at = match.index + match[0].length;
  }
  span.append(document.createTextNode(s.slice(at)));
  return span;
}

function replace(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false).map((c) => (c instanceof Node ? c : text(String(c)))));
}

// ------------------------------------------------------------------ API

/** `status` 0: no answer came (the server or the network is down). */
class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * The admin routes that only read (a viewer may call them): when one gets no answer, nothing was
 * changed. Any other call may have reached the server and been done before the answer was lost.
 */
const READS = new Set([
  '/admin/session',
  '/admin/console-info',
  '/admin/preview',
  '/admin/flags',
  ...['history', 'show', 'diff', 'audit', 'check', 'candidates', 'shadow'].map((op) => `/admin/layouts/${op}`),
]);

/**
 * What to tell the operator when `path` got no answer, or one without Floorplan's JSON (a proxy's
 * 502): the browser's own "Failed to fetch" says neither what failed nor whether the change was
 * made — and for a change, this page cannot know.
 */
function unanswered(path, what) {
  if (READS.has(path)) return `${what} (the server or the network is down): nothing was changed. Try again once it answers.`;
  return `${what}, or its answer was lost on the way (the server or the network is down): whether this change was made is not known. Once it answers again, reload the page (the history and the audit show what was done) before trying again.`;
}

async function api(path, body = {}, token = sessionStorage.getItem(TOKEN_KEY)) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? ''}` },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { error: unanswered(path, 'Floorplan could not be reached') });
  }
  let answer = null;
  try {
    answer = await res.json();
  } catch {
    answer = null;
  }
  if (res.status === 401 && path !== '/admin/session') signOut('Signed out: the token is no longer accepted.');
  if (!res.ok) {
    const retry = res.headers.get('retry-after');
    // Floorplan always explains a refusal in JSON; an answer without one came from something in between.
    const said = answer?.error === undefined ? { ...answer, error: unanswered(path, `Floorplan's answer was HTTP ${res.status} without its explanation (from a proxy in between?)`) } : answer;
    throw new ApiError(res.status, retry ? { ...said, retryAfter: retry } : said);
  }
  return answer;
}

function showError(el, error) {
  const problems = error?.body?.problems;
  replace(el, error.message, Array.isArray(problems) && problems.length > 0 ? h('ul', { class: 'problems' }, problems.map((p) => h('li', null, p))) : null);
}

// ------------------------------------------------------------------ session

// Per-operator state: who is signed in, what the server said of itself, the releases last read, and
// the set being prepared for publishing (file name → YAML text). signOut() forgets all of it, so the
// next operator to sign in on this tab inherits nothing — least of all an unfinished draft.
let session = null;
let info = null;
let history = null;
const draft = new Map();
/**
 * The message typed in a candidate confirmation the server refused, by action and scene (`path scene`):
 * the next confirmation of it starts from those words rather than the default.
 */
const unsentMessages = new Map();
/** What #candidates says before anything was read (a Floorplan without candidate operations keeps it). */
const CANDIDATES_NOTE = $('candidates').textContent;

async function signIn(token) {
  const who = await api('/admin/session', {}, token);
  sessionStorage.setItem(TOKEN_KEY, token);
  session = who;
  info = await api('/admin/console-info');
  $('login').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  $('sign-out').hidden = false;
  replace($('who'), `Signed in as ${who.identity} (${who.role})`);
  document.body.dataset.role = who.role;
  setUpPreviewForm();
  selectTab('preview');
  await runPreview();
}

function signOut(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  session = null;
  info = null;
  history = null;
  draft.clear();
  unsentMessages.clear();
  if ($('confirm').open) $('confirm').close();
  // What the page showed this operator: the next one reads it again under their own identity.
  for (const id of ['who', 'preview-error', 'preview-result', 'demo-users', 'releases-error', 'history', 'diff', 'candidates-message', 'shadow', 'publish', 'audit', 'flags-error', 'flags']) replace($(id));
  replace($('candidates'), CANDIDATES_NOTE);
  $('preview-form').reset();
  $('diff-form').reset();
  $('app').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('login').hidden = false;
  replace($('login-error'), message);
  $('token').value = '';
  $('token').focus();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = $('token').value.trim();
  replace($('login-error'));
  try {
    await signIn(token);
  } catch (error) {
    if (error.status === 401) replace($('login-error'), 'That token is not accepted.');
    else if (error.status === 429) replace($('login-error'), `Too many wrong tokens from this address: retry after ${error.body?.retryAfter ?? 'a while'} s.`);
    else showError($('login-error'), error);
  }
});
$('sign-out').addEventListener('click', () => signOut());

// ------------------------------------------------------------------ tabs

const TABS = ['preview', 'releases', 'flags'];
function selectTab(name) {
  for (const tab of TABS) {
    const selected = tab === name;
    $(`tab-${tab}`).setAttribute('aria-selected', String(selected));
    $(`tab-${tab}`).tabIndex = selected ? 0 : -1;
    $(`panel-${tab}`).hidden = !selected;
  }
  if (name === 'releases') void loadReleases();
  if (name === 'flags') void loadFlags();
}
for (const tab of TABS) {
  $(`tab-${tab}`).addEventListener('click', () => selectTab(tab));
  $(`tab-${tab}`).addEventListener('keydown', (event) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    const next = TABS[(TABS.indexOf(tab) + step + TABS.length) % TABS.length];
    selectTab(next);
    $(`tab-${next}`).focus();
  });
}

// ------------------------------------------------------------------ preview

function setUpPreviewForm() {
  replace($('pv-scene'), info.scenes.map((s) => h('option', { value: s.scene }, s.scene)));
  replace($('pv-locale'), info.locales.map((l) => h('option', { value: l }, l)));
  replace(
    $('demo-users'),
    h('span', { class: 'label' }, 'Demo users:'),
    DEMO_USERS.map((u) =>
      h('button', {
        type: 'button',
        'data-user': u.userId,
        onclick: () => {
          $('pv-user').value = u.userId;
          $('pv-segments').value = u.segments;
          // A selection names one cart's SKUs: another user's cart would refuse it.
          $('pv-skus').value = '';
          void runPreview();
        },
      }, u.label),
    ),
  );
}

function previewRequest() {
  const value = (id) => $(id).value.trim();
  const request = {
    scene: value('pv-scene'),
    userId: value('pv-user'),
    segments: userIds(value('pv-segments')),
    locale: value('pv-locale'),
  };
  if (value('pv-platform')) request.platform = value('pv-platform');
  if (value('pv-version')) request.appVersion = value('pv-version');
  if (value('pv-session')) request.sessionId = value('pv-session');
  const skus = selectedSkuIds($('pv-skus').value);
  if (skus !== null) request.selectedSkuIds = skus;
  return request;
}

/**
 * The selection typed in the preview form, as /admin/preview takes it: SKU ids separated by commas
 * or new lines, or a decision record's `selectedSkuIds` pasted as it is (a JSON list; `[]` selects
 * none); null when nothing is typed (the lines ticked in the cart). What is in the list is the
 * server's to judge: its refusal (a SKU not in the cart, too many) is shown as it words it.
 */
function selectedSkuIds(typed) {
  const text = typed.trim();
  if (text === '' || text === 'null') return null;
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`Selected SKUs must be SKU ids separated by commas or new lines, or a JSON list such as ["sku-a", "sku-b"], but got: ${text}`);
    }
  }
  return text.split(/[,，\r\n]+/u).map((id) => id.trim()).filter(Boolean);
}

/** Which selection the preview priced: as asked, or the lines ticked in the cart, with their SKUs. */
function selectionNote(answer) {
  const skus = (ids) => (ids.length === 0 ? 'none' : ids.join(', '));
  const priced = answer.previewedSkuIds === null ? ' (the cart could not be read)' : '';
  const what =
    answer.selectedSkuIds === null
      ? `the lines ticked in the cart${answer.previewedSkuIds === null ? '' : `: ${skus(answer.previewedSkuIds)}`}`
      : `${skus(answer.selectedSkuIds)}${priced}`;
  return h('p', { class: 'note', 'data-testid': 'selection' }, `Selection previewed: ${what}.`);
}

$('preview-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void runPreview();
});

async function runPreview() {
  replace($('preview-error'));
  try {
    // "both": with a candidate, the scene's live layout and its candidate for this same user, from one set of loaders.
    const answer = await api('/admin/preview', { ...previewRequest(), layout: 'both' });
    const candidate = answer.candidate ?? null;
    replace(
      $('preview-result'),
      selectionNote(answer),
      candidate === null
        ? null
        : h('p', { class: 'note', 'data-testid': 'candidate-note' }, `Scene ${answer.scene} has a candidate, revision ${candidate.revision} (flag ${candidate.flag}): this user ${candidate.served ? 'gets it' : 'does not get it and sees the live layout'}.`),
      h('div', { class: 'columns' }, answer.panels.map((p) => previewColumn(answer, p))),
    );
  } catch (error) {
    replace($('preview-result'));
    showError($('preview-error'), error);
  }
}

/** One panel of the preview: the live layout ("Current") or the candidate, with whether this user gets it. */
function previewColumn(answer, p) {
  const title = p.layout === 'candidate' ? `Candidate (revision ${answer.candidate.revision})` : 'Current';
  return h(
    'section',
    { class: `column${p.served ? ' served' : ''}`, 'aria-label': `${title} layout`, 'data-layout': p.layout },
    h('h3', null, `${title}: ${answer.scene} ${p.layoutVersion}`),
    answer.panels.length > 1 ? h('p', { class: 'served-note', 'data-testid': 'served' }, p.served ? 'This user gets this layout.' : 'Not served to this user.') : null,
    h('div', { class: 'phone-and-why' }, phone(answer, p), explanation(p), repairedRows(p)),
  );
}

function phone(answer, p) {
  const rows = [...p.panel].sort((a, b) => a.sort - b.sort);
  return h(
    'figure',
    { class: 'phone', 'aria-label': 'The panel as the app renders it' },
    h('div', { class: 'notch', 'aria-hidden': 'true' }),
    h('figcaption', null, `${answer.viewer.userId} · ${p.locale}${p.degraded ? ' · degraded' : ''}`),
    h(
      'ol',
      { class: 'floors', 'data-testid': 'floors' },
      rows.map((f) => {
        const known = f.style.filter((s) => ['bold', 'muted', 'emphasis'].includes(s));
        return h(
          'li',
          { class: ['floor', ...known.map((s) => `style-${s}`)].join(' '), 'data-code': f.code, 'data-sort': f.sort },
          h('span', { class: 'name', dir: 'auto' }, f.name),
          h('span', { class: 'price', dir: 'auto' }, f.priceText ?? ''),
          f.subName === null ? null : h('span', { class: 'sub', dir: 'auto' }, f.subName),
          f.style.length > 0 ? h('span', { class: 'tokens' }, f.style.join(' ')) : null,
        );
      }),
    ),
    invariant(p),
  );
}

/** The server's verdict on GOODS + DEDUCTION + CHARGE = PAYABLE (src/panels/money-invariant.ts): the one promote goes by. */
function invariant(p) {
  const v = p.invariant;
  const reasons = p.degradedReasons.length > 0 ? ` · degraded: ${p.degradedReasons.join(', ')}${p.failedUpstreams.length ? ` (${p.failedUpstreams.join(', ')})` : ''}` : '';
  return h('p', { class: `invariant ${v.holds ? 'ok' : 'bad'}`, 'data-testid': 'invariant' }, `Money invariant ${v.holds ? 'holds' : 'VIOLATED'}: ${v.summary}${reasons}`);
}

/** What the repair table shows, by the repair's form. */
const CAPTIONS = {
  'total-only': 'Rows built, left out: only the total is served',
  'no-total': "Rows built: the total, not settlement's payable, is left out",
  'other-rows': 'Rows built, and the "other" rows the renderer added',
};

/**
 * The rows as the floors built them, when the renderer repaired the panel (PARTIAL_BREAKDOWN):
 * the phone shows the repaired sheet, so this is where the row that broke it can be seen. Rows
 * of a kind that shows more than the quote has, and goods rows that are not its goods, are marked.
 */
function repairedRows(p) {
  const r = p.invariant.repair;
  if (!r || r.form === 'sub-name') return null;
  const over = new Set(r.overclaimed.map((c) => c.kind));
  // A goods row that is not the quote's goods total is marked as the rows of a kind that claims more are.
  const off = new Set((r.disagreed ?? []).flatMap((d) => d.codes));
  const row = (f, label, cls) =>
    h('tr', { class: cls, 'data-code': f.code }, h('th', { scope: 'row' }, label), h('td', null, f.kind), h('td', { class: 'amount' }, f.minor));
  return h(
    'table',
    { class: 'repair', 'data-testid': 'repair' },
    h('caption', null, CAPTIONS[r.form] ?? CAPTIONS['other-rows']),
    h('thead', null, h('tr', null, ['Floor', 'Kind', 'Amount (minor units)'].map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      null,
      r.rows.map((f) => row(f, f.code, over.has(f.kind) || off.has(f.code) ? 'over' : null)),
      r.added.map((f) => row(f, `${f.code} (added)`, 'added')),
    ),
  );
}

function explanation(p) {
  return h(
    'table',
    { class: 'why' },
    h('caption', null, 'Why each floor is shown or hidden'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Floor'), h('th', { scope: 'col' }, 'Sort'), h('th', { scope: 'col' }, 'Shown'), h('th', { scope: 'col' }, 'Why'))),
    h(
      'tbody',
      null,
      p.floors.map((f) =>
        h(
          'tr',
          { class: f.shown ? 'shown' : 'hidden', 'data-code': f.code },
          h('th', { scope: 'row' }, f.code),
          h('td', null, String(f.sort)),
          h('td', null, f.shown ? 'yes' : 'no'),
          h('td', null, f.why, f.flag ? h('div', { class: 'flag' }, `${f.flag.flag}: ${f.flag.summary}`) : null),
        ),
      ),
    ),
  );
}

// ------------------------------------------------------------------ releases

async function loadReleases() {
  replace($('releases-error'));
  try {
    history = await api('/admin/layouts/history', { limit: 50 });
    renderHistory();
    renderPublish();
    const audit = await api('/admin/layouts/audit', { limit: 50 });
    renderAudit(audit.entries);
    await loadCandidates();
  } catch (error) {
    if (error.status === 404) replace($('releases-error'), 'This Floorplan keeps no layout revisions (layouts.store.kind is none): there is no history to show or publish to.');
    else {
      showError($('releases-error'), error);
      replace($('candidates'), 'The candidates cannot be read while the layout revisions cannot (see above).');
    }
  }
}

const isPublisher = () => session?.role === 'publisher';

function renderHistory() {
  if (history.revisions.length === 0) {
    replace($('history'), h('p', null, 'Nothing published yet: Floorplan serves the floors files it started with.'));
    return;
  }
  replace(
    $('history'),
    h(
      'table',
      { class: 'history' },
      h('thead', null, h('tr', null, ['Revision', 'Time', 'Author', 'Message', 'Parent', 'Content', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        history.revisions.map((r) =>
          h(
            'tr',
            { 'data-revision': r.revision, class: r.revision === history.live ? 'live' : '' },
            h('th', { scope: 'row' }, `${r.revision}${r.revision === history.live ? ' (live)' : ''}`),
            h('td', null, new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19)),
            h('td', null, r.author),
            h('td', null, r.message, r.rollbackOf ? h('div', { class: 'note' }, `restores revision ${r.rollbackOf}`) : null),
            h('td', null, r.parent === null ? '—' : String(r.parent)),
            h('td', null, h('code', null, r.contentHash.slice(0, 12))),
            h(
              'td',
              { class: 'actions' },
              r.parent === null ? null : h('button', { type: 'button', onclick: () => void showDiff(r.parent, r.revision) }, `Diff ${r.parent} → ${r.revision}`),
              isPublisher() && r.revision !== history.live ? h('button', { type: 'button', 'data-action': 'rollback', onclick: () => void confirmRollback(r) }, `Roll back to ${r.revision}`) : null,
            ),
          ),
        ),
      ),
    ),
  );
  if (!$('diff-to').value && history.live !== null) $('diff-to').value = history.live;
}

$('diff-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void showDiff(Number($('diff-from').value), Number($('diff-to').value));
});

async function showDiff(from, to) {
  $('diff-from').value = from;
  $('diff-to').value = to;
  try {
    const answer = await api('/admin/layouts/diff', { from, to });
    replace($('diff'), h('h4', null, `Revision ${answer.from} → ${answer.to}`), diffView(answer.diff));
  } catch (error) {
    showError($('diff'), error);
  }
}

const show = (value) => (value === undefined ? '(not set)' : JSON.stringify(value));

/** A semantic diff as a list: per scene (and variant), the floors added, removed, reordered and each field changed. */
function diffView(diff) {
  if (diff.scenes.length === 0 && diff.unreadable.length === 0) return h('p', { class: 'diff-empty' }, 'No difference in the floors.');
  return h(
    'ul',
    { class: 'diff', 'data-testid': 'diff' },
    diff.scenes.map((s) => {
      const where = s.variant ? `${s.scene} (variant ${s.variant})` : s.scene;
      const lines = [];
      if (s.status !== 'changed') lines.push(`scene ${s.status}`);
      if (s.version) lines.push(`version: ${show(s.version.from)} → ${show(s.version.to)}`);
      for (const code of s.added) lines.push(`floor ${code} added`);
      for (const code of s.removed) lines.push(`floor ${code} removed`);
      if (s.reordered) lines.push(`floors reordered: ${s.reordered.from.join(' ')} → ${s.reordered.to.join(' ')}`);
      for (const c of s.changed) lines.push(`floor ${c.code} ${c.field}${c.locale ? `[${c.locale}]` : ''}: ${show(c.from)} → ${show(c.to)}`);
      return h('li', null, h('strong', null, where), h('ul', null, lines.map((l) => h('li', null, l))));
    }),
    diff.unreadable.map((u) => h('li', null, `not comparable: ${u}`)),
  );
}

/**
 * What every live app version would get from a set — the matrix of POST /admin/layouts/check
 * and of a FLOORPLAN_ERR_LAYOUT_INCOMPATIBLE refusal, worded as `floors:check` prints it
 * (src/layouts/compatibility.ts): one row per platform's version × scene, a version below the
 * oldest supported once. `scene` keeps that scene's rows only; a refused matrix opens by itself.
 */
function compatibilityView(report, scene) {
  if (!report) return null;
  if (report.skipped) return h('p', { class: 'hint', 'data-testid': 'compatibility' }, `Live app versions: not checked, ${report.skipped}.`);
  const rows = [];
  const unchecked = new Set();
  let refused = 0;
  for (const row of report.rows) {
    if (scene && row.scene !== scene) continue;
    if (!row.checked) {
      if (unchecked.has(`${row.platform} ${row.version}`)) continue;
      unchecked.add(`${row.platform} ${row.version}`);
      rows.push(h('tr', { 'data-status': 'unchecked' }, h('td', null, 'unchecked'), h('td', null, row.platform), h('td', null, row.version), h('td', null, '(every scene)'), h('td', null, row.summary)));
      continue;
    }
    const bad = row.problems.length > 0;
    if (bad) refused++;
    rows.push(
      h(
        'tr',
        { 'data-status': bad ? 'refused' : 'ok', class: bad ? 'refused' : null },
        h('td', null, bad ? 'REFUSED' : 'ok'),
        h('td', null, row.platform),
        h('td', null, row.version),
        h('td', null, row.variant === null ? row.scene : `${row.scene} (${row.variant})`),
        h('td', null, row.summary, bad ? h('ul', { class: 'problems' }, row.problems.map((p) => h('li', null, p.message))) : null),
      ),
    );
  }
  const checked = rows.length - unchecked.size;
  return h(
    'details',
    { class: 'compatibility', 'data-testid': 'compatibility', open: refused > 0 },
    h('summary', null, `What each live app version would get (${report.clientsFile}): ${refused === 0 ? `all ${checked} ok` : `${refused} of ${checked} refused`}`),
    h('table', null, h('thead', null, h('tr', null, ['', 'platform', 'version', 'scene', 'what it would get'].map((c) => h('th', { scope: 'col' }, c)))), h('tbody', null, rows)),
  );
}

// A confirmation that says what changes for whom before anything is sent. `options.ok` names the
// confirm button; `options.acknowledge`, a sentence (or a list of them: one per risk it overrides)
// the operator must tick, each, before it is enabled; `options.refused`, true when the body says
// Floorplan will refuse it: the button stays disabled (Cancel only).
function confirmDialog(title, body, defaultMessage, options = {}) {
  const dialog = $('confirm');
  const ok = $('confirm-ok');
  const sentences = options.acknowledge === undefined ? [] : [options.acknowledge].flat();
  const ticks = sentences.map((_, i) => h('input', { type: 'checkbox', id: i === 0 ? 'confirm-acknowledge' : `confirm-acknowledge-${i + 1}`, onchange: () => (ok.disabled = options.refused === true || !ticks.every((t) => t.checked)) }));
  replace($('confirm-title'), title);
  replace($('confirm-body'), body, ticks.map((tick, i) => h('label', { class: 'acknowledge', for: tick.id }, tick, sentences[i])));
  replace(ok, options.ok ?? 'Confirm');
  ok.disabled = ticks.length > 0 || options.refused === true;
  $('confirm-message').value = defaultMessage;
  return new Promise((resolve) => {
    const done = (confirmed) => {
      ok.onclick = null;
      $('confirm-cancel').onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      ok.disabled = false;
      resolve(confirmed ? $('confirm-message').value : null);
    };
    ok.onclick = () => done(true);
    $('confirm-cancel').onclick = () => done(false);
    dialog.onclose = () => done(false);
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

/**
 * The revision live now, read again: another operator may have published or rolled back since
 * this page loaded, and a confirmation must say what changes from what is live, not from what
 * the page shows. A page found stale is reloaded.
 */
async function currentLive() {
  const { live } = await api('/admin/layouts/history', { limit: 1 });
  if (live !== history.live) await loadReleases();
  return live;
}

/**
 * The candidates a publish or rollback of live meets, read afresh, as live is: another admin may
 * have made or widened one since. `stranded`: every candidate of a scene in `dropped`, the scenes
 * the change takes off the air — Floorplan refuses such a change (FLOORPLAN_ERR_LAYOUT_SCENE_HAS_CANDIDATE),
 * whatever the rollout, since live serving no such scene, its users would be refused it. `served`:
 * the other candidates of `scenes` whose rollout reaches anyone — a change of live, by design, does
 * not reach their users, so a confirmation saying "every user" must say who keeps the candidate.
 */
async function candidatesMet(scenes, dropped) {
  let answer;
  try {
    answer = await api('/admin/layouts/candidates');
  } catch (error) {
    if (error.status === 404) return { served: [], stranded: [] }; // a Floorplan without candidate operations
    throw error;
  }
  const stranded = answer.candidates.filter((c) => dropped.includes(c.scene));
  const served = answer.candidates.filter((c) => !dropped.includes(c.scene) && scenes.includes(c.scene) && (c.rollout.allowList.length > 0 || c.rollout.percentage > 0));
  return { served, stranded };
}

/** The scenes a diff of live takes off the air: removed whole, not one of their variants. */
const droppedScenes = (diff) => diff.scenes.filter((s) => s.status === 'removed' && s.variant === undefined).map((s) => s.scene);

/**
 * Why Floorplan will refuse this change (`what`: "publish", "rollback"), before it is sent: each
 * scene it takes off the air has a candidate. `keep`: what else than aborting would do.
 */
function strandedView(stranded, what, keep) {
  if (stranded.length === 0) return null;
  return h(
    'div',
    { 'data-testid': 'scene-has-candidate', class: 'error', role: 'alert' },
    stranded.map((c) =>
      h(
        'p',
        null,
        `${c.scene} has a candidate (revision ${c.revision}), served to ${whom(c.rollout)}: Floorplan will refuse this ${what}, which would take ${c.scene} off the air and refuse the scene to the candidate's users. Abort the candidate under Candidates first${keep(c.scene)}.`,
      ),
    ),
  );
}

/**
 * "Every user who opens cart-bottom-sheet gets the floors below…": whom a change of live reaches,
 * but for the users `served` candidates keep. A scene in `dropped` is not among them: live serves
 * it no more, so apps opening it are refused it (BAD_USER_INPUT), and `offAirView` says so.
 */
function whoGetsLive(scenes, dropped, served, same) {
  const kept = scenes.filter((scene) => !dropped.includes(scene));
  if (kept.length === 0) return dropped.length === 0 ? same : '';
  return `Every user who opens ${kept.join(', ')} gets the floors below, on every replica within about 2 s${served.length > 0 ? ', except the users a candidate still serves' : ''}.`;
}

/** The scene a floors file defines: its name, as the server holds every file to it. */
const sceneOfFile = (name) => name.replace(/\.ya?ml$/, '');

/**
 * The scenes a change takes off the air and what their users get instead: a refusal. A scene with
 * a candidate is left to `strandedView`, which says the change will be refused for it. `leftOut`:
 * a publish's live files that its set does not hold, named as why their scenes go.
 */
function offAirView(dropped, stranded, leftOut = []) {
  const off = dropped.filter((scene) => !stranded.some((c) => c.scene === scene));
  if (off.length === 0) return null;
  const files = leftOut.filter((name) => off.includes(sceneOfFile(name)));
  const why = files.length === 0 ? '' : ` (${files.join(', ')} ${files.length === 1 ? 'is' : 'are'} not in this set)`;
  return h(
    'p',
    { class: 'error', 'data-testid': 'scenes-off-air' },
    `This takes ${off.join(', ')} off the air${why}: every user who opens ${off.length === 1 ? 'it' : 'one of them'} is refused the scene, on every replica within about 2 s.`,
  );
}

/** Each candidate still served, to whom, and the way to give its users the new floors too (Abort). */
function candidatesServedView(served) {
  if (served.length === 0) return null;
  return h(
    'div',
    { 'data-testid': 'candidates-served', class: 'error' },
    served.map((c) => h('p', null, `${c.scene}: its candidate (revision ${c.revision}) is still served to ${whom(c.rollout)}, who keep getting it, not these floors. Abort it under Candidates to give them these.`)),
  );
}

async function confirmRollback(target) {
  replace($('releases-error'));
  let diff;
  let live;
  let keptFromLive;
  let served;
  let stranded;
  try {
    await currentLive();
    // The server's own answer of what the rollback makes live: a revision that was never live is
    // completed with live's scenes it does not hold, so diffing the stored revision would overstate.
    ({ from: live, diff, keptFromLive } = await api('/admin/layouts/diff', { to: target.revision, rollback: true }));
    ({ served, stranded } = await candidatesMet([...new Set(diff.scenes.map((s) => s.scene))], droppedScenes(diff)));
  } catch (error) {
    showError($('releases-error'), error);
    return;
  }
  const scenes = [...new Set(diff.scenes.map((s) => s.scene))];
  const dropped = droppedScenes(diff);
  const who = whoGetsLive(scenes, dropped, served, 'Nobody sees a difference: the floors are the same.');
  const kept = keptFromLive.length === 0 ? null : h('p', { 'data-testid': 'kept-from-live' }, `Revision ${target.revision} was never live and holds no ${keptFromLive.join(', ')}: live's stay as they are.`);
  const message = await confirmDialog(
    `Roll back from revision ${live} to revision ${target.revision}?`,
    [
      h('p', null, `A new revision restoring revision ${target.revision} ("${target.message}") becomes live. ${who}`),
      offAirView(dropped, stranded),
      strandedView(stranded, 'rollback', () => ', then roll back'),
      candidatesServedView(served),
      kept,
      h('p', null, `What changes (revision ${live} → ${target.revision}):`),
      diffView(diff),
    ],
    `rollback to revision ${target.revision}`,
    { refused: stranded.length > 0 },
  );
  if (message === null) return;
  try {
    // `from`: refused if live moved again while the dialog was open.
    const result = await api('/admin/layouts/rollback', { revision: target.revision, message, from: live });
    replace($('releases-error'));
    await loadReleases();
    flash(`Rolled back: revision ${result.revision.revision} is live (restores ${target.revision}).`);
  } catch (error) {
    await reloadIfStale(error);
    showError($('releases-error'), error);
  }
}

// ------------------------------------------------------------------ candidates

const PROMOTE_REFUSED = 'FLOORPLAN_ERR_LAYOUT_PROMOTE_REFUSED';

/** Whether two lists hold the same entries, in any order (who a rollout selects does not depend on it). */
const sameEntries = (a, b) => a.length === b.length && a.every((v) => b.includes(v)) && b.every((v) => a.includes(v));

/** Whether two values of one rollout field select differently (lists in any order). */
const differs = (a, b) => (Array.isArray(a) ? !sameEntries(a, b) : a !== b);

/**
 * A list as an operator types it: split on spaces, commas — a Chinese IME types the full-width ，
 * — the ideographic comma 、 and semicolons (; ；), none of which a user id, segment or platform
 * holds. "u1001，u2002" is two users; kept as one, it would reach nobody (the server refuses it).
 */
const userIds = (value) => value.split(/[\s,，、;；]+/u).filter(Boolean);

/**
 * A rollout's fields as the row's inputs name them: each value in words (an empty allow-list is
 * "nobody", an empty constraint "any"), and `typed`, an input's text as the value it sends.
 */
const ROLLOUT_FIELDS = [
  { field: 'allowList', words: 'allow-list', shown: (v) => (v.length ? v.join(', ') : 'nobody'), typed: userIds },
  { field: 'percentage', words: 'percentage', shown: (v) => `${v} %`, typed: (text) => Number(text || 0) },
  { field: 'segments', words: 'segments', shown: (v) => (v.length ? v.join(', ') : 'any'), typed: userIds },
  { field: 'platforms', words: 'platforms', shown: (v) => (v.length ? v.join(', ') : 'any'), typed: userIds },
  { field: 'minAppVersion', words: 'app ≥', shown: (v) => v ?? 'any', typed: (text) => (text.trim() === '' ? null : text.trim()) },
];

/** What differs from rollout `before` to rollout `after`, in words: "percentage 0 % → 50 %; segments any → plus"; empty when nothing. */
function rolloutDifferences(before, after) {
  return ROLLOUT_FIELDS.filter(({ field }) => differs(before[field], after[field]))
    .map(({ field, words, shown }) => `${words} ${shown(before[field])} → ${shown(after[field])}`)
    .join('; ');
}

/** How many floors of `scene` a diff adds, removes or changes, and whether it reorders them. */
function floorsChanged(diff, scene) {
  const codes = new Set();
  let reordered = false;
  for (const s of diff.scenes.filter((d) => d.scene === scene)) {
    for (const code of [...s.added, ...s.removed, ...s.changed.map((c) => c.code)]) codes.add(code);
    if (s.reordered) reordered = true;
  }
  return `${codes.size} floor${codes.size === 1 ? '' : 's'} changed${reordered ? ', order changed' : ''}`;
}

const sceneDiff = (diff, scene) => ({ ...diff, scenes: diff.scenes.filter((s) => s.scene === scene) });

async function loadCandidates() {
  let answer;
  try {
    answer = await api('/admin/layouts/candidates');
  } catch (error) {
    if (error.status === 404) return; // a Floorplan without candidate operations: the page's note stays
    throw error;
  }
  // Read just before the rows are rebuilt: a reload (another admin's change, a refusal) keeps what the operator typed.
  const unsent = unsentRolloutEdits();
  if (answer.candidates.length === 0) {
    replace($('candidates'), `No scene has a candidate now.${isPublisher() ? ' Make one from a floors set below (Publish a floors set).' : ''}`);
    replace($('shadow'));
    return;
  }
  replace(
    $('candidates'),
    h(
      'table',
      { class: 'candidates' },
      h('thead', null, h('tr', null, ['Scene', 'Revision', 'Who gets it', 'By', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, answer.candidates.map((c) => candidateRow(c, unsent.get(c.scene)))),
    ),
  );
}

/**
 * What the operator typed in each candidate row's rollout inputs and has not sent — an input
 * whose text is not the one the row was built with — by scene, as typed.
 */
function unsentRolloutEdits() {
  const edits = new Map();
  for (const row of document.querySelectorAll('#candidates tr[data-scene]')) {
    const typed = [...row.querySelectorAll('.rollout-form input')].filter((input) => input.value !== input.defaultValue);
    if (typed.length > 0) edits.set(row.dataset.scene, Object.fromEntries(typed.map((input) => [input.name, input.value])));
  }
  return edits;
}

/**
 * A candidate's row. `unsent`: what the operator had typed in its rollout inputs before the page
 * was rebuilt (field → text); each that still differs from the rollout as it is now is put back,
 * and said against it, so a reload after another admin's change never makes them type it again —
 * nor sends it: it goes only through "Change rollout…" and its confirmation.
 */
function candidateRow(c, unsent = {}) {
  const publisher = isPublisher();
  const inputs = {
    allowList: h('input', { name: 'allowList', value: c.rollout.allowList.join(', '), 'aria-label': `Allow-list of the ${c.scene} candidate (user ids)`, placeholder: 'user ids' }),
    percentage: h('input', { name: 'percentage', type: 'number', min: 0, max: 100, step: 1, value: c.rollout.percentage, 'aria-label': `Percentage of users for the ${c.scene} candidate` }),
    // The constraints the percentage applies under (the allow-list ignores them); empty: any.
    segments: h('input', { name: 'segments', value: c.rollout.segments.join(', '), 'aria-label': `Segments the ${c.scene} candidate's percentage is limited to`, placeholder: 'any' }),
    platforms: h('input', { name: 'platforms', value: c.rollout.platforms.join(', '), 'aria-label': `Platforms the ${c.scene} candidate's percentage is limited to`, placeholder: 'any' }),
    minAppVersion: h('input', { name: 'minAppVersion', value: c.rollout.minAppVersion ?? '', 'aria-label': `Oldest app version for the ${c.scene} candidate's percentage`, placeholder: 'any' }),
  };
  const kept = publisher ? ROLLOUT_FIELDS.filter(({ field, typed }) => Object.hasOwn(unsent, field) && differs(typed(unsent[field]), c.rollout[field])) : [];
  // The property, not the attribute: the row's defaultValue stays the rollout as it is, which is what tells an edit.
  for (const { field } of kept) inputs[field].value = unsent[field];
  // Only the fields the operator edited, compared with what this row shows: a field left alone is
  // not sent, so it cannot set back what another operator changed in it (the server keeps its value).
  const change = () =>
    Object.fromEntries(ROLLOUT_FIELDS.map(({ field, typed }) => [field, typed(inputs[field].value)]).filter(([field, value]) => differs(value, c.rollout[field])));
  return h(
    'tr',
    { 'data-scene': c.scene },
    h('th', { scope: 'row' }, c.scene),
    h('td', null, String(c.revision)),
    h(
      'td',
      null,
      h('div', { class: 'rollout' }, whom(c.rollout)),
      publisher
        ? h(
            'form',
            { class: 'inline-form rollout-form', onsubmit: (e) => (e.preventDefault(), void confirmRollout(c, change())) },
            h('label', null, 'Allow-list', inputs.allowList),
            h('label', null, '%', inputs.percentage),
            h('label', null, 'only segments', inputs.segments),
            h('label', null, 'platforms', inputs.platforms),
            h('label', null, 'app ≥', inputs.minAppVersion),
            h('button', { type: 'submit', 'data-action': 'rollout' }, 'Change rollout…'),
          )
        : null,
      kept.length > 0
        ? h(
            'p',
            { class: 'note unsent', 'data-testid': 'unsent-rollout' },
            `Not sent, kept as you typed it: ${kept.map(({ field, words, shown, typed }) => `${words} ${shown(typed(unsent[field]))} (now ${shown(c.rollout[field])})`).join('; ')}.`,
          )
        : null,
    ),
    h('td', null, `${c.author}: ${c.message}`, c.approvedBy ? h('div', { class: 'note' }, `approved by ${c.approvedBy}`) : null),
    h(
      'td',
      { class: 'actions' },
      h('button', { type: 'button', 'data-action': 'shadow', onclick: () => void showShadow(c) }, 'Shadow report'),
      // An approval is another admin's (layouts.approval): its publisher is not offered the button; the server decides the rest.
      publisher && c.approvedBy === null && c.publishedBy !== session.identity ? h('button', { type: 'button', 'data-action': 'approve', onclick: () => void confirmApprove(c) }, 'Approve…') : null,
      publisher ? h('button', { type: 'button', 'data-action': 'promote', onclick: () => void confirmPromote(c) }, 'Promote…') : null,
      publisher ? h('button', { type: 'button', 'data-action': 'abort', onclick: () => void confirmAbort(c) }, 'Abort…') : null,
    ),
  );
}

/** Why the shadow skipped what it skipped, in words (a report without `skippedBy` is from an older replica). */
function skippedWhy(report) {
  const words = {
    'upstream-not-loaded': 'the candidate needed an upstream the live panel never called (the shadow makes no extra call)',
    'served-degraded': 'the live panel was degraded (an upstream outage or a kill switch), so it is no baseline',
    'served-empty': 'the live panel had no rows',
  };
  const by = Object.entries(report.skippedBy ?? { 'upstream-not-loaded': report.skipped });
  return by.map(([reason, n]) => `${n} because ${words[reason] ?? reason}`).join('; ');
}

/** A shadow value for a table cell: an amount as minor units and currency, a list as words. */
function shadowValue(field, value) {
  if (field === 'presence') return value ? 'shown' : 'absent';
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object' && 'minor' in value) return `${value.minor} ${value.currency}`;
  if (Array.isArray(value)) return value.join(' ') || '(none)';
  return String(value);
}

function table(attrs, caption, headings, rows) {
  return h('table', attrs, h('caption', null, caption), h('thead', null, h('tr', null, headings.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', null, rows));
}

async function showShadow(c) {
  const out = $('shadow');
  let report;
  try {
    report = await api('/admin/layouts/shadow', { scene: c.scene });
  } catch (error) {
    // The row's candidate is gone (promoted or aborted since the page showed it): say so, not that the scene was mistyped.
    if (error.body?.code === 'FLOORPLAN_ERR_LAYOUT_CANDIDATE_NOT_FOUND') {
      await loadReleases().catch(() => undefined);
      replace(out, h('p', { class: 'error', role: 'alert' }, `The candidate of ${c.scene} (revision ${c.revision}) is gone: another operator promoted or aborted it since this page showed it. The page now shows what is there.`));
      return;
    }
    showError(out, error);
    return;
  }
  const differences = Object.entries(report.differences).flatMap(([floor, fields]) => Object.entries(fields).map(([field, count]) => [floor, field, count]));
  const examples = report.examples.flatMap((e) => e.differences.map((d, i) => ({ ...d, e, first: i === 0 })));
  const violations = report.invariantViolations;
  replace(
    out,
    h('h3', null, `Shadow comparison of the ${report.scene} candidate (revision ${report.candidateRevision})`, ' ', h('button', { type: 'button', onclick: () => void showShadow(c) }, 'Refresh')),
    h(
      'p',
      { class: 'note' },
      `${report.scope === 'all replicas' ? 'Summed over every replica (through Redis).' : `Kept by the replica that answered (pid ${report.replica.pid}) alone${report.problem ? `: ${report.problem}` : ''}.`} Each replica renders the candidate for ${Math.round(report.replica.sampleRatio * 1000) / 10} % of the live requests of ${report.scene} from the same data. Cost: ${report.cost.meanMs} ms per comparison on average, ${report.cost.maxMs} ms at most, off the answers' path.`,
    ),
    table(
      { class: 'shadow-summary', 'data-testid': 'shadow-summary' },
      'Summary',
      ['Compared', 'Identical', 'Different', 'Skipped', 'Failed', 'Invariant violations (candidate only)', 'Invariant violations (live too)'],
      h('tr', null, [report.compared, report.identical, report.different, report.skipped, report.failed].map((n) => h('td', null, String(n))), h('td', { class: violations.candidate > 0 ? 'bad' : '' }, String(violations.candidate)), h('td', null, String(violations.both))),
    ),
    report.skipped > 0 ? h('p', { class: 'note' }, `Skipped, not compared: ${skippedWhy(report)}.`) : null,
    differences.length === 0
      ? h('p', { 'data-testid': 'shadow-none' }, report.compared === 0 ? 'Nothing compared yet: no live request of this scene was sampled since the candidate was made.' : 'No differences: every compared panel was identical.')
      : table({ class: 'shadow-differences', 'data-testid': 'shadow-differences' }, 'Differing comparisons by floor and field', ['Floor', 'Field', 'Comparisons'], differences.map(([floor, field, count]) => h('tr', null, h('th', { scope: 'row' }, floor), h('td', null, field), h('td', null, String(count))))),
    examples.length === 0
      ? null
      : table(
          { class: 'shadow-examples', 'data-testid': 'shadow-examples' },
          'Examples (user ids hashed)',
          ['User', 'Locale', 'Time', 'Floor', 'Field', 'Live', 'Candidate'],
          examples.map((d) =>
            h(
              'tr',
              { class: d.first ? 'first' : '' },
              // The viewer's client, on hover (older replicas' examples lack it).
              h('td', d.e.platform === undefined ? null : { title: `${d.e.platform} ${d.e.appVersion ?? '(no version)'}${d.e.segments?.length ? `, segments ${d.e.segments.join(', ')}` : ''}` }, h('code', null, d.e.user)),
              // A text compared in another configured locale says which; the rest are the viewer's.
              h('td', null, d.locale ?? d.e.locale),
              h('td', null, d.e.at.replace('T', ' ').slice(0, 19)),
              h('th', { scope: 'row' }, d.floor),
              h('td', null, d.field),
              h('td', { dir: 'auto' }, shadowValue(d.field, d.served)),
              h('td', { dir: 'auto' }, shadowValue(d.field, d.candidate)),
            ),
          ),
        ),
  );
}

/** The live → candidate diff of the candidate's scene; null (with the error shown) when it cannot be read. */
async function candidateDiff(c) {
  try {
    const live = await currentLive();
    return sceneDiff((await api('/admin/layouts/diff', { from: live, to: c.revision })).diff, c.scene);
  } catch (error) {
    candidateRefused(error);
    return null;
  }
}

/** A refusal of a candidate operation, worded by the server (an invariant, an approval, a check: whatever refused it). */
function candidateRefused(error) {
  const problems = error?.body?.problems;
  replace($('candidates-message'), h('div', { class: 'error', role: 'alert', 'data-testid': 'candidate-refusal' }, error.message, Array.isArray(problems) && problems.length > 0 ? h('ul', { class: 'problems' }, problems.map((p) => h('li', null, p))) : null));
}

function candidateDone(message) {
  replace($('candidates-message'), h('span', { class: 'ok', role: 'status' }, message));
}

/**
 * The candidate of `c`'s scene as the server has it now, read again just before a confirmation:
 * another operator may have changed its rollout, replaced it, promoted or aborted it since this
 * page showed it, and a confirmation must describe what is there, not what the row shows. Null
 * when it is gone or another revision (the page is reloaded and says so; nothing is sent).
 */
async function freshCandidate(c) {
  let now;
  try {
    now = (await api('/admin/layouts/candidates')).candidates.find((x) => x.scene === c.scene) ?? null;
  } catch (error) {
    candidateRefused(error);
    return null;
  }
  if (now !== null && now.revision === c.revision) return now;
  await loadReleases().catch(() => undefined);
  candidateStale(
    now === null
      ? `The candidate of ${c.scene} (revision ${c.revision}) is gone: another operator promoted or aborted it since this page showed it. Nothing was sent; the page now shows what is there.`
      : `The candidate of ${c.scene} is revision ${now.revision} now, not ${c.revision}: another operator replaced it since this page showed it. Nothing was sent; the page now shows that one: review it first.`,
  );
  return null;
}

/**
 * One candidate operation: reads the candidate again (`fresh`), shows its diff in a confirmation
 * (`body(diff, fresh)` says what changes for whom), then calls `path` with the body
 * `request(message, fresh)` and says `done(result)`. `stale(fresh)`, when given, names what
 * changed since the row was shown that makes the operator's input stale (nothing is sent then).
 */
async function candidateAction(c, { title, body, label, path, request, done, stale }) {
  replace($('candidates-message'));
  const fresh = await freshCandidate(c);
  if (fresh === null) return;
  const changed = stale?.(fresh);
  if (changed) {
    await loadReleases().catch(() => undefined);
    candidateStale(changed);
    return;
  }
  const diff = await candidateDiff(c);
  if (diff === null) return;
  const typed = `${path} ${c.scene}`;
  const message = await confirmDialog(title, body(diff, fresh), unsentMessages.get(typed) ?? label);
  if (message === null) return;
  try {
    const result = await api(path, request(message, fresh));
    unsentMessages.delete(typed);
    await loadReleases();
    candidateDone(done(result));
  } catch (error) {
    unsentMessages.set(typed, message);
    await reloadIfStale(error);
    candidateRefused(error);
  }
}

/** Why nothing was sent: what this page showed is not what is there now (it has been reloaded). */
function candidateStale(message) {
  replace($('candidates-message'), h('div', { class: 'error', role: 'alert', 'data-testid': 'candidate-refusal' }, message));
}

/**
 * After a refusal because the page is stale — another operator replaced or dropped the candidate,
 * or moved what is live (409, 404) — the page shows what is there now, with what the operator
 * typed and did not send kept in its forms (candidateRow, renderPublish). Other refusals (a bad
 * value) leave the page as it is.
 */
async function reloadIfStale(error) {
  if (error.status === 409 || error.status === 404) await loadReleases().catch(() => undefined);
}

/**
 * A rollout change: `change` holds only the fields the operator edited in the row. The row must
 * still show the rollout the server has — another operator's change since would otherwise be
 * hidden under the operator's values — so a stale row is reloaded before any confirmation; the
 * confirmation describes the rollout read just now, and the request sends it as `from`, which the
 * server refuses (409) if it changes again while the confirmation is open.
 */
function confirmRollout(c, change) {
  const after = (now) => ({ ...now.rollout, ...change });
  return candidateAction(c, {
    stale: (fresh) => {
      const changed = rolloutDifferences(c.rollout, fresh.rollout);
      return changed === '' ? undefined : `The rollout of the ${c.scene} candidate changed since this page showed it: ${changed}. Nothing was sent; the row now shows it as it is, with your edits kept in it: review them, then change it again.`;
    },
    title: `Change who gets the candidate of ${c.scene} (revision ${c.revision})?`,
    body: (diff, fresh) => {
      const now = fresh.rollout;
      const next = after(fresh);
      return [
        h('p', null, `Now: ${whom(now)}.`),
        h('p', null, `After: ${whom(next)}.`),
        h('p', { 'data-testid': 'rollout-changes' }, rolloutChanges(now, next).join(' ') || 'Nobody’s layout changes.'),
        h('p', null, `What its users get instead of the live layout (${floorsChanged(diff, c.scene)}):`),
        diffView(diff),
      ];
    },
    label: `rollout of the ${c.scene} candidate`,
    path: '/admin/layouts/rollout',
    request: (message, fresh) => ({ scene: c.scene, revision: c.revision, from: fresh.rollout, message, ...change }),
    done: (result) => `The ${c.scene} candidate now goes to ${whom(result.candidate.rollout)}.`,
  });
}

function confirmAbort(c) {
  return candidateAction(c, {
    title: `Abort the candidate of ${c.scene} (revision ${c.revision})?`,
    // Who gets it as read just now: another operator may have widened it since the row was shown.
    body: (diff, fresh) => [
      h('p', null, `${c.scene}: candidate r${c.revision} → revision ${history.live} (live) for ${whom(fresh.rollout)}; nobody else sees a change.`),
      h('p', null, `What its users stop seeing (live → candidate, ${floorsChanged(diff, c.scene)}):`),
      diffView(diff),
    ],
    label: `abort the ${c.scene} candidate`,
    path: '/admin/layouts/abort',
    request: (message) => ({ scene: c.scene, revision: c.revision, message }),
    done: () => `Aborted the ${c.scene} candidate: its users get the live layout.`,
  });
}

function confirmApprove(c) {
  return candidateAction(c, {
    title: `Approve the candidate of ${c.scene} (revision ${c.revision})?`,
    body: (diff) => [
      h('p', null, `${c.publishedBy} published it. Nobody's layout changes now; once approved, an admin may promote it: ${c.scene}: revision ${history.live} → candidate r${c.revision} for all users; ${floorsChanged(diff, c.scene)}.`),
      h('p', null, 'What you approve (live → candidate):'),
      diffView(diff),
    ],
    label: `approve the ${c.scene} candidate`,
    path: '/admin/layouts/approve',
    request: (message) => ({ scene: c.scene, revision: c.revision, message }),
    done: () => `Approved the ${c.scene} candidate r${c.revision}.`,
  });
}

async function confirmPromote(c) {
  replace($('candidates-message'));
  if ((await freshCandidate(c)) === null) return;
  const diff = await candidateDiff(c);
  if (diff === null) return;
  const message = await confirmDialog(
    `Promote the candidate of ${c.scene} (revision ${c.revision})?`,
    [
      h('p', { 'data-testid': 'what-changes' }, `${c.scene}: revision ${history.live} → candidate r${c.revision} for all users; ${floorsChanged(diff, c.scene)}.`),
      h('p', null, `It becomes live as a new revision, on every replica within about 2 s; other scenes stay as they are. Floorplan refuses it while the shadow comparison found panels whose money did not add up, or has compared none yet.`),
      h('p', null, 'What changes for everyone who opens it (live → candidate):'),
      diffView(diff),
    ],
    `promote the ${c.scene} candidate`,
  );
  if (message === null) return;
  await promote(c, diff, message, false);
}

async function promote(c, diff, message, force) {
  try {
    const result = await api('/admin/layouts/promote', { scene: c.scene, revision: c.revision, message, ...(force ? { force: true } : {}) });
    await loadReleases();
    const forced = result.forced || result.overtaken?.length > 0;
    candidateDone(`Promoted${forced ? ' with force (audited)' : ''}: the ${c.scene} candidate r${c.revision} is live as revision ${result.revision.revision}.`);
  } catch (error) {
    if (error.body?.code !== PROMOTE_REFUSED) await reloadIfStale(error);
    candidateRefused(error);
    // Only two refusals may be overridden, and only after they were shown: the shadow's invariant
    // violations, and live's changes since the candidate was cut (listed in `overtaken`, by either
    // refusal: one force overrides both). Any other stands.
    const money = error.body?.code === PROMOTE_REFUSED;
    const overtaken = Array.isArray(error.body?.overtaken) ? error.body.overtaken : [];
    if (!force && (money || overtaken.length > 0)) {
      $('candidates-message').append(h('p', null, h('button', { type: 'button', 'data-action': 'force-promote', onclick: () => void confirmForce(c, diff, error.message, money, overtaken) }, 'Promote anyway (force)…')));
    }
  }
}

/** `money`: the shadow's refusal is overridden; `overtaken`: live's changes since the cut that force replaces (empty: none). Each is accepted apart. */
async function confirmForce(c, diff, refusal, money, overtaken) {
  const risks = [
    money ? { says: 'Every user may then get a panel whose rows do not add up to the total they pay.', acknowledge: 'I have read the shadow report and accept panels whose money does not add up.' } : null,
    overtaken.length > 0 ? { says: `It replaces what live changed in ${c.scene} since the candidate was cut:`, acknowledge: 'I have read what live changed since the candidate was cut, and replace it.' } : null,
  ].filter(Boolean);
  const message = await confirmDialog(
    `Force the promotion of the ${c.scene} candidate (revision ${c.revision})?`,
    [
      h('p', { class: 'error' }, `Floorplan refused it: ${refusal}`),
      h('p', { 'data-testid': 'what-changes' }, `${c.scene}: revision ${history.live} → candidate r${c.revision} for all users; ${floorsChanged(diff, c.scene)}. ${risks.map((r) => r.says).join(' ')}`),
      overtaken.length === 0 ? null : h('ul', { 'data-testid': 'overtaken' }, overtaken.map((change) => h('li', null, change))),
      diffView(diff),
    ],
    `promote the ${c.scene} candidate with force`,
    { ok: 'Promote with force', acknowledge: risks.map((r) => r.acknowledge) },
  );
  if (message === null) return;
  await promote(c, diff, message, true);
}

function flash(message) {
  replace($('releases-error'), h('span', { class: 'ok', role: 'status' }, message));
}

/** The publish section's inputs that a reload must not clear: what the operator typed there and has not sent. */
const PUBLISH_INPUTS = ['publish-message', 'candidate-scene', 'candidate-allow', 'candidate-percentage'];

function renderPublish() {
  if (!isPublisher()) {
    replace($('publish'), h('p', null, `Publishing needs the publisher role; ${session.identity} is a ${session.role}.`));
    return;
  }
  // Read before the section is rebuilt, put back after (none the first time): a reload after
  // another admin's change keeps the operator's message, scene, allow-list and percentage, as the
  // draft is kept. A success clears what it sent first (publish, createCandidate).
  const unsent = PUBLISH_INPUTS.filter((id) => $(id) !== null).map((id) => [id, $(id).value]);
  const files = h('input', { type: 'file', id: 'publish-files', accept: '.yaml,.yml', multiple: true });
  files.addEventListener('change', async () => {
    for (const file of files.files) draft.set(file.name, await file.text());
    files.value = '';
    renderDraft();
  });
  replace(
    $('publish'),
    h('p', { class: 'hint' }, 'A publish replaces the whole set: every scene file must be in it. Start from the live revision, then upload or edit files. Floorplan validates the set before it stores anything.'),
    h(
      'div',
      { class: 'inline-form' },
      h('button', { type: 'button', id: 'publish-from-live', onclick: () => void loadLiveIntoDraft() }, 'Start from the live revision'),
      h('label', { for: 'publish-files' }, 'Upload YAML files'),
      files,
    ),
    h('div', { id: 'draft' }),
    h('form', { id: 'publish-form', class: 'inline-form', onsubmit: (e) => (e.preventDefault(), void publish()) }, h('label', null, 'Message ', h('input', { id: 'publish-message', required: true })), h('button', { type: 'submit' }, 'Check and publish…')),
    h('h3', null, 'Or canary it: make the set a candidate of one scene'),
    h('p', { class: 'hint' }, 'The scene’s file of this set is served to the users below only; everyone else keeps the live layout until you promote it.'),
    h(
      'form',
      { id: 'candidate-form', class: 'inline-form', onsubmit: (e) => (e.preventDefault(), void createCandidate()) },
      h('label', null, 'Scene', h('select', { id: 'candidate-scene' }, info.scenes.map((s) => h('option', { value: s.scene }, s.scene)))),
      h('label', null, 'Allow-list (user ids)', h('input', { id: 'candidate-allow', placeholder: 'u1001, u2002' })),
      h('label', null, '% of other users', h('input', { id: 'candidate-percentage', type: 'number', min: 0, max: 100, step: 1, value: 0 })),
      h('button', { type: 'submit' }, 'Check and make it a candidate…'),
    ),
    h('div', { id: 'publish-result', role: 'status' }),
  );
  for (const [id, value] of unsent) $(id).value = value;
  renderDraft();
}

async function loadLiveIntoDraft() {
  if (history.live === null) return;
  let shown;
  try {
    shown = await api('/admin/layouts/show', { revision: await currentLive() });
  } catch (error) {
    showPublishProblems($('publish-result'), error);
    return;
  }
  draft.clear();
  for (const [name, source] of Object.entries(shown.revision.files)) draft.set(name, source);
  renderDraft();
}

function renderDraft() {
  const el = $('draft');
  if (el === null) return;
  if (draft.size === 0) {
    replace(el, h('p', { class: 'hint' }, 'No files in the set yet.'));
    return;
  }
  replace(
    el,
    [...draft.keys()].sort().map((name) => {
      const id = `draft-${name.replace(/[^a-z0-9]/gi, '-')}`;
      const area = h('textarea', { id, rows: 12, spellcheck: 'false', 'data-file': name });
      area.value = draft.get(name);
      area.addEventListener('input', () => draft.set(name, area.value));
      return h('div', { class: 'draft-file' }, h('label', { for: id }, name), area, h('button', { type: 'button', onclick: () => (draft.delete(name), renderDraft()) }, `Remove ${name}`));
    }),
  );
}

/**
 * The draft as files, validated and compared with the live revision exactly as a publish or a
 * candidate will be: nothing is stored until the operator confirms. Null (problems shown in `out`) when refused.
 */
async function checkedDraft(out) {
  replace(out);
  if (draft.size === 0) {
    replace(out, h('p', { class: 'error' }, 'Add the floors files first.'));
    return null;
  }
  const files = Object.fromEntries(draft);
  try {
    return { files, check: await api('/admin/layouts/check', { files }) };
  } catch (error) {
    // A check publishes nothing and does not say so; here it is why nothing was published.
    showPublishProblems(out, error, '; nothing was published');
    return null;
  }
}

async function publish() {
  const out = $('publish-result');
  const checked = await checkedDraft(out);
  if (checked === null) return;
  const { files, check } = checked;
  const scenes = [...new Set(check.diff.scenes.map((s) => s.scene))];
  let liveFiles;
  let served;
  let stranded;
  try {
    liveFiles = check.live === null ? [] : Object.keys((await api('/admin/layouts/show', { revision: check.live })).revision.files);
    ({ served, stranded } = await candidatesMet(scenes, droppedScenes(check.diff)));
  } catch (error) {
    showPublishProblems(out, error);
    return;
  }
  const offAir = droppedScenes(check.diff);
  const leftOut = liveFiles.filter((name) => !draft.has(name));
  // A left-out file whose scene goes off the air is named there (or, held by a candidate, in the
  // refusal); said apart only when its scene stays, defined by another file of the set (x.yml for x.yaml).
  const removed = leftOut.filter((name) => !offAir.includes(sceneOfFile(name)));
  const who = whoGetsLive(scenes, offAir, served, 'Nobody sees a difference: the floors are the same as the live revision’s.');
  // A Floorplan older than this page answers the check without it.
  const versionKept = (check.versionKept ?? []).map((v) =>
    h(
      'p',
      { class: 'error', 'data-testid': 'version-kept' },
      `The floors of ${v.variant === undefined ? v.scene : `${v.scene} (variant ${v.variant})`} change, but its version does not (still "${v.version}"): layoutVersion will not tell them from the live ones. Give it a new version to tell them apart.`,
    ),
  );
  const message = await confirmDialog(
    `Publish ${draft.size} file(s) as the new live revision?`,
    [
      h('p', null, `The set is valid: ${check.scenes.map((s) => `${s.scene} ${s.version}`).join(', ')}. ${who}`),
      offAirView(offAir, stranded, leftOut),
      strandedView(stranded, 'publish', (scene) => `, or keep ${scene}.yaml in the set`),
      candidatesServedView(served),
      ...versionKept,
      check.approval?.changes?.length > 0
        ? h(
            'p',
            { class: 'error', 'data-testid': 'needs-approval' },
            `It changes money floors (${check.approval.changes.map((c) => `${c.scene} ${c.code} (${c.kind}, ${c.change})`).join(', ')}), so Floorplan will refuse to publish it straight to live: make it a candidate below, have another admin approve it, then promote it.`,
          )
        : null,
      removed.length > 0 ? h('p', { class: 'error' }, `Not in this set, so removed: ${removed.join(', ')}.`) : null,
      h('p', null, check.live === null ? 'Nothing is live yet: this is the first revision.' : `What changes (live revision ${check.live} → this set):`),
      diffView(check.diff),
      compatibilityView(check.compatibility),
    ],
    $('publish-message').value,
    { refused: stranded.length > 0 },
  );
  if (message === null) return;
  try {
    // `from`: the live revision this confirmation compared with; refused if another went live
    // while it was open, which publishing this set would silently undo.
    const result = await api('/admin/layouts/publish', { files, message, from: check.live });
    draft.clear();
    $('publish-message').value = '';
    await loadReleases();
    flash(`Published revision ${result.revision.revision} (live): ${result.scenes.map((s) => `${s.scene} ${s.version}`).join(', ')}.`);
  } catch (error) {
    // The confirmation's words become the section's message: the next confirmation starts from them.
    $('publish-message').value = message;
    const overtaken = await reloadIfOvertaken(error);
    showPublishProblems($('publish-result'), error, overtaken ? '. Your set and message are kept below, not sent: check them against what is live now, then publish again.' : '');
  }
}

async function createCandidate() {
  const out = $('publish-result');
  const scene = $('candidate-scene').value;
  const rollout = { allowList: userIds($('candidate-allow').value), percentage: Number($('candidate-percentage').value || 0) };
  const checked = await checkedDraft(out);
  if (checked === null) return;
  const { files, check } = checked;
  let replaced;
  try {
    replaced = (await api('/admin/layouts/candidates')).candidates.find((c) => c.scene === scene);
  } catch (error) {
    showPublishProblems(out, error);
    return;
  }
  const diff = sceneDiff(check.diff, scene);
  const version = check.scenes.find((s) => s.scene === scene)?.version;
  const defaultMessage = $('publish-message').value || `candidate of ${scene}`;
  const message = await confirmDialog(
    `Make this set the candidate of ${scene}?`,
    [
      h('p', { 'data-testid': 'what-changes' }, `${scene}: revision ${check.live ?? '(none)'} (live) → this set's ${scene}${version ? ` ${version}` : ''} for ${whom(rollout)}; ${floorsChanged(diff, scene)}. Everyone else keeps the live layout.`),
      replaced ? h('p', null, `It replaces the scene's candidate (revision ${replaced.revision}, for ${whom(replaced.rollout)}).`) : null,
      h('p', null, 'It is recorded as a new revision that is not live; its users get the floors below on every replica within about 2 s.'),
      diffView(diff),
      compatibilityView(check.compatibility, scene),
    ],
    defaultMessage,
  );
  if (message === null) return;
  try {
    // `replaces`: the candidate this confirmation said it replaces (null: none); refused if
    // another operator made, replaced or dropped the scene's candidate while it was open.
    const result = await api('/admin/layouts/candidate', { scene, files, rollout, message, replaces: replaced?.revision ?? null });
    draft.clear();
    $('candidate-form').reset();
    $('publish-message').value = '';
    await loadReleases();
    candidateDone(`Candidate of ${scene} is revision ${result.revision.revision}: layoutVersion ${result.layoutVersion} for ${whom(result.candidate.rollout)}.`);
    $('candidates').scrollIntoView({ block: 'nearest' });
  } catch (error) {
    // The confirmation's words, if the operator changed them, become the section's message: the next confirmation starts from them.
    if (message !== defaultMessage) $('publish-message').value = message;
    const overtaken = await reloadIfOvertaken(error);
    showPublishProblems(
      $('publish-result'),
      error,
      overtaken ? '. Your set, the scene, allow-list, percentage and message are kept below, not sent: check them against the candidate there now, then make the candidate again.' : '',
    );
  }
}

/**
 * After a publish or a candidate refused because another operator published or made one while its
 * confirmation was open, the page shows what is there now; the draft and what the operator typed
 * in the forms stay (renderPublish), to check again — nothing is sent until they confirm again.
 * Any other refusal (an invalid or incompatible set, an approval needed) keeps the form as it is.
 * Reloading rebuilds the form, so the caller shows the refusal in the new `#publish-result`.
 * Whether it reloaded.
 */
async function reloadIfOvertaken(error) {
  if (error.body?.code !== 'FLOORPLAN_ERR_LAYOUT_CONFLICT') return false;
  await loadReleases().catch(() => undefined);
  return true;
}

function showPublishProblems(out, error, after = '') {
  // A success shown earlier at the top of the page must not read as this action's outcome.
  replace($('releases-error'));
  replace(
    out,
    h('div', { class: 'error', role: 'alert', 'data-testid': 'publish-problems' }, `${error.message}${after}`, h('ul', { class: 'problems' }, (error.body?.problems ?? []).map(problemItem))),
    compatibilityView(error.body?.compatibility),
  );
  out.scrollIntoView({ block: 'nearest' });
}

/** A publish problem; one that names "(file.yaml:line)" of the set gets a button that selects that line in its file. */
function problemItem(problem) {
  const at = /\(([^()]+\.ya?ml):(\d+)\)\s*$/.exec(problem);
  const name = at && [...draft.keys()].find((n) => at[1] === n || at[1].endsWith(`/${n}`));
  if (!name) return h('li', null, problem);
  const line = Number(at[2]);
  return h('li', null, problem, ' ', h('button', { type: 'button', class: 'goto', onclick: () => selectLine(name, line) }, `Show line ${line}`));
}

function selectLine(name, line) {
  const area = document.querySelector(`#draft textarea[data-file="${CSS.escape(name)}"]`);
  if (area === null) return;
  const lines = area.value.split('\n');
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[line - 1] ?? '').length);
  // Scroll the selected line into the middle of the box.
  area.scrollTop = Math.max(0, (line - 5) * parseFloat(getComputedStyle(area).lineHeight || '16'));
}

function renderAudit(entries) {
  replace(
    $('audit'),
    h(
      'table',
      { class: 'audit' },
      h('thead', null, h('tr', null, ['Time', 'Who', 'Action', 'Revision', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        entries.map((e) =>
          h(
            'tr',
            null,
            h('td', null, e.at.replace('T', ' ').slice(0, 19)),
            h('td', null, e.actor),
            h('td', null, e.action),
            h('td', null, e.revision === null ? '—' : String(e.revision)),
            h('td', null, h('code', null, JSON.stringify(e.detail))),
          ),
        ),
      ),
    ),
  );
}

// ------------------------------------------------------------------ flags

async function loadFlags() {
  replace($('flags-error'));
  try {
    const answer = await api('/admin/flags');
    const source = answer.servingFrom === 'unleash' ? `Unleash (${answer.unleashUrl ?? ''})` : answer.servingFrom === 'file' ? `the local file ${answer.file}` : 'nowhere yet: every flag is off';
    replace(
      $('flags'),
      h('p', { 'data-testid': 'flags-source' }, `Flags come from ${source}, environment ${answer.environment}; last confirmed current ${answer.lastSyncAgeSeconds} s ago.`),
      h(
        'table',
        { class: 'flags' },
        h('thead', null, h('tr', null, ['Flag', 'Used by', 'State', 'Strategies'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          answer.flags.map((f) =>
            h(
              'tr',
              { 'data-flag': f.flag },
              h('th', { scope: 'row' }, f.link ? h('a', { href: f.link, rel: 'noopener noreferrer', target: '_blank' }, f.flag) : f.flag),
              h('td', null, f.usedBy.map((u) => h('div', null, `${u.scene}${u.variant ? ` (variant ${u.variant})` : ''}: ${u.floor === null ? 'layout variant' : `floor ${u.floor}`}`))),
              h('td', { class: f.enabled && !f.blockedBy ? 'on' : 'off' }, f.defined ? (f.enabled ? (f.blockedBy ? 'on, but its parent is off' : 'on') : 'off') : 'not defined (off)'),
              h(
                'td',
                null,
                f.strategies.length === 0
                  ? f.enabled
                    ? 'none: on for everyone'
                    : '—'
                  : h('ol', null, f.strategies.map((s) => h('li', null, `${s.name}${s.disabled ? ' (disabled)' : ''} ${strategyParameters(s.parameters)}${s.constraints.length ? ` where ${s.constraints.join(' and ')}` : ''}${s.variants?.length ? `; variants ${s.variants.join(', ')}` : ''}`))),
                f.variants.length ? h('div', { class: 'note' }, `variants: ${f.variants.join(', ')}`) : null,
                f.dependsOn?.length ? h('div', { class: 'note' }, `depends on ${f.dependsOn.join(' and ')}`) : null,
                f.blockedBy ? h('div', { class: 'note', 'data-testid': 'flag-blocked' }, f.blockedBy) : null,
              ),
            ),
          ),
        ),
      ),
    );
  } catch (error) {
    showError($('flags-error'), error);
  }
}

function strategyParameters(parameters) {
  const parts = [];
  if (parameters.rollout !== undefined) parts.push(`${parameters.rollout} %`);
  if (parameters.stickiness !== undefined) parts.push(`by ${parameters.stickiness}`);
  for (const [key, value] of Object.entries(parameters)) if (!['rollout', 'stickiness', 'groupId'].includes(key)) parts.push(`${key}=${value}`);
  return parts.length ? `(${parts.join(', ')})` : '';
}

// ------------------------------------------------------------------ start

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  signIn(saved).catch(() => signOut());
} else {
  $('token').focus();
}
