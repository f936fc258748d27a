/* cursor.js - time travel: a cursor on one call, stepped as a debugger steps, shown in
 * the tree, the timeline, the call stack, the current call's details and its source.
 *
 * The cursor on a call C means "C is about to run": step into goes to the first call C
 * makes; step over to the next call C's caller makes (C ran whole); step out to the next
 * call after C's caller returned; back and forward to the call that started just before
 * or after C, in any thread. "Exception" goes where the exception that ended the run (or
 * the unit, or the first failed test) was raised, then to every other raise site in time
 * order; "failing test" to each failed test or request in turn. Defines: cursor,
 * setCursor, step, jumpToException, jumpToTest, stepTargets. Uses: data.js, format.js,
 * tree.js, panels.js (callDetails), source.js (showSource), timeline.js (timelineFollow). */
var cursor = -1;
var cursorLabelEl = document.getElementById('cursor-label');
var stackEl = document.getElementById('stack'), currentEl = document.getElementById('current');
var flashTimer = 0;

function setCursor(i) {
  if (i < 0 || i >= N) return;
  var t0 = performance.now();
  cursor = i;
  var r = reveal(i);
  selected = r;
  var virt = toVirtual(treeEl.scrollTop), y = r * ROWH;
  if (y < virt || y > virt + treeEl.clientHeight - ROWH) scrollToRow(r); else render();
  showStack(i);
  currentEl.innerHTML = '<h3>' + esc(fnOf(i)) + '</h3>' + callDetails(i);
  showSource(i);
  timelineFollow(i);
  updateCursorLabel();
  document.body.dataset.cursor = String(i);
  document.body.dataset.stepMs = String(Math.round(performance.now() - t0));
}
function updateCursorLabel() {
  if (cursor < 0) { cursorLabelEl.textContent = t('noCursor'); return; }
  cursorLabelEl.textContent = fnOf(cursor) + ' · ' + (rankOf(cursor) + 1) + '/' + N + ' ' + t('ofTime') +
    ' · ' + t('thread') + ' ' + threadNameOf(cursor);
}
function flash(msg) {
  cursorLabelEl.textContent = msg;
  cursorLabelEl.classList.add('flash');
  clearTimeout(flashTimer);
  flashTimer = setTimeout(function () { cursorLabelEl.classList.remove('flash'); updateCursorLabel(); }, 1600);
}

/* ---- Steps (each returns the target call, or -1) ----------------------------------------- */
function stepOver(i) {
  for (var x = i; x >= 0; x = PARENT[x]) {
    var s = nextSibling(x);
    if (s >= 0) return s;
  }
  return -1;
}
function stepInto(i) { return SIZE[i] > 0 ? i + 1 : stepOver(i); }
function stepOut(i) { return PARENT[i] >= 0 ? stepOver(PARENT[i]) : -1; }
function stepBackOver(i) { var p = prevSibling(i); return p >= 0 ? p : PARENT[i]; }
function timeStep(i, d) {
  var order = timeOrder(), r = rankOf(i) + d;
  return r >= 0 && r < N ? order[r] : -1;
}
var stepTargets = {
  into: stepInto, over: stepOver, out: stepOut, backOver: stepBackOver,
  back: function (i) { return timeStep(i, -1); }, forward: function (i) { return timeStep(i, 1); }
};
/* One step; hidden internals (<module>, <genexpr>, ...) are stepped through. */
function step(kind) {
  if (cursor < 0) { setCursor(firstCall()); return; }
  var to = stepTargets[kind](cursor), guard = 0;
  while (to >= 0 && hideInternals && INTERNAL[CODE[to]] && guard++ < 1000) {
    to = kind === 'back' || kind === 'forward' || kind === 'backOver' ? stepTargets[kind](to) : stepInto(to);
  }
  if (to < 0) { flash(t('endOfThread')); return; }
  setCursor(to);
}
function firstCall() { return N ? timeOrder()[0] : -1; }

