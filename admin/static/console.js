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
      if (resp.status === 401) { location.href = '/console/login'; }
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
  function badge(status) { return el('span', { class: 'badge s-' + String(status || '').toLowerCase() }, status || '—'); }
  // verdict shows an archived PDF's signature check; the problem is the
  // cell's title.
  function verdict(d) {
    if (!d.verify_verdict) return el('span', { class: 'hint' }, d.sha256 ? T('verify.none') : '—');
    const n = d.verify_signatures ? ' (' + d.verify_signatures + ')' : '';
    return el('span', { class: 'verdict v-' + d.verify_verdict, title: d.verify_problem || '' }, T('verify.' + d.verify_verdict) + n);
  }
  function statusText(s) { const k = 'status.' + s; return k in MSGS ? MSGS[k] + ' (' + s + ')' : s; }

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
  async function overview() {
    const set = (id, v) => { $(id).textContent = v; };
    const tbody = $('#ov-tenants tbody');
    let ov = null;
    try { ov = await api('/overview'); } catch (e) { if (e.status !== 404) showError(e); }
    if (ov) {
      set('#ov-throughput', ov.callbacks_per_min ?? '—');
      set('#ov-throughput-sub', T('overview.per_min'));
      set('#ov-lag', ov.lag ?? '—');
      set('#ov-lag-sub', T('overview.lag_hint'));
      set('#ov-dlq', ov.dlq_depth ?? ov.dead_letters ?? '—');
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
      for (const t of ov.tenants || []) {
        const unconfirmed = t.unconfirmed_certifications ?? 0;
        tbody.append(el('tr', {}, el('td', {}, t.tenant), el('td', {}, statusList(t.contracts_by_status || {})), el('td', {}, t.certifications ?? 0),
          el('td', {}, unconfirmed ? el('a', { class: 'badge cert-unconfirmed', href: '/console/certifications' + qs({ tenant: t.tenant, confirmed: 'false' }) }, unconfirmed) : 0),
          el('td', {}, t.pending_certifications ?? 0)));
      }
      set('#ov-source', T('overview.from_api') + (ov.nats_sync ? ' NATS sync: ' + ov.nats_sync : ''));
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
  function contracts() {
    const params = {};
    const url = new URLSearchParams(location.search);
    for (const [k, id] of [['subject', '#f-subject'], ['tenant', '#f-tenant'], ['status', '#f-status'], ['id', '#f-id'], ['biz_id', '#f-biz']]) {
      const v = (url.get(k) || '').trim();
      $(id).value = v;
      if (v) params[k] = k === 'status' ? v.toUpperCase() : v;
    }
    pager('/contracts', params, $('#contracts tbody'), (c) => el('tr', { class: 'contract-row' },
      el('td', {}, c.tenant),
      el('td', {}, el('a', { href: '/console/contracts/' + encodeURIComponent(c.tenant) + '/' + encodeURIComponent(c.id), class: 'contract-link' }, c.id)),
      el('td', {}, c.subject),
      el('td', {}, badge(c.status)),
      el('td', {}, c.confirmed ? T('yes') : T('no')),
      el('td', {}, fmtTime(c.updated_at))));
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
        el('dt', {}, T('col.contract_id')), el('dd', {}, c.id),
        el('dt', {}, T('col.biz_id')), el('dd', {}, c.biz_id || '—'),
        el('dt', {}, T('col.status')), el('dd', { id: 'contract-status' }, badge(c.status), ' ', statusText(c.status)),
        el('dt', {}, T('col.confirmed')), el('dd', {}, c.confirmed ? T('yes') : T('no')),
        el('dt', {}, T('col.updated')), el('dd', {}, fmtTime(c.updated_at)),
        el('dt', {}, T('col.completed')), el('dd', {}, fmtTime(c.completed_at))));
    // One list, oldest first: callbacks received and API confirmations
    // (the events applied), ledger changes and archive facts (the facts),
    // archived documents (their fetch time).
    const items = [];
    for (const e of c.events || []) {
      const kind = e.source === 'callback' ? 'callback' : (e.source === 'reconcile' ? 'confirm' : 'event');
      items.push({ at: e.received_at, kind, title: T('timeline.' + kind) + ' · ' + e.type,
        detail: T('timeline.source') + ' ' + e.source + ' · ' + T('timeline.applied') + ' ' + fmtTime(e.applied_at), id: e.id });
    }

    // Each event's trace id (the callback's W3C trace) closes its line.
    for (const e of c.events || []) {
      const it = e.trace_id && items.find((x) => x.id === e.id);
      if (it) it.detail += ' · ' + T('timeline.trace') + ' ' + e.trace_id;
    }
    for (const f of facts) {
      if (f.documents && f.documents.length) {
        items.push({ at: f.occurred_at, kind: 'fact', title: T('timeline.fact_docs') + ' · ' + f.documents.length, detail: '#' + f.seq + ' · ' + f.subject, id: f.id });
      } else {
        items.push({ at: f.occurred_at, kind: f.confirmed ? 'confirmed-change' : 'change',
          title: T('timeline.change') + ' · ' + (f.previous_status || '∅') + ' → ' + f.status,
          detail: '#' + f.seq + ' · ' + (f.confirmed ? T('timeline.confirmed') : T('timeline.unconfirmed')) + ' · ' + T('timeline.source') + ' ' + (f.source || '—'), id: f.id });
      }
    }
    for (const d of c.documents || []) {
      if (d.fetched_at) items.push({ at: d.fetched_at, kind: 'document', title: T('timeline.archived') + ' · ' + (d.title || d.id), detail: fmtSize(d.size) + ' · sha256 ' + (d.sha256 || '').slice(0, 16) + '…' });
    }
    items.sort((a, b) => new Date(a.at) - new Date(b.at));
    const ol = $('#timeline');
    for (const it of items) {
      ol.append(el('li', { class: 'tl tl-' + it.kind, title: it.id || '' },
        el('time', {}, fmtTime(it.at)), el('div', { class: 'tl-title' }, it.title), el('div', { class: 'tl-detail' }, it.detail)));
    }
    if (!items.length) ol.append(el('li', { class: 'empty' }, T('list.empty')));
    const docs = $('#documents tbody');
    for (const d of c.documents || []) {
      const link = d.sha256 && operator
        ? el('a', { href: '/console' + base + '/documents/' + encodeURIComponent(d.id), class: 'download', download: '' }, T('action.download'))
        : (d.sha256 ? el('span', { class: 'hint' }, T('timeline.operator_download')) : el('span', { class: 'hint' }, T('timeline.not_archived')));
      docs.append(el('tr', { class: 'doc-row' }, el('td', {}, d.title || d.id), el('td', {}, d.sha256 ? fmtSize(d.size) : '—'),
        el('td', { class: 'mono sha' }, d.sha256 || '—'), el('td', {}, fmtTime(d.fetched_at)), el('td', {}, verdict(d)), el('td', {}, link)));
    }
    const sig = $('#signatories tbody');
    for (const s of c.signatories || []) sig.append(el('tr', {}, el('td', {}, s.serial_no), el('td', {}, s.tenant_name), el('td', {}, s.tenant_type), el('td', {}, badge(s.status))));
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
  function deadLetters() {
    const tbody = $('#dead-letters tbody');
    const reload = () => { tbody.replaceChildren(); return pager('/dead-letters', {}, tbody, row); };
    function row(d) {
      const tr = el('tr', { class: 'dl-row', 'data-id': d.id },
        el('td', {}, d.id), el('td', {}, d.tenant), el('td', {}, d.consumer), el('td', { class: 'mono' }, d.subject),
        el('td', { class: 'reason' }, d.reason), el('td', {}, d.deliveries), el('td', {}, fmtTime(d.created_at)));
      if (operator) {
        tr.append(el('td', { class: 'actions' },
          el('button', { class: 'retry', onclick: () => retry(d.id) }, T('dlq.retry')), ' ',
          el('button', { class: 'purge danger', onclick: () => purge(d) }, T('dlq.purge'))));
      }
      return tr;
    }
    async function retry(id) {
      try {
        const r = await api('/dead-letters/' + id + '/retry', { method: 'POST' });
        flash(T('dlq.retried') + ' ' + (r.republished ?? 0) + ' · ' + T('dlq.resolves_later'), 'ok');
        await reload();
        // The dispatcher resolves the row once it has applied the event:
        // refresh for a while until the row is gone.
        let tries = 0;
        const again = async () => {
          if (!document.querySelector('.dl-row[data-id="' + id + '"]') || ++tries > 30) return;
          await reload();
          setTimeout(again, 1000);
        };
        setTimeout(again, 500);
      } catch (e) { showError(e); }
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
      try { const r = await api('/dead-letters/retry', { method: 'POST', body: { all: true } }); flash(T('dlq.retried') + ' ' + JSON.stringify(r), 'ok'); await reload(); } catch (e) { showError(e); }
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
        el('td', {}, d.kind), el('td', {}, d.type), el('td', {}, link), el('td', {}, d.status ? badge(d.status) : '—'), el('td', {}, d.actor || '')));
      while (tbody.children.length > 500) tbody.lastChild.remove();
    };
    es.addEventListener('callback', add('callback'));
    es.addEventListener('fact', add('fact'));
  }

  const pages = { overview, contracts, contract, certifications, certification, 'dead-letters': deadLetters, replay, live };
  if (pages[page]) pages[page]();
})();
