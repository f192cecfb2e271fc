// The status page at `/`: plain HTML, CSS and a script, no build step and no outside assets. The
// script fetches /status every second and redraws in place (the page never reloads); the buttons
// call the control API and show its answer. When the run requires a control token
// (http.tokenEnv), a token field appears; what is typed there is kept in this tab's
// sessionStorage only (gone when the tab closes) and sent as a bearer token with each button. Everything from /status reaches the DOM through
// textContent, never as markup. A TS module rather than an .html file, so that it is there both
// from source (tsx) and after `npm run build` (tsc copies no other files).
import { createHash } from 'node:crypto';

const STYLE = String.raw`
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em 2em;color:#1d2330;background:#f7f8fa}
h1{font-size:1.4em;margin:0 0 .4em}h2{font-size:1.05em;margin:1.4em 0 .4em}
.badge{display:inline-block;padding:.1em .6em;border-radius:1em;background:#dde3ee;margin-right:.4em}
.badge.phase{background:#1d4ed8;color:#fff}.badge.warn{background:#f59e0b;color:#111}.badge.bad{background:#dc2626;color:#fff}.badge.ok{background:#16a34a;color:#fff}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002}
th,td{padding:.3em .7em;text-align:left;border-bottom:1px solid #e5e7eb;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{width:14em;height:.9em;background:#e5e7eb;border-radius:.45em;overflow:hidden;display:inline-block;vertical-align:middle}
.fill{height:100%;background:#2563eb}.fill.done{background:#16a34a}
.figures{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em;background:#fff;padding:.6em .9em;box-shadow:0 1px 2px #0002;width:max-content}
.figures dt{color:#4b5563}.figures dd{margin:0;font-variant-numeric:tabular-nums;max-width:48em}
button{font:inherit;padding:.3em 1em;margin-right:.5em;border:1px solid #9ca3af;border-radius:.3em;background:#fff;cursor:pointer}
button:hover{background:#eef2ff}#token-box{margin-right:.8em}#token{font:inherit;width:14em;padding:.25em .4em;border:1px solid #9ca3af;border-radius:.3em}#answer{margin-left:.5em}#answer.refused{color:#b91c1c}
#connection{color:#b91c1c}footer{margin-top:2em;color:#6b7280}
`;

