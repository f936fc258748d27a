/* timeline.js - the flame chart by time: one lane per thread and per group of calls that
 * ran concurrently with it (asyncio tasks, generators; tools/cli/walk.h), each call a bar
 * at its real start and end, under the call that made it. Zoom (wheel, buttons), pan
 * (drag), vertical scroll (Shift+wheel), click sets the cursor. Drawing costs what is on
 * screen: each row's calls are sorted by time, found by binary search, and calls
 * narrower than a pixel are skipped a pixel at a time. Defines: drawTimeline,
 * timelineFollow, TL. Uses: data.js, format.js, search.js (hitMark), cursor.js. */
var tlEl = document.getElementById('timeline'), tlCanvas = document.getElementById('tl-canvas');
var tlCtx = tlCanvas.getContext('2d');
var TL = { rows: [], off: null, calls: null, t0: 0, t1: 1, scroll: 0, rowH: 18, axisH: 20, labelW: 160 };
(function buildRows() {
  var nthreads = D.threads.length, maxd = [], base = [], k, l, i, r = 0;
  for (k = 0; k < nthreads; k++) { maxd.push(new Int32Array(Math.max(1, D.threads[k][4] || 1)).fill(-1)); }
  for (i = 0; i < N; i++) {
    var md = maxd[THREAD[i]];
    if (LANE[i] >= md.length) continue;
    if (LDEPTH[i] > md[LANE[i]]) md[LANE[i]] = LDEPTH[i];
  }
  for (k = 0; k < nthreads; k++) {
    base.push(new Int32Array(maxd[k].length).fill(-1));
    for (l = 0; l < maxd[k].length; l++) {
      if (l > 0 && maxd[k][l] < 0) continue;
      base[k][l] = r;
      for (var d = 0; d <= Math.max(0, maxd[k][l]); d++) TL.rows.push({ thread: k, lane: l, depth: d });
      r += Math.max(0, maxd[k][l]) + 1;
    }
  }
  var count = new Int32Array(r + 1), rowOf = new Int32Array(N);
  for (i = 0; i < N; i++) {
    var b = base[THREAD[i]][LANE[i]];
    rowOf[i] = b >= 0 ? b + LDEPTH[i] : -1;
    if (rowOf[i] >= 0) count[rowOf[i] + 1]++;
  }
  for (k = 0; k < r; k++) count[k + 1] += count[k];
  TL.off = count.slice();
  TL.calls = new Int32Array(count[r]);
  TL.rowOf = rowOf;
  for (i = 0; i < N; i++) if (rowOf[i] >= 0) TL.calls[count[rowOf[i]]++] = i;
  /* The calls' extent, on the run's clock: what the interpreter did before the first
   * traced call and after the last (starting up, importing untraced modules, a test
   * runner's report) would leave the calls a sliver at one side. */
  var end = 0, first = N ? Infinity : 0;
  for (i = 0; i < N; i++) { if (END[i] > end) end = END[i]; if (START[i] < first) first = START[i]; }
  TL.runEnd = Math.max(end, N ? 1 : D.run.durationMicros * 1000, 1);
  TL.runStart = Math.min(first, TL.runEnd - 1);
  TL.t0 = TL.runStart;
  TL.t1 = TL.runEnd;
  /* A run with tests or requests opens on them: a server's requests are milliseconds of a
   * process that ran for seconds. "Every call" shows the rest. */
  var u0 = Infinity, u1 = -Infinity;
  if (!UNIT) UNITS.forEach(function (u) { if (u.call >= 0) { u0 = Math.min(u0, START[u.call]); u1 = Math.max(u1, END[u.call]); } });
  if (u1 > u0) {
    TL.t0 = Math.max(TL.runStart, u0 - (u1 - u0) * 0.02);
    TL.t1 = Math.min(TL.runEnd, u1 + (u1 - u0) * 0.02);
  }
  /* The geometry, for tests and tools that point at a row: rows top to bottom as
   * thread:lane:depth. */
  tlEl.dataset.geometry = JSON.stringify({ rowH: TL.rowH, axisH: TL.axisH, labelW: TL.labelW,
    rows: TL.rows.length <= 200 ? TL.rows.map(function (x) { return x.thread + ':' + x.lane + ':' + x.depth; }) : null });
})();

