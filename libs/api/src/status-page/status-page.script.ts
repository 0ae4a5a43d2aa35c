/**
 * The status page's browser script, as source text: plain ES2020, no modules, no libraries, so
 * that the page is one self-contained document. It reads only the api's JSON endpoints (the shapes
 * in ../api-types.ts and RunView) and builds the DOM with createElement and text nodes: data from
 * the api never goes through innerHTML.
 *
 * Written as String.raw so regular expressions keep their backslashes; it must not contain
 * backquotes or dollar-brace sequences (they would end or interpolate the template).
 */
export const STATUS_PAGE_SCRIPT = String.raw`
(function () {
  'use strict';

  var ACTIVE_RUN = ['requested', 'planned', 'running'];
  var ACTIVE_MS = 2000;
  var IDLE_MS = 5000;
  var RUN_LIMIT = 20;
  var MAX_FAILED_ROWS = 200;
  var MAX_EVENTS = 400;
  var TOKEN_KEY = 'almanac.status.token';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var BAD = ['failed', 'blocked', 'impossible'];
  var STATUSES = ['completed', 'skipped', 'failed', 'blocked', 'impossible', 'running', 'waiting', 'pending', 'never-run'];

  // the page is served at <base>/status: the api's routes are siblings of it
  var base = location.pathname.replace(/\/status\/?$/, '');

  var state = {
    date: new URLSearchParams(location.search).get('date'),
    onlyDate: false,
    selectedRunId: null,
    pinned: false,
    runs: [],
    backfills: [],
    liveRunActive: false,
    headKey: undefined,
    timer: null,
    loading: false,
    again: false,
    paused: false,
    // the last load failed: what is shown may be stale, so retry the full load, not the probe
    failed: false,
  };
  // views of finished runs never change again: fetched once
  var finishedViews = new Map();

  var el = {
    date: byId('date'),
    onlyDate: byId('only-date'),
    live: byId('live'),
    error: byId('error'),
    auth: byId('auth'),
    authForm: byId('auth-form'),
    token: byId('token'),
    authMessage: byId('auth-message'),
    dag: byId('dag'),
    dagDate: byId('dag-date'),
    legend: byId('legend'),
    runs: byId('runs-body'),
    backfills: byId('backfills-body'),
    failures: byId('failed-body'),
    failedDate: byId('failed-date'),
    timeline: byId('timeline'),
    updated: byId('updated'),
  };

  function byId(id) {
    return document.getElementById(id);
  }

  // ---------------------------------------------------------------- DOM helpers

  /** h('td', { class: 'x', testid: 'y', data: { status: 's' }, on: { click: f } }, children...) */
  function h(tag, props) {
    var node = document.createElement(tag);
    applyProps(node, props);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      node.setAttribute(k, String(attrs[k]));
    });
    return node;
  }

  function applyProps(node, props) {
    if (!props) return;
    Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'class') node.className = v;
      else if (k === 'testid') node.setAttribute('data-testid', v);
      else if (k === 'data') Object.keys(v).forEach(function (d) { node.setAttribute('data-' + d, String(v[d])); });
      else if (k === 'on') Object.keys(v).forEach(function (ev) { node.addEventListener(ev, v[ev]); });
      else node.setAttribute(k, String(v));
    });
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach(function (c) { append(node, c); });
      return;
    }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  /** node.replaceChildren, skipping null/false children instead of printing them */
  function setChildren(node) {
    var fragment = document.createDocumentFragment();
    for (var i = 1; i < arguments.length; i++) append(fragment, arguments[i]);
    node.replaceChildren(fragment);
  }

  function badge(status) {
    return h('span', { class: 'badge st-' + cssStatus(status), title: status }, status);
  }

  /** statuses come from the api: keep class names to a known alphabet */
  function cssStatus(status) {
    return String(status).toLowerCase().replace(/[^a-z-]/g, '');
  }

  // ---------------------------------------------------------------- formatting

  function fmtMs(ms) {
    if (ms === null || ms === undefined) return '';
    if (ms < 1000) return Math.round(ms) + ' ms';
    var s = ms / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + pad2(Math.floor(s % 60)) + ' s';
    return Math.floor(m / 60) + ' h ' + pad2(m % 60) + ' min';
  }

  function pad2(n) {
    return (n < 10 ? '0' : '') + n;
  }

  /** ISO -> "2026-01-10 02:00:03 UTC" */
  function fmtDateTime(iso) {
    if (!iso) return '';
    return String(iso).slice(0, 19).replace('T', ' ') + ' UTC';
  }

  /** ISO -> "02:00:03.125" */
  function fmtClock(iso) {
    if (!iso) return '';
    return String(iso).slice(11, 23);
  }

  function todayUtc() {
    return new Date().toISOString().slice(0, 10);
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  /** the api's describeReason, for RunView computations (which carry only the reason) */
  function describeReason(r) {
    if (!r) return '';
    switch (r.code) {
      case 'unchanged': return 'unchanged';
      case 'first-run': return 'first run';
      case 'changed': return 'changed: ' + (r.changed || []).join(', ');
      case 'forced': return r.changed && r.changed.length ? 'forced (changed: ' + r.changed.join(', ') + ')' : 'forced';
      case 'scoped': return 'restricted to ' + plural(r.entities, 'entity', 'entities');
      case 'dependency-not-ready':
        return 'blocked by ' + (r.dependencies || []).map(function (d) { return d.name + ' (' + d.status + ')'; }).join(', ');
      case 'mandatory-table-empty':
        return 'mandatory table "' + r.table + '" empty for ' + r.window.from + '..' + r.window.to;
      case 'entity-failures': return r.failed + ' of ' + r.total + ' entities failed';
      default: return r.message || r.code;
    }
  }

  function isActive(run) {
    return !!run && ACTIVE_RUN.indexOf(run.status) >= 0;
  }

  // ---------------------------------------------------------------- api

  function AuthError(message) {
    this.name = 'AuthError';
    this.message = message;
  }
  AuthError.prototype = Object.create(Error.prototype);

  function readToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function writeToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token lasts until the page is left */ }
    memoryToken = token;
  }
  var memoryToken = null;

  async function api(path) {
    var headers = { Accept: 'application/json' };
    var token = readToken() || memoryToken;
    if (token) headers.Authorization = 'Bearer ' + token;
    var res = await fetch(base + path, { headers: headers, cache: 'no-store', credentials: 'same-origin' });
    if (res.status === 401) throw new AuthError(token ? 'The token was refused.' : 'This api needs a bearer token.');
    if (!res.ok) {
      var text = await res.text().catch(function () { return ''; });
      throw new Error('GET ' + path + ' answered ' + res.status + errorDetail(text));
    }
    return res.json();
  }

  function errorDetail(text) {
    try {
      var body = JSON.parse(text);
      var m = body && body.message;
      return m ? ': ' + (Array.isArray(m) ? m.join('; ') : m) : '';
    } catch (e) {
      return text ? ': ' + text.slice(0, 200) : '';
    }
  }

  async function runView(runId) {
    if (finishedViews.has(runId)) return finishedViews.get(runId);
    var view = await api('/runs/' + encodeURIComponent(runId));
    if (!isActive(view)) {
      if (finishedViews.size > 100) finishedViews.clear();
      finishedViews.set(runId, view);
    }
    return view;
  }

  // ---------------------------------------------------------------- loading

  /** loads everything shown, then renders it in one go */
  async function load() {
    var filtered = state.onlyDate && state.date;
    var page = await api('/runs?limit=' + RUN_LIMIT + (filtered ? '&date=' + encodeURIComponent(state.date) : ''));
    var runs = page.runs || [];
    if (!filtered) state.headKey = headKey(runs[0]);
    if (!state.date) {
      state.date = runs.length ? runs[0].date : todayUtc();
    }
    var date = state.date;
    var comps = await api('/computations?date=' + encodeURIComponent(date));

    var selectedId = pickSelected(runs);
    var selected = null;
    var timeline = null;
    if (selectedId) {
      try {
        var both = await Promise.all([runView(selectedId), api('/runs/' + encodeURIComponent(selectedId) + '/events')]);
        selected = both[0];
        timeline = both[1];
      } catch (e) {
        if (e instanceof AuthError || !state.pinned) throw e;
        // a pinned run that is gone: follow the latest again
        state.pinned = false;
        state.selectedRunId = null;
        return load();
      }
    }

    // the run of this date in progress, if any: its running computations show on the DAG
    var activeRun = runs.filter(function (r) { return isActive(r) && r.date === date; })[0];
    var live = activeRun ? (activeRun.runId === selectedId ? selected : await runView(activeRun.runId)) : null;

    var failures = await failedEntities(comps);
    var backfills = (await api('/backfills')).backfills || [];

    state.runs = runs;
    state.backfills = backfills;
    state.liveRunActive = isActive(selected);
    render({ date: date, runs: runs, comps: comps, selected: selected, timeline: timeline, live: live, failures: failures, backfills: backfills });
  }

  function pickSelected(runs) {
    if (state.pinned && state.selectedRunId) return state.selectedRunId;
    state.selectedRunId = runs.length ? runs[0].runId : null;
    return state.selectedRunId;
  }

  function headKey(run) {
    return run ? run.runId + ':' + run.status : '';
  }

  /** failed entities of the date, with their messages from the run that decided each status */
  async function failedEntities(comps) {
    var failing = (comps.computations || []).filter(function (c) {
      return c.latest && (c.latest.status === 'failed' || (c.latest.failedEntities || []).length > 0);
    });
    var runIds = Array.from(new Set(failing.map(function (c) { return c.latest.runId; }).filter(Boolean)));
    var views = new Map();
    await Promise.all(runIds.map(async function (id) {
      try { views.set(id, await runView(id)); } catch (e) { if (e instanceof AuthError) throw e; }
    }));
    var rows = [];
    failing.forEach(function (c) {
      var view = views.get(c.latest.runId);
      var inRun = view && view.computations ? view.computations[c.name] : null;
      var list = inRun && inRun.failedEntities && inRun.failedEntities.length
        ? inRun.failedEntities
        : (c.latest.failedEntities || []).map(function (id) { return { entityId: id, message: '' }; });
      if (list.length === 0) {
        rows.push({ computation: c.name, entityId: null, message: c.latest.why, runId: c.latest.runId });
      }
      list.forEach(function (f) {
        rows.push({ computation: c.name, entityId: f.entityId, message: f.message, runId: c.latest.runId });
      });
    });
    return rows.sort(function (a, b) {
      return compare(a.computation, b.computation) || compare(a.entityId || '', b.entityId || '');
    });
  }

  function compare(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
  }

  // ---------------------------------------------------------------- refresh loop

  function anyActive() {
    return state.runs.some(isActive) || state.liveRunActive ||
      state.backfills.some(function (b) { return b.status === 'running'; });
  }

  async function refresh() {
    if (state.loading) {
      state.again = true;
      return;
    }
    clearTimeout(state.timer);
    state.loading = true;
    try {
      await load();
      state.failed = false;
      hideError();
      el.updated.textContent = 'Updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      state.failed = true;
      onError(e);
    } finally {
      state.loading = false;
    }
    if (state.again) {
      state.again = false;
      return refresh();
    }
    schedule();
  }

  /** every 2 s while a run is in progress; otherwise only a cheap look for a new run */
  function schedule() {
    clearTimeout(state.timer);
    if (state.paused) return setLive('auth', 'Paused: waiting for a token');
    if (state.failed) {
      state.timer = setTimeout(refresh, IDLE_MS);
    } else if (anyActive()) {
      setLive('active', 'Live: refreshing every ' + ACTIVE_MS / 1000 + ' s while a run is in progress');
      state.timer = setTimeout(refresh, ACTIVE_MS);
    } else {
      setLive('idle', 'Idle: no run in progress');
      state.timer = setTimeout(probe, IDLE_MS);
    }
  }

  async function probe() {
    try {
      var page = await api('/runs?limit=1');
      var key = headKey((page.runs || [])[0]);
      var seen = state.headKey;
      state.headKey = key;
      if (seen !== undefined && seen !== key) return refresh();
    } catch (e) {
      onError(e);
    }
    schedule();
  }

  function setLive(kind, text) {
    el.live.setAttribute('data-state', kind);
    el.live.textContent = text;
  }

  function onError(e) {
    if (e instanceof AuthError) {
      state.paused = true;
      el.authMessage.textContent = e.message;
      el.auth.hidden = false;
      el.token.focus();
      return;
    }
    el.error.textContent = 'Could not load the status: ' + (e && e.message ? e.message : String(e)) + '. Retrying.';
    el.error.hidden = false;
    setLive('error', 'Error');
  }

  function hideError() {
    el.error.hidden = true;
    el.error.textContent = '';
  }

  // ---------------------------------------------------------------- rendering

  function render(d) {
    if (el.date.value !== d.date) el.date.value = d.date;
    el.dagDate.textContent = d.date;
    el.failedDate.textContent = d.date;
    renderDag(d.comps, d.live);
    renderRuns(d.runs, d.selected ? d.selected.runId : null);
    renderBackfills(d.backfills);
    renderFailures(d.failures, d.date);
    renderTimeline(d.selected, d.timeline);
  }

  function renderLegend() {
    setChildren(el.legend, STATUSES.map(badge));
  }

  /** one column per pass, one box per computation, SVG curves from each dependency */
  function renderDag(comps, live) {
    var byName = new Map();
    (comps.computations || []).forEach(function (c) { byName.set(c.name, c); });
    var boxes = new Map();
    var shown = new Map();
    var columns = (comps.passes || []).map(function (names, pass) {
      return h('div', { class: 'pass', data: { pass: pass } },
        h('div', { class: 'pass-title' }, 'Pass ' + pass),
        h('div', { class: 'pass-boxes' }, names.map(function (name) {
          var c = byName.get(name) || { name: name, type: '', dependencies: [] };
          var box = computationBox(c, live && live.computations ? live.computations[name] : null);
          boxes.set(name, box);
          shown.set(name, box.getAttribute('data-status'));
          return box;
        })));
    });
    var edges = svg('svg', { class: 'edges', 'aria-hidden': 'true' });
    var grid = h('div', { class: 'passes' }, columns);
    if (columns.length === 0) grid = h('p', { class: 'muted' }, 'No computations in this project.');
    setChildren(el.dag, edges, grid);
    drawEdges = function () { drawDagEdges(edges, byName, boxes, shown); };
    drawEdges();
  }
  var drawEdges = function () {};

  function computationBox(c, inRun) {
    var latest = c.latest || null;
    var status = latest ? latest.status : 'never-run';
    var lines = [];
    // a run of this date in progress shows where it is; the last decision stays readable
    if (inRun && (inRun.status === 'running' || inRun.status === 'pending' || inRun.status === 'waiting')) {
      status = inRun.status;
      if (inRun.status === 'pending') lines.push('waiting for its pass');
      else if (inRun.status === 'waiting') lines.push('run ' + inRun.delegatedTo + ' is executing it: this run uses its result');
      else if (c.type === 'per-entity') lines.push('running: ' + inRun.processed + ' of ' + inRun.entityCount + ' entities');
      if (latest && latest.status !== 'never-run') lines.push('last: ' + lastDecision(latest));
    } else if (latest) {
      if (latest.why) lines.push(latest.why);
      else if (status === 'never-run') lines.push('never run for this date');
    }
    var meta = [c.type];
    // a skip processes no entity: its count would read as "no entities"
    if (latest && typeof latest.entities === 'number' && c.type === 'per-entity' && latest.status !== 'skipped') {
      meta.push(plural(latest.entities, 'entity', 'entities'));
    }
    var deps = c.dependencies || [];
    return h('div', {
      class: 'comp st-' + cssStatus(status),
      testid: 'computation-' + c.name,
      data: { status: status, name: c.name },
      title: latest && latest.runId ? 'decided by run ' + latest.runId + ' at ' + fmtDateTime(latest.at) : null,
    },
      h('div', { class: 'comp-head' }, h('span', { class: 'comp-name' }, c.name), badge(status)),
      h('div', { class: 'comp-meta' }, meta.filter(Boolean).join(' · ')),
      lines.map(function (l) { return h('div', { class: 'comp-why' }, l); }),
      deps.length ? h('div', { class: 'comp-deps' }, 'needs ' + deps.join(', ')) : null);
  }

  function lastDecision(latest) {
    if (!latest.why) return latest.status;
    // "blocked by X" already says it was blocked
    return latest.why.indexOf(latest.status) === 0 ? latest.why : latest.status + ' (' + latest.why + ')';
  }

  function drawDagEdges(edges, byName, boxes, shown) {
    if (!edges.isConnected) return;
    var origin = el.dag.getBoundingClientRect();
    var ox = origin.left - el.dag.scrollLeft;
    var oy = origin.top - el.dag.scrollTop;
    edges.setAttribute('width', String(el.dag.scrollWidth));
    edges.setAttribute('height', String(el.dag.scrollHeight));
    var defs = svg('defs');
    ['ok', 'bad'].forEach(function (kind) {
      var marker = svg('marker', { id: 'arrow-' + kind, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
      marker.appendChild(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: kind === 'bad' ? '#cf222e' : '#afb8c1' }));
      defs.appendChild(marker);
    });
    var paths = [defs];
    byName.forEach(function (c, name) {
      var to = boxes.get(name);
      if (!to) return;
      (c.dependencies || []).forEach(function (dep) {
        var from = boxes.get(dep);
        if (!from) return;
        var a = from.getBoundingClientRect();
        var b = to.getBoundingClientRect();
        var x1 = a.right - ox, y1 = a.top + a.height / 2 - oy;
        var x2 = b.left - ox, y2 = b.top + b.height / 2 - oy;
        var dx = Math.max(24, (x2 - x1) / 2);
        var bad = BAD.indexOf(shown.get(dep)) >= 0;
        var path = svg('path', {
          class: 'edge' + (bad ? ' bad' : ''),
          d: 'M ' + x1 + ' ' + y1 + ' C ' + (x1 + dx) + ' ' + y1 + ', ' + (x2 - dx) + ' ' + y2 + ', ' + x2 + ' ' + y2,
          'marker-end': 'url(#arrow-' + (bad ? 'bad' : 'ok') + ')',
          'data-from': dep,
          'data-to': name,
        });
        paths.push(path);
      });
    });
    setChildren(edges, paths);
  }

  function renderRuns(runs, selectedId) {
    if (runs.length === 0) {
      setChildren(el.runs, h('tr', { class: 'empty' }, h('td', { colspan: 7 },
        state.onlyDate ? 'No runs for ' + state.date + '.' : 'No runs yet. Start one with "almanac run --date YYYY-MM-DD" or POST /runs.')));
      return;
    }
    setChildren(el.runs, runs.map(function (r) {
      return h('tr', {
        testid: 'run-' + r.runId,
        data: { status: r.status, run: r.runId },
        class: r.runId === selectedId ? 'selected' : null,
        tabindex: 0,
        'aria-selected': r.runId === selectedId ? 'true' : 'false',
        on: {
          click: function () { selectRun(r.runId); },
          keydown: function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); selectRun(r.runId); } },
        },
      },
        h('td', null, h('span', { class: 'mono' }, r.runId), runTags(r)),
        h('td', null, r.date),
        h('td', null, badge(r.status)),
        h('td', { class: 'mono' }, fmtDateTime(r.requestedAt)),
        h('td', { class: 'num' }, fmtMs(r.elapsedMs)),
        h('td', null, countChips(r.counts || {})),
        h('td', null, runErrors(r)));
    }));
  }

  /** each backfill with a bar of its dates that ended (GET /backfills) */
  function renderBackfills(backfills) {
    if (backfills.length === 0) {
      setChildren(el.backfills, h('tr', { class: 'empty' }, h('td', { colspan: 8 },
        'No backfills. Start one with "almanac backfill --from YYYY-MM-DD --to YYYY-MM-DD" or POST /backfills.')));
      return;
    }
    setChildren(el.backfills, backfills.map(function (b) {
      var c = b.counts || {};
      var ended = (c.completed || 0) + (c.skipped || 0) + (c.failed || 0);
      return h('tr', { testid: 'backfill-' + b.backfillId, data: { status: b.status } },
        h('td', null, h('span', { class: 'mono' }, b.backfillId),
          b.targets && b.targets.length ? h('span', { class: 'tag' }, 'targets: ' + b.targets.join(', ')) : null,
          h('span', { class: 'tag' }, b.concurrency + ' at once')),
        h('td', null, b.from + ' to ' + b.to),
        h('td', null, badge(b.status)),
        h('td', null, h('progress', { max: b.total, value: ended, testid: 'backfill-progress', 'aria-label': ended + ' of ' + b.total + ' dates' }),
          ' ' + ended + '/' + b.total),
        h('td', { class: 'num' }, c.completed || 0),
        h('td', { class: 'num' }, c.skipped || 0),
        h('td', { class: 'num' }, c.failed || 0),
        h('td', { class: 'num' }, (c.requested || 0) - ended));
    }));
  }

  function runTags(r) {
    var tags = [];
    if (r.forceUpstream) tags.push('forced with dependencies');
    else if (r.force) tags.push('forced');
    if (r.dryRun) tags.push('dry run');
    if (r.targets && r.targets.length) tags.push('targets: ' + r.targets.join(', '));
    if (r.requestedBy) tags.push('by ' + r.requestedBy);
    return tags.map(function (t) { return h('span', { class: 'tag' }, t); });
  }

  function countChips(counts) {
    var keys = Object.keys(counts).sort(function (a, b) { return STATUSES.indexOf(a) - STATUSES.indexOf(b); });
    if (keys.length === 0) return h('span', { class: 'muted' }, '');
    return h('div', { class: 'chips' }, keys.map(function (k) {
      return h('span', { class: 'badge st-' + cssStatus(k), data: { count: k } }, counts[k] + ' ' + k);
    }));
  }

  function runErrors(r) {
    var items = [];
    if (r.rejection) items.push(h('li', null, 'rejected (' + r.rejection.code + '): ' + r.rejection.message));
    (r.errors || []).forEach(function (e) {
      items.push(h('li', { class: cssStatus(e.status) }, e.computation + ' ' + e.status + (e.message ? ': ' + e.message : '')));
    });
    return items.length ? h('ul', { class: 'errors' }, items) : h('span', { class: 'muted' }, 'none');
  }

  function renderFailures(rows, date) {
    if (rows.length === 0) {
      setChildren(el.failures, h('tr', { class: 'empty' }, h('td', { colspan: 4 }, 'No failed entities for ' + date + '.')));
      return;
    }
    var shown = rows.slice(0, MAX_FAILED_ROWS).map(function (f) {
      return h('tr', { data: { computation: f.computation, entity: f.entityId === null ? '' : f.entityId } },
        h('td', null, f.computation),
        h('td', { class: 'mono' }, f.entityId === null ? h('span', { class: 'muted' }, 'whole computation') : f.entityId),
        h('td', { class: 'msg' }, f.message || ''),
        h('td', { class: 'mono muted' }, f.runId || ''));
    });
    if (rows.length > MAX_FAILED_ROWS) {
      shown.push(h('tr', { class: 'empty' }, h('td', { colspan: 4 },
        'and ' + (rows.length - MAX_FAILED_ROWS) + ' more (GET /runs/<id> lists them all)')));
    }
    setChildren(el.failures, shown);
  }

  function renderTimeline(run, timeline) {
    if (!run) {
      setChildren(el.timeline, h('p', { class: 'muted' }, 'No run selected.'));
      return;
    }
    var head = h('div', { class: 'run-head' },
      h('h2', null, 'Run ', h('span', { class: 'mono' }, run.runId)),
      badge(run.status),
      state.pinned ? h('button', { class: 'link', type: 'button', on: { click: followLatest } }, 'follow the latest run') : null,
      h('dl', null,
        pair('date', run.date),
        pair('requested', fmtDateTime(run.requestedAt)),
        pair('by', run.requestedBy + (run.trigger ? ' (' + run.trigger + ')' : '')),
        pair(run.completedAt ? 'took' : 'elapsed', fmtMs(run.durationMs !== null && run.durationMs !== undefined ? run.durationMs : run.elapsedMs)),
        run.targets && run.targets.length ? pair('targets', run.targets.join(', ')) : null,
        run.entityIds ? pair('entities', run.entityIds.join(', ')) : null,
        run.forceUpstream ? pair('forced', 'with dependencies') : run.force ? pair('forced', 'yes') : null,
        run.dryRun ? pair('dry run', 'yes') : null));
    var rejection = run.rejection
      ? h('p', { class: 'rejection' }, 'Rejected (' + run.rejection.code + '): ' + run.rejection.message)
      : null;
    // a refresh must not lose the reader's place in the event list
    var oldList = el.timeline.querySelector('.events');
    var scrolled = oldList ? oldList.scrollTop : 0;
    setChildren(el.timeline, head, rejection,
      h('div', { class: 'run-body' },
        h('div', null, h('h3', null, 'Computations'), runComputations(run)),
        h('div', null, h('h3', null, 'Events'), eventList(timeline))));
    var newList = el.timeline.querySelector('.events');
    if (newList && scrolled) newList.scrollTop = scrolled;
  }

  function pair(label, value) {
    return h('div', { class: 'pair' }, h('dt', null, label), h('dd', null, value));
  }

  function runComputations(run) {
    var comps = Object.keys(run.computations || {}).map(function (k) { return run.computations[k]; })
      .sort(function (a, b) { return a.pass - b.pass || compare(a.name, b.name); });
    if (comps.length === 0) return h('p', { class: 'muted' }, run.status === 'rejected' ? 'Nothing was planned.' : 'Not planned yet.');
    return h('table', { class: 'run-computations' },
      h('thead', null, h('tr', null,
        h('th', { class: 'num' }, 'Pass'), h('th', null, 'Computation'), h('th', null, 'Status'),
        h('th', { class: 'num' }, 'Entities'), h('th', { class: 'num' }, 'Failed'), h('th', { class: 'num' }, 'Time'), h('th', null, 'Why'))),
      h('tbody', null, comps.map(function (c) {
        return h('tr', { testid: 'timeline-computation-' + c.name, data: { status: c.status } },
          h('td', { class: 'num' }, c.pass),
          h('td', null, c.name),
          h('td', null, badge(c.status)),
          h('td', { class: 'num' }, entitiesCell(c)),
          h('td', { class: 'num' }, c.failed || ''),
          h('td', { class: 'num' }, fmtMs(c.durationMs)),
          h('td', { class: 'msg' }, describeReason(c.reason || c.startReason)));
      })));
  }

  /** processed / planned entities; a skip or a block processes none */
  function entitiesCell(c) {
    if (c.type === 'global') return 'global';
    if (c.status === 'skipped' || c.status === 'blocked' || c.status === 'impossible' || c.status === 'pending') return '';
    return c.processed + ' / ' + c.entityCount;
  }

  function eventList(timeline) {
    var events = (timeline && timeline.events) || [];
    if (events.length === 0) return h('p', { class: 'muted' }, 'No events.');
    var items = events.map(eventItem);
    if (items.length > MAX_EVENTS) {
      var half = MAX_EVENTS / 2;
      var gap = h('li', { class: 'gap' }, (items.length - MAX_EVENTS) + ' events not shown (GET /runs/<id>/events lists them all)');
      items = items.slice(0, half).concat([gap], items.slice(items.length - half));
    }
    return h('ol', { class: 'events' }, items);
  }

  function eventItem(e) {
    return h('li', { data: { type: e.type, position: e.position }, title: e.eventId + ' by ' + e.producer + ' at ' + e.occurredAt },
      h('span', { class: 'mono muted' }, fmtClock(e.occurredAt)),
      h('span', { class: 'etype' }, e.type),
      h('span', { class: 'msg' }, e.summary));
  }

  // ---------------------------------------------------------------- user actions

  function selectRun(runId) {
    state.selectedRunId = runId;
    state.pinned = true;
    return refresh();
  }

  function followLatest() {
    state.pinned = false;
    state.selectedRunId = null;
    return refresh();
  }

  function chooseDate(value) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return;
    state.date = value;
    var url = new URL(location.href);
    url.searchParams.set('date', value);
    history.replaceState(null, '', url.toString());
    return refresh();
  }

  el.date.addEventListener('change', function () { chooseDate(el.date.value); });
  el.onlyDate.addEventListener('change', function () {
    state.onlyDate = el.onlyDate.checked;
    refresh();
  });
  el.authForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var token = el.token.value.trim();
    if (!token) return;
    writeToken(token);
    el.token.value = '';
    el.auth.hidden = true;
    state.paused = false;
    refresh();
  });
  window.addEventListener('resize', function () { drawEdges(); });

  if (state.date && !/^\d{4}-\d{2}-\d{2}$/.test(state.date)) state.date = null;
  renderLegend();
  refresh();
})();
`;