const SCRIPT = String.raw`
'use strict';
const $ = (id) => document.getElementById(id);
const number = (value, digits = 0) => (typeof value === 'number' && Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const seconds = (value) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  if (value < 60) return number(value, value < 10 ? 1 : 0) + ' s';
  const minutes = Math.floor(value / 60);
  if (minutes < 60) return minutes + ' min ' + String(Math.round(value % 60)).padStart(2, '0') + ' s';
  return Math.floor(minutes / 60) + ' h ' + String(minutes % 60).padStart(2, '0') + ' min';
};
const lagText = (value) => (typeof value === 'number' && Number.isFinite(value) ? (value < 1 ? number(value * 1000, 0) + ' ms' : number(value, 2) + ' s') : '–');
const WAITS = {
  'paused': 'paused by the operator (POST /pause); Resume lets it go on',
  'binlog-lag': 'the binlog lag is over its target: the applier has the right of way',
  'target-saturated': 'the binlog side is saturated: the copy yields the target to it',
  'replica-lag': 'a replica of the target lags (or its lag cannot be read)',
  'target-threads': 'the target runs more statements at once than throttle.maxThreadsRunning',
};

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function bar(fraction) {
  const outer = element('span', undefined, 'bar');
  const fill = element('span', undefined, fraction >= 1 ? 'fill done' : 'fill');
  fill.style.display = 'block';
  fill.style.width = (typeof fraction === 'number' ? Math.min(1, Math.max(0, fraction)) * 100 : 0) + '%';
  outer.appendChild(fill);
  return outer;
}

function figures(id, pairs) {
  const list = $(id);
  list.replaceChildren();
  for (const [name, value, valueId] of pairs) {
    list.appendChild(element('dt', name));
    const dd = element('dd', value);
    if (valueId) dd.id = valueId;
    list.appendChild(dd);
  }
}

function badge(text, kind) {
  return element('span', text, 'badge' + (kind ? ' ' + kind : ''));
}

const TOKEN_KEY = 'tideferry-control-token';
const storedToken = () => { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; } };

function render(status) {
  const control = status.control || {};
  $('token-box').hidden = !control.tokenRequired;
  if (control.tokenRequired) $('token').title = 'the value of the environment variable ' + (control.tokenEnv || '') + ' of the run; kept in this tab only';
  const badges = $('badges');
  badges.replaceChildren(badge(status.phase, 'phase'));
  badges.firstChild.id = 'phase';
  if (status.copyPaused) badges.appendChild(Object.assign(badge('copy paused', 'warn'), { id: 'paused' }));
  if (status.keepUp && status.keepUp.saturated) badges.appendChild(badge('binlog side saturated', 'bad'));
  if (status.writersStopped) badges.appendChild(badge('writers stopped', 'warn'));
  if (status.waiting) badges.appendChild(badge(status.waiting, 'bad'));
  if (status.phase === 'done') badges.appendChild(badge('migration complete', 'ok'));
  $('endpoints').textContent = 'source ' + status.source + ' → target ' + status.target;

  const copy = status.copy || {};
  $('copy-bar').replaceChildren(bar(copy.fraction));
  $('copy-rows').textContent = number(copy.rowsCopied);
  $('copy-rows').dataset.value = String(copy.rowsCopied ?? '');
  $('copy-total').textContent = number(copy.estimatedRows);
  $('copy-rate').textContent = number(copy.rowsPerSecond) + ' rows/s';
  $('copy-eta').textContent = seconds(copy.etaSeconds);
  const waits = status.copyThrottledBecause;
  $('copy-waits').textContent = waits ? (WAITS[waits] || waits) : (copy.fraction === 1 ? 'the copy is done' : 'it does not wait');

  const body = $('tables');
  body.replaceChildren();
  for (const [name, table] of Object.entries(status.tables || {})) {
    const row = element('tr');
    row.dataset.table = name;
    const verification = table && table.verification;
    row.append(
      element('td', name),
      element('td'),
      element('td', number(table && table.rowsCopied), 'num rows'),
      element('td', number(table && table.estimatedRows), 'num'),
      element('td', table && table.done ? 'done' : number(table && table.rowsPerSecond), 'num'),
      element('td', table && table.done ? '–' : seconds(table && table.etaSeconds), 'num'),
      element('td', verification ? number(verification.rowsVerified) : 'off', 'num'),
      element('td', verification ? number(verification.pendingRows) : '–', 'num'),
      element('td', verification ? (verification.complete ? 'yes' : 'no') + (verification.mismatches ? ' (' + verification.mismatches + ' differing, compared again)' : '') : '–'),
    );
    row.children[1].appendChild(bar(table && table.fraction));
    body.appendChild(row);
  }

  const tuning = status.tuning;
  const estimate = tuning && tuning.hasEstimate;
  const predicted = !estimate ? '–' : tuning.predictedLagSeconds === null ? 'none: m·R ≥ 1, no batch size keeps up' : lagText(tuning.predictedLagSeconds);
  figures('binlog', [
    ['lag (measured)', lagText(status.binlogLagSeconds), 'binlog-lag'],
    ['lag (predicted)', predicted],
    ['lag p50 / p99 / max', status.lag ? lagText(status.lag.p50) + ' / ' + lagText(status.lag.p99) + ' / ' + lagText(status.lag.max) : '–'],
    ['events applied', number(status.eventsApplied) + ' in ' + number(status.binlogBatches) + ' batches'],
    ['queued events', number(status.binlogQueued)],
    ['applied up to', status.binlogApplied || '–'],
    ['keeping up', status.keepUp ? (status.keepUp.saturated ? 'no: ' + (status.keepUp.explanation || status.keepUp.cause || '') : 'yes (applier busy ' + number((status.keepUp.busyFraction || 0) * 100) + '%)') : '–'],
    ['why the lag differs', (status.keepUp && status.keepUp.lagNote) || '–'],
  ]);
  figures('tuning', [
    ['m (per event)', estimate ? number(tuning.perEventSeconds * 1e6, 1) + ' µs' : '–'],
    ['o (per batch)', estimate ? number(tuning.perBatchSeconds * 1e3, 2) + ' ms' : '–'],
    ['R (arrivals)', tuning ? number(tuning.arrivalRate) + ' events/s' : '–'],
    ['B (batch size)', tuning ? number(tuning.batchSize) + (estimate && tuning.optimalBatchSize !== null ? ' (B* ' + number(tuning.optimalBatchSize) + ')' : '') : '–'],
    ['m·R (target utilisation)', estimate ? number(tuning.utilisation, 2) + (tuning.saturated ? ' — saturated' : '') : '–'],
  ]);
}

async function poll() {
  try {
    const response = await fetch('/status', { cache: 'no-store' });
    if (!response.ok) throw new Error('/status answered ' + response.status);
    render(await response.json());
    $('connection').textContent = '';
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (error) {
    $('connection').textContent = 'cannot read /status (' + (error && error.message ? error.message : String(error)) + '); the run may have ended. Trying again.';
  } finally {
    setTimeout(poll, 1000);
  }
}

async function control(path) {
  const answer = $('answer');
  answer.className = '';
  answer.textContent = 'POST ' + path + '…';
  try {
    const token = $('token').value.trim();
    const response = await fetch(path, { method: 'POST', headers: token ? { authorization: 'Bearer ' + token } : {} });
    const text = await response.text();
    let body;
    try { body = JSON.parse(text); } catch { body = undefined; }
    if (response.ok) answer.textContent = 'POST ' + path + ': ' + response.status + ' ' + text;
    else {
      answer.className = 'refused';
      answer.textContent = 'POST ' + path + ' refused (' + response.status + '): ' + (body && body.error ? body.error : text);
    }
  } catch (error) {
    answer.className = 'refused';
    answer.textContent = 'POST ' + path + ' failed: ' + (error && error.message ? error.message : String(error));
  }
}

for (const [id, path] of [['pause', '/pause'], ['resume', '/resume'], ['cutover', '/cutover']]) $('button-' + id).addEventListener('click', () => void control(path));
$('token').value = storedToken();
$('token').addEventListener('input', () => { try { sessionStorage.setItem(TOKEN_KEY, $('token').value.trim()); } catch { /* storage refused: the field still works */ } });
poll();
`;