function tlWidth() { return tlCanvas.clientWidth - TL.labelW; }
function tlX(ns) { return TL.labelW + (ns - TL.t0) / (TL.t1 - TL.t0) * tlWidth(); }
function tlTime(x) { return TL.t0 + (x - TL.labelW) / tlWidth() * (TL.t1 - TL.t0); }
/* In row r's calls (sorted by time, not overlapping), the first from lo on that ends at
 * or after ns. */
function firstEndingAfter(lo, hi, ns) {
  while (lo < hi) {
    var m = (lo + hi) >> 1;
    if (END[TL.calls[m]] < ns) lo = m + 1; else hi = m;
  }
  return lo;
}
function firstStartingAt(lo, hi, ns) {
  while (lo < hi) {
    var m = (lo + hi) >> 1;
    if (START[TL.calls[m]] < ns) lo = m + 1; else hi = m;
  }
  return lo;
}
function hue(c) { return (c * 47 + 200) % 360; }
var tlColors = null;
function themeColors() {
  var cs = getComputedStyle(document.body);
  tlColors = { fg: cs.getPropertyValue('--fg'), dim: cs.getPropertyValue('--dim'), line: cs.getPropertyValue('--line'),
    bg2: cs.getPropertyValue('--bg2'), err: cs.getPropertyValue('--err'), accent: cs.getPropertyValue('--accent'),
    hit: cs.getPropertyValue('--hit-edge'), light: document.body.classList.contains('light') };
}
function drawAxis(w) {
  var ctx = tlCtx, span = TL.t1 - TL.t0, stepNs = Math.pow(10, Math.floor(Math.log10(span / 6)));
  if (span / stepNs > 12) stepNs *= 5; else if (span / stepNs > 6) stepNs *= 2;
  ctx.fillStyle = tlColors.bg2;
  ctx.fillRect(0, 0, w, TL.axisH);
  ctx.fillStyle = tlColors.dim;
  ctx.strokeStyle = tlColors.line;
  ctx.font = '11px ' + getComputedStyle(document.body).getPropertyValue('--mono');
  for (var ns = Math.ceil(TL.t0 / stepNs) * stepNs; ns <= TL.t1; ns += stepNs) {
    var x = Math.round(tlX(ns)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, TL.axisH - 5); ctx.lineTo(x, tlCanvas.clientHeight); ctx.stroke();
    ctx.fillText(fmtDur(ns), x + 3, 13);
  }
}
/* A thread's name on its first row; on a lane of concurrent calls, the function of the
 * first call on it (an asyncio task's coroutine). */