/* ---- Exceptions and failed units ---------------------------------------------------------- */
var ORIGINS = null;
/* Where each exception was raised, in the order they were raised (the raising call's
 * end): the calls that raised it themselves (raisedHere). */
function raiseSites() {
  if (!ORIGINS) {
    ORIGINS = [];
    EXC.forEach(function (e, i) { if (raisedHere(i)) ORIGINS.push(i); });
    ORIGINS.sort(function (a, b) { return END[a] - END[b] || a - b; });
  }
  return ORIGINS;
}
/* Whether call c raised its exception itself: no call under it raised that exception
 * (raiseSiteOf), and, when the run recorded where it was raised and the line it left c
 * at, c was left at that very line (a generator the exception was thrown into was left
 * at its yield, a call that re-raised one it caught at its raise). */
function raisedHere(c) {
  var r = raiseLineOf(c), left = leftAtOf(c);
  if (r && left > 0 && (left !== r.line || (r.file !== null && r.file !== fileOf(c)))) return false;
  return raiseSiteOf(c) === c;
}
/* Whether call j's exception can be the one call c raised: the same type, and raised at
 * the same place when the run recorded where (a call that caught one KeyError and raised
 * another raised its own). */
function sameException(c, j) {
  if (EXC.get(j)[0] !== EXC.get(c)[0]) return false;
  var rc = raiseLineOf(c), rj = raiseLineOf(j);
  return !rc || !rj || (rc.line === rj.line && rc.file === rj.file);
}
/* From a call that raised, down to where its exception came from: the latest call under
 * it that raised the same exception, and so on. A call whose calls raised only other
 * ones raised its own (raise ... from): it is the place, its causes show there. When the
 * types were not recorded, any call under it that raised leads on. */
function raiseSiteOf(c) {
  for (;;) {
    var ty = EXC.get(c)[0], same = -1, any = -1;
    for (var j = c + 1; j <= c + SIZE[c]; j += SIZE[j] + 1) {
      if (!EXC.has(j)) continue;
      any = j;
      if (sameException(c, j)) same = j;
    }
    var next = same >= 0 ? same : ty < 0 ? any : -1;
    if (next < 0) return c;
    c = next;
  }
}
/* The exception a person means first: the one that ended the run or the unit, else the
 * first failed unit's, else the first raised. */
function mainException() {
  var roots = [], k;
  if (UNIT && UNIT.call >= 0) roots.push(UNIT.call);
  if (D.run.exception && !UNIT) {
    for (k = 0; k < D.threads.length; k++) {
      var th = D.threads[k];
      for (var j = th[2]; j < th[2] + th[3]; j += SIZE[j] + 1) if (EXC.has(j)) roots.push(j);
    }
  }
  UNITS.forEach(function (u) { if (unitFailed(u) && u.call >= 0) roots.push(u.call); });
  for (k = 0; k < roots.length; k++) if (EXC.has(roots[k])) return raiseSiteOf(roots[k]);
  for (k = 0; k < roots.length; k++) {
    for (var x = roots[k]; x <= roots[k] + SIZE[roots[k]]; x++) if (EXC.has(x)) return raiseSiteOf(x);
  }
  var sites = raiseSites();
  return sites.length ? sites[0] : -1;
}
var jumpedToException = false;
function jumpToException(dir) {
  var sites = raiseSites();
  if (!sites.length) { flash(t('noException')); return; }
  if (!jumpedToException || cursor < 0) {
    jumpedToException = true;
    setCursor(mainException());
    return;
  }
  var at = sites.indexOf(cursor), k;
  if (at >= 0) k = at + dir;
  else {
    for (k = 0; k < sites.length && END[sites[k]] <= START[cursor]; k++);
    if (dir < 0) k--;
  }
  setCursor(sites[(k + sites.length) % sites.length]);
}
var testPos = -1;
function jumpToTest() {
  var failed = UNITS.filter(function (u) { return unitFailed(u) && u.call >= 0; });
  if (!failed.length) { flash(t('noFailedUnit')); return; }
  testPos = (testPos + 1) % failed.length;
  setCursor(testCallOf(failed[testPos]));
}
/* A test's own function when it ran (a pytest or unittest unit begins in the framework:
 * runtestprotocol, TestCase.run): the first call under the unit named as the test's last
 * part (`file.py::Class::test_x[2]`, `module.Class.test_x`); else the unit's call. */
