// The dashboard's page, script and style (dashboard.ts serves them). Plain DOM code, no framework:
// one page of tables fed by one Server-Sent Events stream does not need one, and the controller then
// ships no front-end build. Every value from the cloud is put in with textContent, never as HTML.

const head = (title: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="icon" href="/dashboard/icon.svg"><link rel="stylesheet" href="/dashboard/style.css"></head>`;

/** Named in the page, so the browser asks for no /favicon.ico (which only the REST API would answer). */
export const DASHBOARD_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#24292e"/><path d="M3 4l5 8 5-8" stroke="#28a745" stroke-width="2" fill="none"/></svg>';

export function loginPage(error: string | null): string {
  return `${head('netvpp — log in')}
<body><main class="login">
<h1>netvpp</h1>
<form method="post" action="/dashboard/login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
${error ? `<p class="error" id="login-error">${error}</p>` : ''}
<p class="hint">A read-only dashboard token (<code>[controller] dashboard_token_file</code>) or a driver token.
The browser keeps only a session cookie, which opens nothing but this read-only view.</p>
</form></main></body></html>`;
}

export function dashboardPage(withLogout: boolean): string {
  return `${head('netvpp')}
<body>
<header><h1>netvpp</h1><span id="controller"></span><span id="live" class="badge">connecting…</span>
${withLogout ? '<form method="post" action="/dashboard/logout"><button type="submit">Log out</button></form>' : ''}
</header>
<main>
<section><h2>Ports</h2><div id="port-counts" class="counts"></div></section>
<section><h2>Hosts</h2><table id="hosts"><thead><tr><th>host</th><th>agent</th><th>VPP</th><th>physnets</th>
<th>network types</th><th>ports ready / errored / pending</th><th>failing</th><th>ready</th></tr></thead><tbody></tbody></table></section>
<section><h2>Failing</h2><table id="failing"><thead><tr><th>kind</th><th>id</th><th>host</th><th>revision</th><th>error</th></tr></thead>
<tbody></tbody></table><p id="no-failing" class="quiet">Nothing is failing.</p></section>
<section><h2>Port states</h2><table id="ports"><thead><tr><th>port</th><th>host</th><th>status</th><th>revision</th><th>error</th></tr></thead>
<tbody></tbody></table><p id="ports-truncated" class="quiet"></p></section>
<section><h2>Port chain</h2>
<form id="chain-form"><input id="chain-id" placeholder="port id" size="40"><button type="submit">Show</button></form>
<pre id="chain" class="quiet">Click a port, or enter its id.</pre></section>
</main>
<script src="/dashboard/app.js"></script>
</body></html>`;
}

export const DASHBOARD_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f23; background: #f6f8fa; }
header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #24292e; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; }
header form { margin-left: auto; }
main { padding: 1em; }
section { background: #fff; border: 1px solid #d1d5da; border-radius: 6px; padding: .5em 1em; margin-bottom: 1em; }
h2 { font-size: 1em; margin: .3em 0 .6em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #eaecef; vertical-align: top; }
td.error, .error { color: #b31d28; }
tr[data-port] { cursor: pointer; }
tr[data-port]:hover { background: #f1f8ff; }
.badge { padding: .1em .5em; border-radius: 1em; background: #6a737d; font-size: .85em; }
.badge.live { background: #28a745; }
.status-ACTIVE { color: #22863a; font-weight: 600; }
.status-ERROR { color: #b31d28; font-weight: 600; }
.status-DOWN { color: #6a737d; font-weight: 600; }
.counts span { margin-right: 1.5em; font-size: 1.1em; }
.quiet { color: #6a737d; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.login { max-width: 28em; margin: 4em auto; background: #fff; padding: 1em 2em; border: 1px solid #d1d5da; border-radius: 6px; }
.login input { width: 100%; margin: .3em 0 .8em; padding: .3em; box-sizing: border-box; }
.hint { color: #6a737d; font-size: .9em; }
`;

// The browser side. Kept as plain ES2020 in a string: it is served as is.
export const DASHBOARD_JS = `'use strict';
const $ = (id) => document.getElementById(id);
let selected = null;
let selectedStatus = null;

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function fill(tbody, rows, make) {
  const body = document.querySelector(tbody);
  body.replaceChildren(...rows.map(make));
}

function render(o) {
  const c = o.controller;
  $('controller').textContent = c.id + (c.leader ? ' (leader)' : ' (follower)') + ' · etcd ' + c.etcd +
    (c.sync_needed ? ' · full sync needed' : '');
  const counts = $('port-counts');
  counts.replaceChildren(...['ACTIVE', 'ERROR', 'DOWN'].map((s) => {
    const span = document.createElement('span');
    span.className = 'status-' + s;
    span.id = 'count-' + s;
    span.textContent = s + ' ' + o.ports[s];
    return span;
  }));
  fill('#hosts tbody', o.hosts, (h) => {
    const tr = document.createElement('tr');
    tr.dataset.host = h.host;
    cell(tr, h.host);
    cell(tr, h.agent_version);
    cell(tr, h.vpp.connected ? (h.vpp.version || '?') : 'DISCONNECTED', h.vpp.connected ? '' : 'error');
    cell(tr, h.physnets.join(', '));
    cell(tr, h.network_types.join(', '));
    const p = h.status && h.status.ports;
    cell(tr, p ? p.ready + ' / ' + p.errored + ' / ' + p.pending : '');
    cell(tr, h.status ? h.status.failing : '', h.status && h.status.failing ? 'error' : '');
    cell(tr, h.error ? h.error : h.status ? (h.status.ready ? 'yes' : 'no') : '', h.error ? 'error' : '');
    return tr;
  });
  fill('#failing tbody', o.failing, (f) => {
    const tr = document.createElement('tr');
    tr.dataset.failing = f.kind + ':' + f.id;
    cell(tr, f.kind);
    cell(tr, f.id);
    cell(tr, f.host);
    cell(tr, f.revision);
    cell(tr, f.error, 'error');
    if (f.kind === 'port') tr.addEventListener('click', () => show(f.id));
    return tr;
  });
  $('no-failing').hidden = o.failing.length > 0;
  $('failing').hidden = o.failing.length === 0;
  fill('#ports tbody', o.port_states, (p) => {
    const tr = document.createElement('tr');
    tr.dataset.port = p.id;
    cell(tr, p.id);
    cell(tr, p.host);
    cell(tr, p.status, 'status status-' + p.status);
    cell(tr, p.revision);
    cell(tr, p.error, 'error');
    tr.addEventListener('click', () => show(p.id));
    return tr;
  });
  $('ports-truncated').textContent = o.ports_truncated ? '… and ' + o.ports_truncated + ' more' : '';
  // The chain shown follows its port: read again when the port's state changes.
  if (selected) {
    const now = o.port_states.find((p) => p.id === selected);
    const st = selected + '/' + (now ? now.status + '/' + now.revision + '/' + now.error : 'none');
    if (st !== selectedStatus) { selectedStatus = st; show(selected); }
  }
}

async function show(id) {
  selected = id;
  $('chain-id').value = id;
  const pre = $('chain');
  try {
    const r = await fetch('/v1/ports/' + encodeURIComponent(id), { credentials: 'same-origin' });
    const body = await r.json();
    pre.textContent = r.ok ? body.lines.join('\\n') : 'error: ' + body.error;
    pre.className = r.ok ? '' : 'error';
  } catch (e) {
    pre.textContent = 'error: ' + e;
    pre.className = 'error';
  }
}

$('chain-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = $('chain-id').value.trim();
  if (id) { selectedStatus = null; show(id); }
});

const live = $('live');
const feed = new EventSource('/dashboard/events');
feed.addEventListener('overview', (ev) => {
  live.textContent = 'live';
  live.className = 'badge live';
  render(JSON.parse(ev.data));
});
feed.onerror = () => {
  live.textContent = 'reconnecting…';
  live.className = 'badge';
};
`;