function rowLabel(r) {
  var row = TL.rows[r];
  if (row.depth > 0) return '';
  if (row.lane === 0) return S[D.threads[row.thread][0]];
  if (TL.off[r + 1] === TL.off[r]) return '⇉ ' + t('lane') + ' ' + row.lane;
  var first = TL.calls[TL.off[r]];
  return '⇉ ' + (RAN.has(first) ? S[RAN.get(first)[0]] + ': ' : '') + fnOf(first);
}
function drawRow(r, y, w) {
  var ctx = tlCtx, lo = TL.off[r], hi = TL.off[r + 1], h = TL.rowH - 2, lastPx = -1;
  var k = firstEndingAfter(lo, hi, TL.t0);
  while (k < hi) {
    var c = TL.calls[k];
    if (START[c] > TL.t1) break;
    var x0 = tlX(START[c]), x1 = tlX(END[c]);
    if (x1 - x0 < 1) {
      var px = Math.floor(x0);
      if (px > lastPx) {
        ctx.fillStyle = EXC.has(c) ? tlColors.err : 'hsl(' + hue(CODE[c]) + ',45%,' + (tlColors.light ? 62 : 42) + '%)';
        ctx.fillRect(px, y, 1, h);
        lastPx = px;
      }
      k = firstStartingAt(k + 1, hi, tlTime(px + 1));
      continue;
    }
    var a = Math.max(TL.labelW, x0), b = Math.min(w, x1);
    ctx.fillStyle = 'hsl(' + hue(CODE[c]) + ',50%,' + (tlColors.light ? 70 : 36) + '%)';
    ctx.fillRect(a, y, Math.max(1, b - a - 1), h);
    if (EXC.has(c)) { ctx.fillStyle = tlColors.err; ctx.fillRect(a, y + h - 3, Math.max(1, b - a - 1), 3); }
    if (hitMark[c]) { ctx.strokeStyle = tlColors.hit; ctx.lineWidth = 2; ctx.strokeRect(a + 1, y + 1, Math.max(1, b - a - 3), h - 2); }
    if (b - a > 30) {
      ctx.fillStyle = tlColors.fg;
      ctx.save(); ctx.beginPath(); ctx.rect(a, y, b - a - 2, h); ctx.clip();
      ctx.fillText(fnOf(c), a + 3, y + h - 4);
      ctx.restore();
    }
    lastPx = Math.floor(x1);
    k++;
  }
}
var tlPending = false;
function drawTimeline() {
  tlPending = false;
  if (tlEl.hidden) return;
  var t0 = performance.now(), dpr = window.devicePixelRatio || 1;
  var w = tlCanvas.clientWidth, hgt = tlCanvas.clientHeight;
  if (tlCanvas.width !== Math.round(w * dpr) || tlCanvas.height !== Math.round(hgt * dpr)) {
    tlCanvas.width = Math.round(w * dpr); tlCanvas.height = Math.round(hgt * dpr);
  }
  if (!tlColors) themeColors();
  var ctx = tlCtx;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  ctx.font = '11px ' + getComputedStyle(document.body).getPropertyValue('--font');
  var first = Math.max(0, Math.floor(TL.scroll / TL.rowH)), last = Math.min(TL.rows.length, Math.ceil((TL.scroll + hgt) / TL.rowH));
  var curRow = cursor >= 0 ? TL.rowOf[cursor] : -1;
  for (var r = first; r < last; r++) {
    var y = TL.axisH + r * TL.rowH - TL.scroll;
    if (r === curRow) { ctx.fillStyle = tlColors.line; ctx.fillRect(TL.labelW, y - 1, w - TL.labelW, TL.rowH); }
    drawRow(r, y, w);
  }
  if (cursor >= 0 && curRow >= 0) {
    var cy = TL.axisH + curRow * TL.rowH - TL.scroll, cx0 = tlX(START[cursor]), cx1 = tlX(END[cursor]);
    ctx.strokeStyle = tlColors.accent; ctx.lineWidth = 2;
    ctx.strokeRect(Math.max(TL.labelW, cx0) - 1, cy - 1, Math.max(3, Math.min(w, cx1) - Math.max(TL.labelW, cx0) + 1), TL.rowH);
  }
  /* Labels over the left margin, the axis over everything. */
  ctx.fillStyle = tlColors.bg2;
  ctx.fillRect(0, 0, TL.labelW, hgt);
  ctx.fillStyle = tlColors.dim;
  for (r = first; r < last; r++) {
    var label = rowLabel(r);
    if (!label) continue;
    ctx.fillStyle = TL.rows[r].lane ? tlColors.dim : tlColors.fg;
    ctx.fillText(cut(label, 24), 6, TL.axisH + r * TL.rowH - TL.scroll + TL.rowH - 5);
  }
  drawAxis(w);
  tlEl.dataset.drawMs = String(Math.round((performance.now() - t0) * 10) / 10);
  tlEl.dataset.view = TL.t0 + ',' + TL.t1;
}
function scheduleTimeline() {
  if (!tlPending) { tlPending = true; requestAnimationFrame(drawTimeline); }
}
function maxScroll() { return Math.max(0, TL.rows.length * TL.rowH - (tlCanvas.clientHeight - TL.axisH)); }
function setView(t0, t1) {
  var whole = TL.runEnd - TL.runStart, span = Math.max(100, t1 - t0); /* no closer than 100 ns */
  if (span > whole * 1.05) span = whole * 1.05;
  t0 = Math.max(TL.runStart - whole * 0.025, Math.min(t0, TL.runEnd + whole * 0.025 - span));
  TL.t0 = t0; TL.t1 = t0 + span;
  scheduleTimeline();
}
function zoomAt(x, factor) {
  var at = tlTime(x);
  setView(at - (at - TL.t0) * factor, at + (TL.t1 - at) * factor);
}
/* Brings call i into view (same zoom when it fits, else zoomed to it) and its row. */
function timelineFollow(i) {
  var span = TL.t1 - TL.t0;
  if (DUR[i] > span) setView(START[i] - DUR[i] * 0.05, END[i] + DUR[i] * 0.05);
  else if (END[i] < TL.t0 || START[i] > TL.t1 || START[i] < TL.t0) setView(START[i] - span * 0.2, START[i] + span * 0.8);
  var y = TL.rowOf[i] * TL.rowH, vis = tlCanvas.clientHeight - TL.axisH;
  if (y < TL.scroll || y + TL.rowH > TL.scroll + vis) TL.scroll = Math.max(0, Math.min(maxScroll(), y - vis / 2));
  scheduleTimeline();
}
/* The call under a point, or -1 (a bar narrower than a pixel is found within 3 px). */
function callAt(x, y) {
  var r = Math.floor((y - TL.axisH + TL.scroll) / TL.rowH);
  if (x < TL.labelW || y < TL.axisH || r < 0 || r >= TL.rows.length) return -1;
  var lo = TL.off[r], hi = TL.off[r + 1], slack = (TL.t1 - TL.t0) / tlWidth() * 3, ns = tlTime(x);
  var k = firstEndingAfter(lo, hi, ns - slack), best = -1, bestDist = Infinity;
  for (; k < hi && START[TL.calls[k]] <= ns + slack; k++) {
    var c = TL.calls[k], d = ns < START[c] ? START[c] - ns : ns > END[c] ? ns - END[c] : 0;
    if (d < bestDist) { best = c; bestDist = d; }
    if (d === 0) break;
  }
  return best;
}
(function wireTimeline() {
  var drag = null;
  tlCanvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    if (ev.shiftKey) { TL.scroll = Math.max(0, Math.min(maxScroll(), TL.scroll + (ev.deltaY || ev.deltaX))); scheduleTimeline(); return; }
    var rect = tlCanvas.getBoundingClientRect();
    zoomAt(ev.clientX - rect.left, Math.exp(ev.deltaY * 0.002));
  }, { passive: false });
  tlCanvas.addEventListener('pointerdown', function (ev) {
    drag = { x: ev.clientX, y: ev.clientY, t0: TL.t0, t1: TL.t1, scroll: TL.scroll, moved: false };
    tlCanvas.setPointerCapture(ev.pointerId);
  });
  tlCanvas.addEventListener('pointermove', function (ev) {
    var rect = tlCanvas.getBoundingClientRect();
    if (!drag) {
      var c = callAt(ev.clientX - rect.left, ev.clientY - rect.top);
      tlCanvas.title = c >= 0 ? fnOf(c) + ' · ' + fmtDur(DUR[c]) + (EXC.has(c) ? ' · ' + excText(c) : '') : t('timelineHelp');
      return;
    }
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (!drag.moved) return;
    var dt = dx / tlWidth() * (drag.t1 - drag.t0);
    setView(drag.t0 - dt, drag.t1 - dt);
    TL.scroll = Math.max(0, Math.min(maxScroll(), drag.scroll - dy));
  });
  tlCanvas.addEventListener('pointerup', function (ev) {
    var d = drag;
    drag = null;
    if (!d || d.moved) return;
    var rect = tlCanvas.getBoundingClientRect(), c = callAt(ev.clientX - rect.left, ev.clientY - rect.top);
    if (c >= 0) setCursor(c);
  });
  document.getElementById('tl-in').onclick = function () { zoomAt(TL.labelW + tlWidth() / 2, 0.5); };
  document.getElementById('tl-out').onclick = function () { zoomAt(TL.labelW + tlWidth() / 2, 2); };
  document.getElementById('tl-fit').onclick = function () { setView(TL.runStart, TL.runEnd); };
  document.getElementById('tl-call').onclick = function () {
    if (cursor >= 0) setView(START[cursor] - DUR[cursor] * 0.05 - 50, END[cursor] + DUR[cursor] * 0.05 + 50);
  };
  document.getElementById('tl-toggle').onclick = function () {
    tlEl.hidden = !tlEl.hidden;
    document.getElementById('tl-toggle').classList.toggle('on', !tlEl.hidden);
    scheduleTimeline();
  };
  if (window.ResizeObserver) new ResizeObserver(scheduleTimeline).observe(tlCanvas);
})();