function testCallOf(u) {
  var parts = (u.name || '').replace(/\[.*\]$/, '').split(/::|\.| /), last = parts[parts.length - 1];
  if (!last || fnOf(u.call) === last) return u.call;
  for (var i = u.call + 1; i <= u.call + SIZE[u.call]; i++) {
    var f = fnOf(i);
    if (f === last || f.endsWith('.' + last)) return i;
  }
  return u.call;
}
/* The unit call i is part of (the nearest call above it, or itself, that is a unit's). */
function unitAround(i) {
  for (var x = i; x >= 0; x = PARENT[x]) if (UNIT_OF.has(x)) return UNIT_OF.get(x);
  return null;
}

/* ---- The call stack ------------------------------------------------------------------------ */
function showStack(i) {
  var chain = [];
  for (var x = i; x >= 0; x = PARENT[x]) chain.push(x);
  chain.reverse();
  var h = '<div class="stack-thread">' + esc(t('thread')) + ' ' + esc(S[D.threads[THREAD[i]][0]]) + '</div><ol>';
  chain.forEach(function (x, k) {
    var spawned = k > 0 && LANE[x] !== LANE[chain[k - 1]], handed = RAN.has(x);
    var file = fileOf(x), base = file.slice(file.lastIndexOf('/') + 1);
    h += '<li class="' + (x === i ? 'cur' : '') + (EXC.has(x) ? ' failed' : '') + '" data-call="' + x + '">' +
      (handed ? '<span class="badge lane">⇉ ' + esc(S[RAN.get(x)[0]]) + '</span> '
        : spawned ? '<span class="badge lane">⇉ ' + esc(t('task')) + '</span> ' : '') +
      '<span class="fn">' + esc(fnOf(x)) + '</span> <span class="where">' + esc(base + ':' + lineOf(x)) + '</span>' +
      (EXC.has(x) ? ' <span class="st-err">✗</span>' : '') + '</li>';
  });
  stackEl.innerHTML = h + '</ol>';
}
stackEl.addEventListener('click', function (ev) {
  var li = ev.target.closest('[data-call]');
  if (li) setCursor(+li.dataset.call);
});
currentEl.addEventListener('click', function (ev) {
  var o = ev.target.closest('[data-open]'), rv = ev.target.closest('[data-reveal]');
  if (o && +o.dataset.open >= 0) setCursor(+o.dataset.open);
  else if (rv) setCursor(+rv.dataset.reveal);
});

/* ---- Keys and buttons ------------------------------------------------------------------------ */
function cursorKey(ev) {
  var k = ev.key;
  if (k === 'F11' && ev.shiftKey) return 'out';
  if (k === 'F11' || k === 'i') return 'into';
  if (k === 'F10' || k === 'o' || k === 'O') return ev.shiftKey ? 'backOver' : 'over';
  if (k === 'u') return 'out';
  if (k === '[' || k === ',') return 'back';
  if (k === ']' || k === '.') return 'forward';
  return null;
}
document.addEventListener('keydown', function (ev) {
  var tag = ev.target.tagName;
  if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  var kind = cursorKey(ev);
  if (kind) step(kind);
  else if (ev.key === 'e' || ev.key === 'E') jumpToException(ev.shiftKey ? -1 : 1);
  else if (ev.key === 't') jumpToTest();
  else if (ev.key === '/') searchEl.focus();
  else return;
  ev.preventDefault();
});
document.getElementById('debugbar').addEventListener('click', function (ev) {
  var b = ev.target.closest('button');
  if (!b) return;
  if (b.dataset.step) step(b.dataset.step);
  else if (b.id === 'to-exception') jumpToException(1);
  else if (b.id === 'to-test') jumpToTest();
});
