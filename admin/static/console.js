// qyshook console: plain scripts, no build step. Every request goes to the
// admin API with the session cookie and, when it writes, the CSRF header.
'use strict';
(function () {
  const MSGS = JSON.parse(document.getElementById('msgs').textContent);
  const T = (k) => (k in MSGS ? MSGS[k] : '!' + k);
  const page = document.body.dataset.page;
  const role = document.body.dataset.role;
  const operator = role === 'operator';
  const API = '/api/v1';

  // el builds an element; children are nodes or text (never parsed as HTML).
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }
  const $ = (s) => document.querySelector(s);

  class APIError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  async function api(path, opts) {
    opts = opts || {};
    const init = { method: opts.method || 'GET', credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (init.method !== 'GET') {
      init.headers['X-Qyshook-Console'] = '1';
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body || {});
    }
    const resp = await fetch(API + path, init);
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) {
      const err = (body && body.error) || { code: 'http_' + resp.status, message: resp.statusText };
      if (resp.status === 401) { location.href = '/console/login?expired=1&next=' + encodeURIComponent(location.pathname + location.search); }
      throw new APIError(resp.status, err.code, err.message);
    }
    return body;
  }
  function flash(msg, kind) {
    const f = $('#flash');
    f.textContent = msg;
    f.className = 'flash ' + (kind || 'info');
    f.hidden = false;
  }
  function showError(e) { flash(T('error.prefix') + ' ' + (e.message || e), 'error'); }
  function fmtTime(s) {
    if (!s) return '—';
    const d = new Date(s);
    if (isNaN(d)) return s;
    return d.toLocaleString(document.documentElement.lang, { hour12: false });
  }
  function fmtAge(sec) {
    if (sec === undefined || sec === null) return '—';
    if (sec < 90) return Math.round(sec) + ' s';
    if (sec < 5400) return Math.round(sec / 60) + ' min';
    if (sec < 129600) return (sec / 3600).toFixed(1) + ' h';
    return (sec / 86400).toFixed(1) + ' d';
  }
  function fmtSize(n) {
    if (n === undefined || n === null) return '—';
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }
  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) u.set(k, v);
    const s = u.toString();
    return s ? '?' + s : '';
  }
  // word translates a code through the catalog ("status.SIGNING" …),
  // the code itself when the catalog has no word for it.
  function word(prefix, code) { const k = prefix + code; return code && k in MSGS ? MSGS[k] : (code || '—'); }
  // badge shows a status once, as a word; the raw code is its title.
  function badge(status) { return el('span', { class: 'badge s-' + String(status || '').toLowerCase(), title: status || '' }, word('status.', status)); }
  function typeText(t) { return el('span', { title: t || '' }, word('type.', t)); }
  function sourceText(s) { return word('source.', s); }
  // verdict shows an archived PDF's signature check; the problem is the
  // cell's title.
  function verdict(d) {
    if (!d.verify_verdict) return el('span', { class: 'hint' }, d.sha256 ? T('verify.none') : '—');
    const n = d.verify_signatures ? ' (' + d.verify_signatures + ')' : '';
    return el('span', { class: 'verdict v-' + d.verify_verdict, title: d.verify_problem || '' }, T('verify.' + d.verify_verdict) + n);
  }

  // pager lists path with the query, appending rows; the "more" button
  // follows next_cursor.
  function pager(path, params, tbody, row) {
    const more = $('#more');
    let cursor = '';
    async function load() {
      try {
        const p = Object.assign({}, params);
        if (cursor) p.cursor = cursor;
        const body = await api(path + qs(p));
        for (const it of body.items) tbody.append(row(it));
        if (!body.items.length && !tbody.children.length) {
          const cols = tbody.parentElement.querySelectorAll('thead th').length;
          tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: cols }, T('list.empty'))));
        }
        cursor = body.next_cursor || '';
        if (more) more.hidden = !cursor;
      } catch (e) { showError(e); }
    }
    if (more) more.onclick = load;
    return load();
  }

  // ---------- overview ----------
  // fmtT fills a message's {name} slots.
  function fmtT(key, vals) { return T(key).replace(/\{(\w+)\}/g, (m, k) => (k in vals ? vals[k] : m)); }
  function hintText(h) { return h ? T('hint.' + h) : T('hint.none'); }
  // showOverview draws one /overview answer; the page reads it again
  // every 5 s, so a failure shows within seconds of starting.
  function showOverview(ov) {
    const set = (id, v) => { $(id).textContent = v; };
    const tbody = $('#ov-tenants tbody');
    set('#ov-throughput', ov.callbacks_per_min ?? '—');
    set('#ov-throughput-sub', T('overview.per_min'));
    set('#ov-lag', ov.lag ?? '—');
    set('#ov-lag-sub', T('overview.lag_hint'));
    set('#ov-retrying', ov.unacked ?? '—');
    set('#ov-retrying-sub', (ov.redelivered ?? 0) + ' ' + T('overview.redelivered') + ' · ' + T('overview.retrying_hint'));
    $('#ov-retrying').classList.toggle('warn', (ov.redelivered ?? 0) > 0);
    set('#ov-dlq', ov.dlq_depth ?? ov.dead_letters ?? '—');
    $('#ov-dlq').classList.toggle('warn', (ov.dlq_depth ?? ov.dead_letters ?? 0) > 0);
    const d = ov.documents || {};
    set('#ov-docs', d.pending ?? 0);
    set('#ov-docs-sub', (d.failed ?? 0) + ' ' + T('overview.failed'));
    const lr = ov.last_reconcile;
    set('#ov-reconcile', lr ? fmtTime(lr.finished_at || lr.started_at) : T('overview.never'));
    if (lr) set('#ov-reconcile-sub', T('overview.checked') + ' ' + (lr.checked ?? '—'));
    const cc = ov.certifications || {};
    set('#ov-certs', cc.unconfirmed ?? 0);
    set('#ov-certs-sub', (cc.pending ?? 0) + ' ' + T('overview.pending_certs'));
    $('#ov-certs').classList.toggle('warn', (cc.unconfirmed ?? 0) > 0);
    const deg = $('#ov-degraded');
    if (ov.degraded) {
      const n = Math.max(0, Math.round((Date.now() - new Date(ov.degraded_since)) / 1000));
      deg.textContent = T('overview.degraded') + ' ' + fmtT('overview.degraded_for', { n, since: fmtTime(ov.degraded_since) });
      deg.hidden = false;
    } else deg.hidden = true;
    const failing = ov.failing || [];
    $('#ov-failing-box').hidden = !failing.length;
    const fb = $('#ov-failing tbody');
    fb.replaceChildren();
    for (const c of failing) {
      fb.append(el('tr', { class: 'failing-row' + (c.platform ? ' platform' : '') }, el('td', {}, c.tenant), el('td', { class: 'mono' }, c.reason),
        el('td', { class: 'mono' }, c.code || '—'), el('td', {}, c.failures), el('td', {}, fmtTime(c.first_seen)),
        el('td', { class: 'reason' }, c.last_error), el('td', { class: 'hint-cell' }, hintText(c.hint))));
    }
    tbody.replaceChildren();
    for (const t of ov.tenants || []) {
      const unconfirmed = t.unconfirmed_certifications ?? 0;
      tbody.append(el('tr', {}, el('td', {}, t.tenant), el('td', {}, statusList(t.contracts_by_status || {})), el('td', {}, t.certifications ?? 0),
        el('td', {}, unconfirmed ? el('a', { class: 'badge cert-unconfirmed', href: '/console/certifications' + qs({ tenant: t.tenant, confirmed: 'false' }) }, unconfirmed) : 0),
        el('td', {}, t.pending_certifications ?? 0)));
    }
    const lg = ov.log;
    const la = lg && lg.latest_anchored;
    set('#ov-checkpoint', la ? fmtAge(la.age_seconds) + ' ' + T('overview.ago') : (lg ? T('overview.never') : '—'));
    if (lg) {
      set('#ov-checkpoint-sub', (la ? T('overview.leaves') + ' ' + la.size + ' · ' : '') + (lg.unanchored ?? 0) + ' ' + T('overview.unanchored'));
      $('#ov-checkpoint').classList.toggle('warn', (lg.unanchored ?? 0) > 0);
      if (la) $('#ov-checkpoint').title = la.root;
    }
    set('#ov-source', T('overview.from_api') + (ov.nats_sync ? ' NATS sync: ' + ov.nats_sync : ''));
  }
  // ---------- charts: small SVGs drawn here, no library ----------
  const SVGNS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  const CHARTS = ['received', 'applied', 'refused', 'retried', 'dead_lettered', 'lag'];
  const CHART_COLORS = { received: '#1f5eff', applied: '#12805c', refused: '#c4320a', retried: '#b54708', dead_lettered: '#b42318', lag: '#7a5af8' };
  function chartSVG(points, color, stepSec, start) {
    const w = 300, h = 80, pad = 2;
    const svg = svgEl('svg', { viewBox: '0 0 ' + w + ' ' + h, role: 'img', preserveAspectRatio: 'none' });
    const max = Math.max(1, ...points);
    const n = points.length;
    const x = (i) => pad + (n > 1 ? i * (w - 2 * pad) / (n - 1) : 0);
    const y = (v) => h - pad - v * (h - 2 * pad) / max;
    svg.append(svgEl('line', { x1: 0, y1: h - pad, x2: w, y2: h - pad, stroke: '#e4e7ec', 'stroke-width': 1 }));
    const d = points.map((v, i) => (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1)).join(' ');
    svg.append(svgEl('path', { d: d + ' L' + x(n - 1).toFixed(1) + ' ' + (h - pad) + ' L' + x(0) + ' ' + (h - pad) + ' Z', fill: color, 'fill-opacity': 0.12, stroke: 'none' }));
    svg.append(svgEl('path', { d, fill: 'none', stroke: color, 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke' }));
    const title = svgEl('title', {});
    title.textContent = fmtTime(start) + ' … ' + fmtTime(new Date(new Date(start).getTime() + n * stepSec * 1000).toISOString());
    svg.append(title);
    return svg;
  }
  let chartWindow = '1h', chartTenant = '';
  async function charts() {
    const box = $('#ov-charts');
    if (!box) return;
    let a;
    try { a = await api('/activity' + qs({ window: chartWindow })); } catch (e) { box.hidden = true; return; }
    box.hidden = false;
    const tenants = [...new Set(a.series.filter((s) => s.tenant).map((s) => s.tenant))].sort();
    const sel = el('select', { id: 'chart-tenant', onchange: (ev) => { chartTenant = ev.target.value; charts(); } },
      el('option', { value: '' }, T('charts.all_tenants')), ...tenants.map((t) => el('option', { value: t }, t)));
    sel.value = chartTenant;
    const btn = (w, label) => el('button', { type: 'button', id: 'chart-' + w, class: w === chartWindow ? '' : 'secondary',
      onclick: () => { chartWindow = w; charts(); } }, T(label));
    const grid = el('div', { class: 'charts' });
    const n = a.window === '24h' ? 96 : 60;
    for (const name of CHARTS) {
      const pts = new Array(n).fill(0);
      for (const s of a.series) {
        if (s.name !== name || (chartTenant && s.tenant && s.tenant !== chartTenant)) continue;
        s.points.forEach((v, i) => { pts[i] = name === 'lag' ? Math.max(pts[i], v) : pts[i] + v; });
      }
      const total = pts.reduce((x, y) => x + y, 0), max = Math.max(0, ...pts);
      const fig = name === 'lag' ? fmtT('charts.max', { n: max }) : fmtT('charts.total', { n: total });
      grid.append(el('figure', { class: 'chart', 'data-series': name, 'data-total': name === 'lag' ? max : total },
        el('figcaption', {}, el('span', { class: 'chart-name' }, T('charts.' + name)), ' ', el('span', { class: 'chart-figure' }, fig)),
        chartSVG(pts, CHART_COLORS[name], a.step_seconds, a.start)));
    }
    box.replaceChildren(el('div', { class: 'chart-head' }, el('h2', {}, T('charts.title')), btn('1h', 'charts.hour'), btn('24h', 'charts.day'), sel),
      grid, el('p', { class: 'hint' }, T('charts.since_start')));
  }
  async function overview() {
    const set = (id, v) => { $(id).textContent = v; };
    const tbody = $('#ov-tenants tbody');
    let ov = null;
    try { ov = await api('/overview'); } catch (e) { if (e.status !== 404) showError(e); }
    if (ov) {
      showOverview(ov);
      charts();
      let ticks = 0;
      const again = async () => {
        try { showOverview(await api('/overview')); $('#flash').hidden = true; } catch (e) { showError(e); }
        if (++ticks % 6 === 0) charts();
        setTimeout(again, 5000);
      };
      setTimeout(again, 5000);
      return;
    }
    // Without /overview: what the read routes tell.
    set('#ov-source', T('overview.computed'));
    try {
      const streams = await api('/streams');
      const cb = streams.items[0] || {};
      let lag = 0;
      for (const c of cb.consumers || []) lag += c.pending + c.ack_pending;
      set('#ov-lag', lag);
      set('#ov-lag-sub', T('overview.lag_hint'));
      set('#ov-throughput', cb.messages ?? 0);
      set('#ov-throughput-sub', T('overview.stored') + ' · ' + T('overview.last') + ' ' + fmtTime(cb.last_time));
    } catch (e) { set('#ov-lag', '—'); set('#ov-throughput', '—'); }
    try {
      const dl = await api('/dead-letters?limit=500');
      set('#ov-dlq', dl.items.length + (dl.next_cursor ? '+' : ''));
    } catch (e) { set('#ov-dlq', '—'); }
    try {
      const p = await api('/documents?state=pending&limit=500');
      const f = await api('/documents?state=failed&limit=500');
      set('#ov-docs', p.items.length + (p.next_cursor ? '+' : ''));
      set('#ov-docs-sub', f.items.length + (f.next_cursor ? '+' : '') + ' ' + T('overview.failed'));
    } catch (e) { set('#ov-docs', '—'); }
    try {
      const r = await api('/reconcile-runs?limit=1');
      const lr = r.items && r.items[0];
      set('#ov-reconcile', lr ? fmtTime(lr.finished_at || lr.started_at) : T('overview.never'));
    } catch (e) { set('#ov-reconcile', '—'); }
    try {
      const cs = await api('/contracts?limit=500');
      const by = {};
      for (const c of cs.items) { by[c.tenant] = by[c.tenant] || {}; by[c.tenant][c.status] = (by[c.tenant][c.status] || 0) + 1; }
      for (const t of Object.keys(by).sort()) {
        let certs = '—';
        try { const cp = await api('/certifications?tenant=' + encodeURIComponent(t) + '&limit=500'); certs = cp.items.length + (cp.next_cursor ? '+' : ''); } catch (e) { /* shown as — */ }
        tbody.append(el('tr', {}, el('td', {}, t), el('td', {}, statusList(by[t])), el('td', {}, certs), el('td', {}, '—'), el('td', {}, '—')));
      }
    } catch (e) { showError(e); }
  }
  function statusList(m) {
    const span = el('span', { class: 'statuses' });
    for (const s of Object.keys(m).sort()) span.append(badge(s), ' ', m[s], '  ');
    return span;
  }

  // ---------- contracts ----------
  // The statuses the filter offers (the catalog words of each).
  const STATUSES = ['DRAFT', 'FILLING', 'SIGNING', 'COMPLETE', 'REJECTED', 'RECALLED', 'EXPIRED', 'FAILED', 'FORCE_END', 'END',
    'FINISHED', 'INVALIDING', 'INVALIDED', 'TERMINATING', 'TERMINATED'];
  // dayStart is a date input's day (local time) as an RFC 3339 instant.
  function dayStart(v, plusDays) {
    const [y, m, d] = v.split('-').map(Number);
    return new Date(y, m - 1, d + (plusDays || 0)).toISOString().replace('.000Z', 'Z');
  }
  function contracts() {
    const url = new URLSearchParams(location.search);
    const sel = $('#f-status');
    for (const st of STATUSES) sel.append(el('option', { value: st }, word('status.', st)));
    const params = { total: 'true' };
    for (const [k, id] of [['subject', '#f-subject'], ['tenant', '#f-tenant'], ['status', '#f-status'], ['id_prefix', '#f-id'], ['biz_id', '#f-biz'],
      ['from', '#f-from'], ['to', '#f-to'], ['limit', '#f-limit']]) {
      const v = (url.get(k) || '').trim();
      if (v) $(id).value = k === 'status' ? v.toUpperCase() : v;
      if (!v) continue;
      if (k === 'from') params.updated_since = dayStart(v);
      else if (k === 'to') params.updated_before = dayStart(v, 1);
      else params[k] = k === 'status' ? v.toUpperCase() : v;
    }
    // An old link's exact id still works.
    if (url.get('id')) params.id = url.get('id').trim();
    const size = Number($('#f-limit').value) || 50;
    params.limit = size;
    const tbody = $('#contracts tbody');
    const stack = [''];
    let next = '';
    async function load() {
      const p = Object.assign({}, params);
      if (stack[stack.length - 1]) p.cursor = stack[stack.length - 1];
      let body;
      try { body = await api('/contracts' + qs(p)); } catch (e) { showError(e); return; }
      tbody.replaceChildren();
      for (const c of body.items) {
        tbody.append(el('tr', { class: 'contract-row' },
          el('td', {}, c.tenant),
          el('td', {}, el('a', { href: contractHref(c.tenant, c.id), class: 'contract-link mono' }, c.id), copyButton(c.id)),
          el('td', {}, c.subject),
          el('td', {}, badge(c.status)),
          el('td', {}, c.confirmed ? T('yes') : T('no')),
          el('td', {}, fmtTime(c.updated_at))));
      }
      if (!body.items.length) tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: 6 }, T('list.empty'))));
      next = body.next_cursor || '';
      const total = body.total ?? null;
      if (total !== null) $('#contracts-total').textContent = fmtT('contracts.total', { n: total });
      const pages = total !== null ? Math.max(1, Math.ceil(total / size)) : '?';
      $('#page-info').textContent = fmtT('contracts.page', { p: stack.length, n: pages });
      $('#page-prev').disabled = stack.length <= 1;
      $('#page-next').disabled = !next;
    }
    $('#page-next').onclick = () => { if (next) { stack.push(next); load(); } };
    $('#page-prev').onclick = () => { if (stack.length > 1) { stack.pop(); load(); } };
    return load();
  }

  // evidenceLink is the contract's evidence bundle through the API (the
  // session cookie authenticates the GET): the zip for an operator, the
  // masked report for a viewer. Without a bundle yet the API answers 404
  // with the reason.
  function evidenceLink(base) {
    const href = '/api/v1' + base + '/evidence';
    return operator
      ? el('a', { href, class: 'download evidence-download', download: '' }, T('evidence.download'))
      : el('a', { href, class: 'evidence-report', target: '_blank', rel: 'noopener' }, T('evidence.report'));
  }

  // ---------- one contract: the timeline ----------
  async function contract() {
    const parts = location.pathname.split('/');
    const tenant = decodeURIComponent(parts[3]), id = decodeURIComponent(parts[4]);
    const base = '/contracts/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(id);
    let c;
    try { c = await api(base); } catch (e) { showError(e); return; }
    let facts = [];
    try { facts = (await api(base + '/facts')).items; } catch (e) { if (e.status !== 404) showError(e); }
    $('#contract-head').append(
      el('h2', {}, c.subject || c.id),
      el('dl', { class: 'kv' },
        el('dt', {}, T('col.tenant')), el('dd', {}, c.tenant),
        el('dt', {}, T('col.contract_id')), el('dd', {}, el('span', { class: 'mono' }, c.id), copyButton(c.id)),
        el('dt', {}, T('col.biz_id')), el('dd', {}, c.biz_id || '—'),
        el('dt', {}, T('col.status')), el('dd', { id: 'contract-status' }, badge(c.status)),
        el('dt', {}, T('col.confirmed')), el('dd', {}, c.confirmed ? T('yes') : T('no')),
        el('dt', {}, T('col.updated')), el('dd', {}, fmtTime(c.updated_at)),
        el('dt', {}, T('col.completed')), el('dd', {}, fmtTime(c.completed_at)),
        el('dt', {}, T('timeline.log')), el('dd', { class: 'mono', id: 'contract-log' }, (c.log_indexes || []).join(', ') || '—'),
        el('dt', {}, T('evidence.title')), el('dd', { id: 'contract-evidence' }, evidenceLink(base))));
    // One list, oldest first: callbacks received and API confirmations
    // (the events applied), ledger changes and archive facts (the facts),
    // archived documents (their fetch time).
    const items = [];
    // Dead letters of this contract, in place (and what retried them).
    let dls = [];
    try { dls = (await api('/dead-letters' + qs({ tenant: c.tenant, contract_id: c.id, limit: 500 }))).items; } catch (e) { if (e.status !== 404) showError(e); }
    for (const e of c.events || []) {
      // A replay is shown when it was applied (its received time is the
      // original's).
      const replayed = e.source === 'replay';
      const kind = e.source === 'callback' ? 'callback' : (e.source === 'reconcile' ? 'confirm' : (replayed ? 'replay' : 'event'));
      items.push({ at: replayed ? e.applied_at : e.received_at, kind, title: T('timeline.' + kind) + ' · ' + word('type.', e.type),
        detail: T('timeline.source') + ' ' + sourceText(e.source) + ' · ' + (replayed ? T('timeline.received') + ' ' + fmtTime(e.received_at) : T('timeline.applied') + ' ' + fmtTime(e.applied_at)), id: e.id, log: e.log_index });
    }
    for (const d of dls) {
      items.push({ at: d.created_at, kind: 'dead', title: T('timeline.dead') + ' · ' + word('type.', d.type),
        detail: fmtT('timeline.dead_detail', { id: d.id, n: d.deliveries }) + (d.retry_of ? ' · ' + fmtT('timeline.retry_failed', { id: d.retry_of }) : '') + ' · ' + d.reason, id: d.event_id });
    }

    // Each event's trace id (the callback's W3C trace) closes its line.
    for (const e of c.events || []) {
      const it = e.trace_id && items.find((x) => x.id === e.id);
      if (it) it.detail += ' · ' + T('timeline.trace') + ' ' + e.trace_id;
    }
    for (const f of facts) {
      if (f.documents && f.documents.length) {
        items.push({ at: f.occurred_at, kind: 'fact', title: T('timeline.fact_docs') + ' · ' + f.documents.length, detail: '#' + f.seq + ' · ' + f.subject, id: f.id, log: f.log_index });
      } else {
        items.push({ at: f.occurred_at, kind: f.confirmed ? 'confirmed-change' : 'change',
          title: T('timeline.change') + ' · ' + (f.previous_status ? word('status.', f.previous_status) : '∅') + ' → ' + word('status.', f.status),
          detail: '#' + f.seq + ' · ' + (f.confirmed ? T('timeline.confirmed') : T('timeline.unconfirmed')) + ' · ' + T('timeline.source') + ' ' + sourceText(f.source), id: f.id, log: f.log_index });
      }
    }
    for (const d of c.documents || []) {
      if (d.fetched_at) items.push({ at: d.fetched_at, kind: 'document', title: T('timeline.archived') + ' · ' + (d.title || d.id), detail: fmtSize(d.size) + ' · sha256 ' + (d.sha256 || '').slice(0, 16) + '…', log: d.log_index });
    }
    items.sort((a, b) => new Date(a.at) - new Date(b.at));
    const ol = $('#timeline');
    for (const it of items) {
      // Each item's position in the receipt log (its leaf index), when it has one.
      const pos = it.log === undefined || it.log === null ? T('timeline.log_none') : T('timeline.log') + ' ' + it.log;
      ol.append(el('li', { class: 'tl tl-' + it.kind, title: it.id || '' },
        el('time', {}, fmtTime(it.at)), el('div', { class: 'tl-title' }, it.title), el('div', { class: 'tl-detail' }, it.detail),
        el('div', { class: 'tl-log mono' }, pos)));
    }
    if (!items.length) ol.append(el('li', { class: 'empty' }, T('list.empty')));
    const docs = $('#documents tbody');
    for (const d of c.documents || []) {
      const link = d.sha256 && operator
        ? el('a', { href: '/console' + base + '/documents/' + encodeURIComponent(d.id), class: 'download', download: '' }, T('action.download'))
        : (d.sha256 ? el('span', { class: 'hint' }, T('timeline.operator_download')) : el('span', { class: 'hint' }, T('timeline.not_archived')));
      docs.append(el('tr', { class: 'doc-row' }, el('td', {}, d.title || d.id), el('td', {}, d.sha256 ? fmtSize(d.size) : '—'),
        el('td', {}, el('span', { class: 'mono sha' }, d.sha256 || '—'), d.sha256 ? copyButton(d.sha256) : null), el('td', {}, fmtTime(d.fetched_at)), el('td', {}, verdict(d)), el('td', {}, link)));
    }
    const sig = $('#signatories tbody');
    for (const s of c.signatories || []) sig.append(el('tr', {}, el('td', {}, s.serial_no), el('td', {}, s.tenant_name), el('td', {}, word('tenanttype.', s.tenant_type)), el('td', {}, badge(s.status))));
  }

  // ---------- certifications ----------
  // certState shows a certification's lifecycle state as a word (never
  // the raw code) and, beside it, who said it: a confirmed badge, or the
  // unconfirmed badge with its reason, so an unconfirmed success never
  // reads as certified on its own.
  function certState(c) {
    const state = String(c.state || '');
    const k = 'certstate.' + state.toLowerCase();
    const word = k in MSGS ? MSGS[k] : state;
    const span = el('span', { class: 'cert-state' },
      el('span', { class: 'badge cs-' + state.toLowerCase(), title: state + ' · ' + T('cert.raw_status') + ' ' + (c.status || '—') }, word), ' ');
    if (c.confirmed) {
      span.append(el('span', { class: 'badge cert-confirmed', title: T('cert.confirmed_hint') }, T('cert.confirmed')));
    } else {
      const rk = 'cert.reason.' + (c.reason || 'none');
      span.append(el('span', { class: 'badge cert-unconfirmed', title: rk in MSGS ? MSGS[rk] : c.reason },
        T('cert.unconfirmed') + ' (' + (c.reason || T('cert.reason.none')) + ')'));
    }
    return span;
  }
  function certPath(c) { return '/console/certifications/' + encodeURIComponent(c.tenant) + '/' + encodeURIComponent(c.request_id); }
  function certifications() {
    const url = new URLSearchParams(location.search);
    const tenant = url.get('tenant') || 'default', kind = url.get('kind') || '', confirmed = url.get('confirmed') || '';
    $('#c-tenant').value = tenant; $('#c-kind').value = kind; $('#c-confirmed').value = confirmed;
    pager('/certifications', { tenant, kind, confirmed }, $('#certifications tbody'), (c) => el('tr', { class: 'cert-row' + (c.confirmed ? '' : ' unconfirmed'), 'data-id': c.request_id },
      el('td', {}, c.tenant), el('td', { class: 'mono' }, el('a', { href: certPath(c), class: 'cert-link' }, c.request_id)),
      el('td', {}, T('cert.' + c.kind)), el('td', {}, c.name),
      el('td', {}, certState(c)), el('td', {}, c.pending ? T('cert.pending') : T('cert.settled')), el('td', {}, fmtTime(c.updated_at))));
  }

  // ---------- one certification ----------
  async function certification() {
    const parts = location.pathname.split('/');
    const tenant = decodeURIComponent(parts[3]), id = decodeURIComponent(parts[4]);
    let c;
    try { c = await api('/certifications/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(id)); } catch (e) { showError(e); return; }
    const rk = 'cert.reason.' + (c.reason || 'none');
    $('#cert-head').append(
      el('h2', {}, c.name || c.request_id),
      el('dl', { class: 'kv' },
        el('dt', {}, T('col.tenant')), el('dd', {}, c.tenant),
        el('dt', {}, T('col.request_id')), el('dd', { class: 'mono' }, c.request_id),
        el('dt', {}, T('col.type')), el('dd', {}, T('cert.' + c.kind)),
        el('dt', {}, T('col.state')), el('dd', { id: 'cert-state' }, certState(c)),
        el('dt', {}, T('col.confirmed')), el('dd', { id: 'cert-confirmed' }, c.confirmed ? T('cert.confirmed_hint') : (rk in MSGS ? MSGS[rk] : c.reason)),
        el('dt', {}, T('col.pending')), el('dd', {}, c.pending ? T('cert.pending') : T('cert.settled')),
        el('dt', {}, T('cert.raw_status')), el('dd', { class: 'mono' }, c.status || '—'),
        el('dt', {}, T('cert.fail_reason')), el('dd', {}, c.fail_reason || '—'),
        el('dt', {}, T('col.updated')), el('dd', {}, fmtTime(c.updated_at))));
    if (c.answer !== undefined && c.answer !== null) {
      $('#cert-answer-title').hidden = false;
      const pre = $('#cert-answer');
      pre.hidden = false;
      pre.textContent = JSON.stringify(c.answer, null, 2);
    }
    $('#cert-detail').textContent = c.detail ? JSON.stringify(c.detail, null, 2) : '—';
  }

  // ---------- dead letters ----------
  function contractHref(tenant, id) { return '/console/contracts/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(id); }
  function retrySummary(r) {
    return fmtT('dlq.retry_summary', { republished: r.republished ?? 0, selected: r.selected ?? 0, duplicates: r.duplicates ?? 0, failed: r.failed ?? 0 });
  }
  // copyButton copies text to the clipboard.
  function copyButton(text) {
    return el('button', { class: 'copy', type: 'button', title: T('action.copy'), 'data-copy': text, onclick: async (ev) => {
      ev.preventDefault();
      const b = ev.currentTarget;
      try { await navigator.clipboard.writeText(text); } catch (e) {
        const ta = el('textarea', {}, text); document.body.append(ta); ta.select();
        try { document.execCommand('copy'); } catch (e2) { /* nothing more to try */ }
        ta.remove();
      }
      b.textContent = T('action.copied');
      setTimeout(() => { b.textContent = T('action.copy'); }, 1500);
    } }, T('action.copy'));
  }
  function deadLetters() {
    const tbody = $('#dead-letters tbody');
    const box = $('#dl-issues');
    const reload = async () => {
      tbody.replaceChildren();
      await Promise.all([loadIssues(), pager('/dead-letters', {}, tbody, row)]);
    };
    async function loadIssues() {
      let r;
      try { r = await api('/dead-letters/issues'); } catch (e) { showError(e); return; }
      box.replaceChildren();
      if (!r.items.length) { box.append(el('p', { class: 'hint', id: 'no-issues' }, T('dlq.no_issues'))); return; }
      for (const is of r.items) {
        const contracts = el('span', { class: 'issue-contracts' });
        for (const c of is.contracts || []) contracts.append(el('a', { href: contractHref(is.tenant, c), class: 'mono' }, c), ' ');
        if (is.contracts_affected > (is.contracts || []).length) contracts.append('…');
        const card = el('div', { class: 'card issue', 'data-key': is.key },
          el('div', { class: 'issue-head' }, el('span', { class: 'issue-count' }, is.count), ' ', T('dlq.count'), ' · ',
            el('span', { class: 'mono' }, is.reason), is.code ? el('span', { class: 'badge code' }, is.code) : null,
            ' · ', T('col.tenant'), ' ', is.tenant),
          el('div', { class: 'hint' }, T('dlq.first_seen'), ' ', fmtTime(is.first_seen), ' · ', T('dlq.last_seen'), ' ', fmtTime(is.last_seen),
            is.endpoint ? ' · ' + T('dlq.endpoint') + ' ' + is.endpoint : '', ' · ', is.contracts_affected, ' ', T('dlq.contracts_affected')),
          el('div', { class: 'reason' }, is.error),
          is.hint ? el('div', { class: 'fix-hint' }, hintText(is.hint)) : null,
          el('div', {}, contracts));
        if (operator) card.append(el('p', {}, el('button', { class: 'retry-group', onclick: () => retryGroup(is) }, T('dlq.retry_group'))));
        box.append(card);
      }
    }
    function row(d) {
      const contract = d.contract_id ? el('a', { href: contractHref(d.tenant, d.contract_id), class: 'mono dl-contract' }, d.contract_id) : '—';
      const code = (d.reason || '').split(': ')[0];
      const tr = el('tr', { class: 'dl-row', 'data-id': d.id },
        el('td', {}, d.id, d.retry_of ? el('div', { class: 'badge retry-of' }, fmtT('dlq.retry_of', { id: d.retry_of })) : null),
        el('td', {}, d.tenant), el('td', {}, typeText(d.type)), el('td', {}, contract),
        el('td', { class: 'reason', title: d.reason }, code), el('td', {}, d.deliveries), el('td', {}, fmtTime(d.created_at)));
      const actions = el('td', { class: 'actions' }, el('button', { class: 'details secondary', onclick: () => details(d, tr) }, T('dlq.details')));
      if (operator) {
        actions.append(' ', el('button', { class: 'retry', onclick: () => retry(d.id) }, T('dlq.retry')), ' ',
          el('button', { class: 'purge danger', onclick: () => purge(d) }, T('dlq.purge')));
      }
      tr.append(actions);
      return tr;
    }
    async function details(d, tr) {
      const next = tr.nextElementSibling;
      if (next && next.classList.contains('dl-detail')) { next.remove(); return; }
      let full;
      try { full = await api('/dead-letters/' + d.id); } catch (e) { showError(e); return; }
      const hist = el('ol', { class: 'dl-history' });
      if (full.received_at) hist.append(el('li', {}, fmtTime(full.received_at), ' · ', T('dlq.h_received')));
      if (full.first_failed_at) hist.append(el('li', {}, fmtTime(full.first_failed_at), ' · ', T('dlq.h_first_failed')));
      if (full.retry_of) hist.append(el('li', {}, fmtT('dlq.h_retry_of', { id: full.retry_of, n: full.retries })));
      hist.append(el('li', {}, fmtTime(full.created_at), ' · ', fmtT('dlq.h_dead', { n: full.deliveries })));
      const cols = tr.children.length;
      tr.after(el('tr', { class: 'dl-detail' }, el('td', { colspan: cols },
        el('h3', {}, T('dlq.history')), hist,
        el('h3', {}, T('dlq.error')), el('div', { class: 'reason' }, full.reason),
        el('p', {}, 'event ', el('span', { class: 'mono' }, full.event_id), ' ', copyButton(full.event_id)),
        el('h3', {}, operator ? T('dlq.payload') : T('dlq.payload_masked')),
        el('pre', { class: 'json dl-payload' }, JSON.stringify(full.payload, null, 2)))));
    }
    // After a retry the dispatcher resolves the rows once it has applied
    // them: refresh for a while until they are gone.
    function refreshUntilGone(ids) {
      let tries = 0;
      const again = async () => {
        if (!ids.some((id) => document.querySelector('.dl-row[data-id="' + id + '"]')) || ++tries > 30) return;
        await reload();
        setTimeout(again, 1000);
      };
      setTimeout(again, 500);
    }
    async function retry(id) {
      try {
        const r = await api('/dead-letters/' + id + '/retry', { method: 'POST' });
        flash(retrySummary(r) + ' ' + T('dlq.resolves_later'), 'ok');
        await reload();
        refreshUntilGone([id]);
      } catch (e) { showError(e); }
    }
    async function retryGroup(is) {
      let dry;
      try { dry = await api('/dead-letters/retry', { method: 'POST', body: { issue: is.key, dry_run: true } }); } catch (e) { showError(e); return; }
      const dlg = $('#group-dialog');
      $('#group-title').textContent = fmtT('dlq.retry_group_confirm', { n: dry.selected });
      dlg.onclose = async () => {
        if (dlg.returnValue !== 'ok') return;
        try {
          // Only what the dry run counted: dead letters of this cause
          // that arrived since wait for the next dry run.
          const ids = (dry.items || []).map((it) => it.id);
          const r = await api('/dead-letters/retry', { method: 'POST', body: { issue: is.key, ids } });
          flash(retrySummary(r) + ' ' + T('dlq.resolves_later'), 'ok');
          await reload();
          refreshUntilGone(ids);
        } catch (e) { showError(e); }
      };
      dlg.showModal();
    }
    function purge(d) {
      const dlg = $('#purge-dialog');
      $('#purge-title').textContent = T('dlq.purge_confirm') + ' #' + d.id + ' (' + d.reason + ')';
      $('#purge-reason').value = '';
      dlg.onclose = async () => {
        if (dlg.returnValue !== 'ok') return;
        const reason = $('#purge-reason').value.trim();
        if (!reason) { flash(T('dlq.reason_required'), 'error'); return; }
        try {
          const r = await api('/dead-letters/' + d.id + '/purge', { method: 'POST', body: { reason } });
          flash(T('dlq.purged') + ' ' + (r.purged ?? 0), 'ok');
          await reload();
        } catch (e) { showError(e); }
      };
      dlg.showModal();
    }
    const all = $('#retry-all');
    if (all) all.onclick = async () => {
      if (!confirm(T('dlq.retry_all_confirm'))) return;
      try {
        const r = await api('/dead-letters/retry', { method: 'POST', body: { all: true } });
        flash(retrySummary(r) + ' ' + T('dlq.resolves_later'), 'ok');
        await reload();
        refreshUntilGone((r.items || []).map((it) => it.id));
      } catch (e) { showError(e); }
    };
    reload();
  }

  // ---------- replay ----------
  function replay() {
    let confirmToken = '', selector = null;
    const jobs = $('#replay-jobs tbody');
    async function loadJobs() {
      try {
        const r = await api('/replays');
        jobs.replaceChildren();
        for (const j of r.items || []) jobs.append(el('tr', { class: 'job-row' }, el('td', { class: 'mono' }, j.id), el('td', {}, badge(j.state)),
          el('td', {}, j.selected ?? '—'), el('td', {}, j.republished ?? '—'), el('td', {}, j.duplicates ?? '—'), el('td', {}, j.failed ?? '—'),
          el('td', {}, fmtTime(j.started_at)), el('td', {}, fmtTime(j.finished_at))));
        if ((r.items || []).some((j) => j.state === 'running')) setTimeout(loadJobs, 1000);
      } catch (e) { if (e.status !== 404) showError(e); }
    }
    function readSelector() {
      const s = {};
      const t = (id) => $(id).value.trim();
      const iso = (v) => (v ? new Date(v).toISOString().replace('.000Z', 'Z') : '');
      if (t('#r-from')) s.from = iso(t('#r-from'));
      if (t('#r-to')) s.to = iso(t('#r-to'));
      if (t('#r-from-seq')) s.from_seq = Number(t('#r-from-seq'));
      if (t('#r-to-seq')) s.to_seq = Number(t('#r-to-seq'));
      if (t('#r-tenant')) s.tenant = t('#r-tenant');
      if (t('#r-contract')) s.contract_id = t('#r-contract');
      if (t('#r-type')) s.type = t('#r-type');
      return s;
    }
    const fill = (tb, m) => { tb.replaceChildren(); for (const k of Object.keys(m || {}).sort()) tb.append(el('tr', {}, el('td', {}, k), el('td', {}, m[k]))); };
    const form = $('#replay-form');
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      if (!operator) return;
      selector = readSelector();
      $('#dry-result').hidden = true;
      try {
        const r = await api('/replays', { method: 'POST', body: { selector, dry_run: true } });
        confirmToken = r.confirm || '';
        $('#dry-selected').textContent = r.selected;
        fill($('#dry-by-tenant tbody'), r.by_tenant);
        fill($('#dry-by-type tbody'), r.by_type);
        $('#confirm-replay').disabled = !confirmToken || !r.selected;
        $('#dry-result').hidden = false;
      } catch (e) { showError(e); }
    };
    $('#confirm-replay').onclick = async () => {
      try {
        const r = await api('/replays', { method: 'POST', body: { selector, confirm: confirmToken } });
        flash(T('replay.started') + ' ' + r.id, 'ok');
        $('#dry-result').hidden = true;
        confirmToken = '';
        await loadJobs();
      } catch (e) { showError(e); }
    };
    loadJobs();
  }

  // ---------- live events ----------
  function live() {
    const tbody = $('#live tbody');
    let n = 0;
    const es = new EventSource(API + '/events/live');
    es.onopen = () => { $('#live-state').textContent = T('live.connected'); $('#live-state').className = 'ok'; };
    es.onerror = () => { $('#live-state').textContent = T('live.reconnecting'); $('#live-state').className = 'error'; };
    const add = (kind) => (m) => {
      let d = {};
      try { d = JSON.parse(m.data); } catch (e) { return; }
      n++;
      $('#live-count').textContent = n;
      const link = d.contract_id ? el('a', { href: '/console/contracts/' + encodeURIComponent(d.tenant) + '/' + encodeURIComponent(d.contract_id) }, d.contract_id) : '—';
      tbody.prepend(el('tr', { class: 'live-row ev-' + kind }, el('td', {}, fmtTime(d.at)), el('td', {}, T('live.' + kind)), el('td', {}, d.tenant),
        el('td', {}, word('kind.', d.kind)), el('td', {}, typeText(d.type)), el('td', {}, link), el('td', {}, d.status ? (String(d.kind).startsWith('auth.') ? el('span', { class: 'badge cs-' + d.status.toLowerCase(), title: d.status }, word('certstate.', d.status.toLowerCase())) : badge(d.status)) : '—'), el('td', {}, d.actor || '')));
      while (tbody.children.length > 500) tbody.lastChild.remove();
    };
    es.addEventListener('callback', add('callback'));
    es.addEventListener('fact', add('fact'));
  }

  // ---------- audit ----------
  function audit() {
    pager('/audit', { limit: 100 }, $('#audit tbody'), (e) => el('tr', { class: 'audit-row' + (e.outcome === 'ok' || e.outcome === 'accepted' || e.outcome === 'dry_run' ? '' : ' failed') },
      el('td', {}, e.id), el('td', {}, fmtTime(e.at)), el('td', { class: 'mono' }, e.who), el('td', { class: 'mono' }, e.action),
      el('td', { class: 'mono reason' }, JSON.stringify(e.selector)), el('td', {}, e.count), el('td', {}, e.outcome),
      el('td', { class: 'mono' }, e.job_id || '—')));
  }


  // ---------- endpoints ----------
  function endpoints() {
    const tbody = $('#endpoints tbody');
    async function reload() {
      try {
        const body = await api('/endpoints');
        tbody.replaceChildren();
        for (const e of body.items) tbody.append(row(e));
        if (!body.items.length) tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: operator ? 7 : 6 }, T('list.empty'))));
      } catch (e) { showError(e); }
    }
    function row(e) {
      const tr = el('tr', { class: 'ep-row', 'data-id': e.id },
        el('td', { class: 'mono' }, el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); show(e.id); } }, e.id)),
        el('td', {}, e.tenant), el('td', { class: 'mono' }, e.url),
        el('td', { class: 'mono' }, (e.types || []).join(', ') || T('ep.all')),
        el('td', {}, e.enabled ? T('ep.yes') : T('ep.no') + ' (' + e.disabled_reason + ')'),
        el('td', {}, e.failing_since ? fmtTime(e.failing_since) : '—'));
      if (operator) {
        tr.append(el('td', { class: 'actions' },
          el('button', { class: 'toggle', onclick: () => toggle(e) }, e.enabled ? T('ep.disable') : T('ep.enable')), ' ',
          el('button', { class: 'test', onclick: () => test(e.id) }, T('ep.test'))));
      }
      return tr;
    }
    async function toggle(e) {
      try { await api('/endpoints/' + encodeURIComponent(e.id) + (e.enabled ? '/disable' : '/enable'), { method: 'POST' }); await reload(); } catch (err) { showError(err); }
    }
    async function test(id) {
      try {
        const r = await api('/endpoints/' + encodeURIComponent(id) + '/test', { method: 'POST' });
        flash(T('ep.tested') + ': ' + (r.status || r.error) + ' · ' + r.latency_ms + ' ms', r.ok ? 'ok' : 'error');
      } catch (e) { showError(e); }
    }
    async function show(id) {
      try {
        const d = await api('/endpoints/' + encodeURIComponent(id));
        const e = d.endpoint, h = d.health;
        $('#endpoint-detail').hidden = false;
        $('#ep-title').textContent = e.id + ' · ' + e.url;
        const kv = $('#ep-health tbody');
        kv.replaceChildren();
        const add = (k, v) => kv.append(el('tr', {}, el('th', {}, k), el('td', {}, v)));
        add(T('ep.success_rate'), (100 * h.success_rate).toFixed(1) + ' % (' + h.attempts + ')');
        add(T('ep.latency'), h.latency_p50_ms + ' / ' + h.latency_p99_ms + ' ms');
        add(T('ep.dead_letters'), h.dead_letters);
        if (!e.enabled) add(T('ep.disabled_reason'), e.disabled_reason);
        if (e.failing_since) add(T('ep.failing_since'), fmtTime(e.failing_since));
        if (e.warned_at) add(T('ep.warned'), fmtTime(e.warned_at));
        if (h.disable_at) add(T('ep.disable_at'), fmtTime(h.disable_at));
        const at = $('#ep-attempts tbody');
        at.replaceChildren();
        pager('/endpoints/' + encodeURIComponent(id) + '/attempts', {}, at, (a) => el('tr', {},
          el('td', {}, fmtTime(a.at)), el('td', { class: 'mono' }, a.fact_id), el('td', {}, a.attempt),
          el('td', {}, a.status || '—'), el('td', {}, a.latency_ms),
          el('td', {}, a.next_attempt_at ? fmtTime(a.next_attempt_at) : '—'), el('td', { class: 'reason' }, a.error)));
      } catch (e) { showError(e); }
    }
    reload();
  }

  const pages = { audit, overview, contracts, contract, certifications, certification, 'dead-letters': deadLetters, endpoints, replay, live };
  if (pages[page]) pages[page]();
})();
