/**
 * The status page's script, served as `/app.js` exactly as written here (plain ES2017, no build
 * step, no library). It draws the energy chart as hand-written SVG, keeps it live from the `/events`
 * stream, and says so plainly when the daemon cannot be reached (values greyed, banner). Every
 * string from the daemon (field keys and node ids come from peers) goes in through textContent or
 * an SVG attribute, never as HTML.
 */
export const PAGE_SCRIPT = String.raw`(function () {
'use strict';
var SVGNS = 'http://www.w3.org/2000/svg';
var MODE_COLORS = { surplus: '#2e9d4f', normal: '#3b7dd8', conserve: '#d99a00', survival: '#d9453a' };
var st = { summary: null, history: null, lastEvent: 0, heartbeatMs: 15000, lost: false, lostSince: 0, es: null, livePoint: false, livePointStart: 0, loading: null };
function $(id) { return document.getElementById(id); }
function num(x, d) { return x === null || x === undefined || !isFinite(x) ? '–' : Number(x).toFixed(d); }
function clock(t) { var d = new Date(t); return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }); }
function ago(t) {
  if (!t) return '–';
  var s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 90) return s + ' s ago';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  if (s < 129600) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}
function text(id, v) { var e = $(id); if (e) e.textContent = v; }
function row(cells) {
  var tr = document.createElement('tr');
  for (var i = 0; i < cells.length; i++) {
    var td = document.createElement('td');
    var c = cells[i];
    if (c && typeof c === 'object') { td.textContent = c.t; td.className = c.c; } else td.textContent = c;
    tr.appendChild(td);
  }
  return tr;
}
function fill(id, rows, empty) {
  var tb = $(id);
  while (tb.firstChild) tb.removeChild(tb.firstChild);
  if (!rows.length) { tb.appendChild(row([empty, '', '', ''])); return; }
  for (var i = 0; i < rows.length; i++) tb.appendChild(rows[i]);
}

function setConn(ok, msg) {
  var c = $('conn');
  c.textContent = msg;
  c.className = 'conn ' + (ok ? 'ok' : 'lost');
  document.body.classList.toggle('stale', !ok);
  document.body.setAttribute('data-connection', ok ? 'live' : 'lost');
}
function markLost(why) {
  if (!st.lost) { st.lost = true; st.lostSince = Date.now(); }
  var last = st.lastEvent ? clock(st.lastEvent) : 'never';
  setConn(false, 'Cannot reach the daemon (' + why + ') since ' + clock(st.lostSince) + '. The values below are from ' + last + ' and may be stale. Retrying…');
}

function renderSummary(s) {
  st.summary = s;
  text('node', s.node || '(no identity)');
  text('meta', 'fleet ' + s.fleet + ' · board ' + s.board + ' · ' + new Date(s.time).toLocaleString());
  var e = s.energy;
  text('soc', e ? num(e.soc * 100, 0) + ' %' : '–');
  text('voltage', e ? num(e.batteryVoltage, 2) + ' V' : '–');
  text('current', e ? num(e.batteryCurrent, 2) + ' A' : '–');
  text('pv', e ? num(e.pvPower, 1) + ' W' : '–');
  text('load', e ? num(e.loadPower, 1) + ' W' : '–');
  var m = $('mode');
  m.textContent = e ? e.mode : 'no energy source';
  m.className = 'value mode' + (e ? ' m-' + e.mode : '');
  m.setAttribute('data-mode', e ? e.mode : '');
  text('energy-note', e ? 'Latest reading ' + ago(e.time) + ' from ' + e.source + (e.budgetWh !== null ? ' · budget ' + num(e.budgetWh, 1) + ' Wh' : '') + (e.modeSince ? ' · ' + e.mode + ' since ' + new Date(e.modeSince).toLocaleString() : '') : 'No energy readings: the board has no battery monitor, or none has reported yet.');
  var f = s.field;
  text('field-sum', f.contributions + ' contributions · ' + f.keyCount + ' keys · ' + f.originCount + ' origins · digest ' + f.digest.slice(0, 12) + (f.keys.length < f.keyCount ? ' · newest ' + f.keys.length + ' keys shown' : ''));
  fill('keys', f.keys.map(function (k) { return row([k.key, String(k.origins), num(k.count, 1), ago(k.lastUpdate)]); }), 'the field is empty');
  var on = s.peers.filter(function (p) { return p.online; }).length;
  text('peers-sum', s.peers.length + ' peers · ' + on + ' online');
  fill('peers', s.peers.map(function (p) { return row([p.node, p.online ? { t: 'online', c: 'on' } : { t: 'offline', c: 'off' }, p.energyMode || '–', ago(p.lastSeen)]); }), 'no peer seen yet');
  var pr = s.privacy;
  text('privacy', pr ? 'ε ' + num(pr.epsilonSpent, 2) + ' of ' + num(pr.epsilonBudget, 1) + ' (' + pr.releases + ' releases)' : 'learning off');
  $('privacy-bar').style.width = pr ? Math.min(100, (100 * pr.epsilonSpent) / pr.epsilonBudget).toFixed(1) + '%' : '0';
  text('outbox', s.outbox.messages + ' messages · ' + (s.outbox.bytes / 1024).toFixed(1) + ' KiB');
  text('mqtt', s.mqtt || '–');
  var sy = s.sync;
  text('sync', sy ? sy.received + ' / ' + sy.accepted : '–');
  var rej = sy ? Object.keys(sy.rejected).map(function (k) { return k + ' ' + sy.rejected[k]; }).join(', ') : '';
  text('rejected', rej || 'none');
  text('learning', s.learning ? s.learning.predicted + ' / ' + s.learning.feedback : 'learning off');
  renderLearning(s.learning);
  renderPower(s.power);
  if (e && st.history) addLivePoint(e);
}

function at(t) { return t ? new Date(t).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' }) + (t > Date.now() ? ' (in ' + span(t - Date.now()) + ')' : ' (' + ago(t) + ')') : '–'; }
function span(ms) { var m = Math.round(ms / 60000); return m < 90 ? m + ' min' : (m / 60).toFixed(1) + ' h'; }
function renderLearning(l) {
  var a = l && l.accuracy;
  var e = $('accuracy');
  e.setAttribute('data-total', a ? String(a.total) : '');
  if (!a || !a.total) { e.textContent = l ? 'no labelled observation yet' : 'learning off'; text('accuracy-note', ''); return; }
  e.textContent = (a.accuracy === null ? '–' : num(a.accuracy * 100, 0) + ' %') + ' (' + a.windowCorrect + ' of last ' + a.windowTotal + ')';
  text('accuracy-note', 'Prediction made before each label was known, against the label. Since start: ' + a.correct + ' correct, ' + a.wrong + ' wrong, ' + a.unpredicted + ' unpredicted.');
}
function renderPower(p) {
  var card = $('power-card');
  card.setAttribute('data-managed', p && p.managed ? 'yes' : 'no');
  text('power-note', p ? p.note : 'not known');
  var pl = p && p.plan;
  text('power-plan', !p || !p.managed ? '–' : pl ? (pl.sleep ? 'sleep' : 'stay awake') : 'no reading yet');
  text('power-sleep', !pl ? '–' : pl.sleep ? 'now (planner round ' + at(p.nextPlanAt) + ')' : pl.floorAt ? 'around ' + at(pl.floorAt) : 'none within the horizon');
  text('power-wake', pl && pl.sleep ? 'by ' + at(pl.wakeAt) + ' or at SOC ' + num(pl.wakeSoc * 100, 0) + ' %' : '–');
  text('power-last', p && p.lastWake ? p.lastWake.reason + ' (' + ago(p.lastWake.at) + ', slept ' + span(p.lastWake.sleptSeconds * 1000) + ')' : '–');
  text('power-reason', pl ? pl.reason : '');
}

function addLivePoint(e) {
  var h = st.history;
  var last = h.points.length ? h.points[h.points.length - 1][0] : -Infinity;
  var changed = false;
  if (e.time > last) {
    // one live point per chart bucket (a source may report every second; the page may stay open for days)
    var span = h.to > h.from ? h.to - h.from : 7 * 86400000;
    var bucket = Math.max(60000, span / 700);
    var p = [e.time, e.soc, e.pvPower, e.batteryVoltage, e.batteryCurrent];
    if (st.livePoint && e.time - st.livePointStart < bucket) h.points[h.points.length - 1] = p;
    else { h.points.push(p); st.livePoint = true; st.livePointStart = e.time; }
    var shift = e.time - h.to;
    h.to = e.time;
    if (h.from) h.from += Math.max(0, shift);
    while (h.points.length > 1 && h.points[0][0] < h.from) h.points.shift();
    changed = true;
  }
  var lm = h.modes.length ? h.modes[h.modes.length - 1][1] : null;
  if (lm !== e.mode) { h.modes.push([Math.max(e.time, last), e.mode]); changed = true; }
  if (!h.from) h.from = e.time;
  if (changed) renderChart();
}

function el(name, attrs, parent) {
  var n = document.createElementNS(SVGNS, name);
  for (var k in attrs) n.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(n);
  return n;
}
function renderChart() {
  var box = $('chart');
  var h = st.history;
  while (box.firstChild) box.removeChild(box.firstChild);
  var W = Math.max(300, box.clientWidth || 360), H = 200, L = 34, R = 40, T = 8, B = 34;
  var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', id: 'chart-svg' }, box);
  if (!h || !h.points.length) {
    var t = el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#5d6d7e', 'font-size': 13 }, svg);
    t.textContent = 'no energy history yet';
    svg.setAttribute('data-points', '0');
    return;
  }
  var from = h.from, to = Math.max(h.to, from + 1);
  var x = function (tm) { return L + ((tm - from) / (to - from)) * (W - L - R); };
  var ys = function (soc) { return T + (1 - soc) * (H - T - B); };
  var pvMax = 1;
  for (var i = 0; i < h.points.length; i++) pvMax = Math.max(pvMax, h.points[i][2]);
  pvMax = Math.ceil(pvMax / 5) * 5;
  var yp = function (w) { return T + (1 - w / pvMax) * (H - T - B); };
  [0, 0.5, 1].forEach(function (v) {
    el('line', { x1: L, x2: W - R, y1: ys(v), y2: ys(v), stroke: '#dde3e9' }, svg);
    var a = el('text', { x: L - 4, y: ys(v) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#5d6d7e' }, svg);
    a.textContent = v * 100 + '%';
    var b = el('text', { x: W - R + 4, y: ys(v) + 4, 'font-size': 10, fill: '#e67e22' }, svg);
    b.textContent = Math.round(pvMax * v) + ' W';
  });
  var day = new Date(from); day.setHours(24, 0, 0, 0);
  for (var d = day.getTime(), n = 0; d < to && n < 40; d += 86400000, n++) {
    el('line', { x1: x(d), x2: x(d), y1: T, y2: H - B + 8, stroke: '#eef1f4' }, svg);
    var lab = el('text', { x: x(d) + 2, y: H - 6, 'font-size': 10, fill: '#5d6d7e' }, svg);
    lab.textContent = new Date(d).toLocaleDateString([], { weekday: 'short' });
  }
  var band = el('g', { id: 'chart-modes' }, svg);
  for (var j = 0; j < h.modes.length; j++) {
    var s0 = Math.max(from, h.modes[j][0]), s1 = j + 1 < h.modes.length ? h.modes[j + 1][0] : to;
    var r = el('rect', { x: x(s0), y: H - B + 2, width: Math.max(1, x(s1) - x(s0)), height: 8, fill: MODE_COLORS[h.modes[j][1]] || '#999' }, band);
    r.setAttribute('data-mode', h.modes[j][1]);
  }
  var soc = [], pv = [];
  for (var k = 0; k < h.points.length; k++) {
    var p = h.points[k];
    soc.push(x(p[0]).toFixed(1) + ',' + ys(p[1]).toFixed(1));
    pv.push(x(p[0]).toFixed(1) + ',' + yp(p[2]).toFixed(1));
  }
  el('polyline', { id: 'chart-pv', points: pv.join(' '), fill: 'none', stroke: '#e67e22', 'stroke-width': 1.2, 'stroke-linejoin': 'round' }, svg);
  el('polyline', { id: 'chart-soc', points: soc.join(' '), fill: 'none', stroke: '#17202a', 'stroke-width': 1.8, 'stroke-linejoin': 'round' }, svg);
  svg.setAttribute('data-points', String(h.points.length));
  var days = Math.round((to - from) / 86400000);
  text('chart-title', 'Energy, last ' + (days >= 1 ? days + ' days' : Math.max(1, Math.round((to - from) / 3600000)) + ' h') + ' (' + h.sourcePoints + ' readings)');
}

function loadHistory() {
  if (st.loading) return st.loading; // one request at a time
  st.loading = fetch('api/history', { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.json();
  }).then(function (h) { st.history = h; st.livePoint = false; renderChart(); if (st.summary && st.summary.energy) addLivePoint(st.summary.energy); });
  st.loading.then(function () { st.loading = null; }, function () { st.loading = null; });
  return st.loading;
}

function connect() {
  var es = new EventSource('events');
  st.es = es;
  es.addEventListener('hello', function (ev) { try { st.heartbeatMs = JSON.parse(ev.data).heartbeatMs || 15000; } catch (e) { /* keep the default */ } });
  es.addEventListener('status', function (ev) {
    var wasLost = st.lost;
    st.lastEvent = Date.now();
    st.lost = false;
    renderSummary(JSON.parse(ev.data));
    setConn(true, 'Live · updated ' + clock(st.lastEvent));
    if (wasLost || !st.history) loadHistory().catch(function () { /* chart keeps its points */ });
  });
  es.addEventListener('ping', function () { st.lastEvent = Date.now(); });
  es.onerror = function () { markLost(es.readyState === 2 ? 'stream closed' : 'connection lost'); };
}

setInterval(function () {
  if (st.lastEvent && !st.lost && Date.now() - st.lastEvent > 2.5 * st.heartbeatMs) markLost('no update for ' + Math.round((Date.now() - st.lastEvent) / 1000) + ' s');
}, 1000);
window.addEventListener('resize', function () { renderChart(); });
loadHistory().catch(function () { renderChart(); });
connect();
})();
`;