const BODY = String.raw`
<h1>tideferry</h1>
<div id="badges"></div>
<p id="endpoints"></p>
<p><span id="token-box" hidden><label>control token <input id="token" type="password" autocomplete="off" spellcheck="false"></label></span><button id="button-pause" title="POST /pause: hold the row copy (the binlog applier goes on)">Pause copy</button><button id="button-resume" title="POST /resume">Resume copy</button><button id="button-cutover" title="POST /cutover: confirm a manual cutover once the writers are stopped">Confirm cutover</button><span id="answer" role="status"></span></p>
<p id="connection" role="alert"></p>
<h2>Row copy</h2>
<dl class="figures">
<dt>progress</dt><dd id="copy-bar"></dd>
<dt>rows copied</dt><dd><span id="copy-rows">–</span> of about <span id="copy-total">–</span></dd>
<dt>rate</dt><dd id="copy-rate">–</dd>
<dt>time left</dt><dd id="copy-eta">–</dd>
<dt>why the copy waits</dt><dd id="copy-waits">–</dd>
</dl>
<h2>Tables</h2>
<table><thead><tr><th>table</th><th>progress</th><th>rows copied</th><th>of about</th><th>rows/s</th><th>time left</th><th>rows verified</th><th>to compare again</th><th>verified</th></tr></thead><tbody id="tables"></tbody></table>
<h2>Binlog</h2>
<dl class="figures" id="binlog"></dl>
<h2>Tuning (T = m·b + o, B* = o·R / (1 − m·R))</h2>
<dl class="figures" id="tuning"></dl>
<footer><span id="updated"></span> · <a href="/status">/status</a> (JSON) · <a href="/metrics">/metrics</a></footer>
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page, and a content security policy that lets it run its own script and style and fetch from its own origin only. */
export const STATUS_PAGE = {
  html: `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>tideferry</title><style>${STYLE}</style><body>${BODY}<script>${SCRIPT}</script></body></html>`,
  contentSecurityPolicy: `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'`,
} as const;
