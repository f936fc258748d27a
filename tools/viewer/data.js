/* data.js - the run embedded by `flowtrace html` (docs/cli.md, "How the run is embedded"),
 * decoded into typed arrays. Defines: D, S, N, CODE, SIZE, DUR, START, END, PARENT, DEPTH,
 * THREAD, LANE, LDEPTH, the sparse maps (EXC, INC, MEM, GEN, CALLER), UNITS, SOURCES, the
 * accessors (fnOf, modOf, fileOf, lineOf, argsOf, argsAfterOf, resultOf, callerOf,
 * instanceOf, classOf, callsOnObject, threadEnd, nextSibling, threadNameOf), and the time order
 * (timeOrder(), rankOf(i)). */
var D = JSON.parse(document.getElementById('ft-data').textContent);
var S = D.strings, N = D.code.length, CODE = D.code, SIZE = D.size, DUR = D.dur;
var START = new Float64Array(N), END = new Float64Array(N), PARENT = new Int32Array(N);
var DEPTH = new Int32Array(N), THREAD = new Int32Array(N), LANE = new Int32Array(N);
var LDEPTH = new Int32Array(N), EMPTY = [];
(function decode() {
  var acc = 0, st = [], i, p, k, laneRoot = new Map();
  if (D.lane) for (k = 0; k < D.lane.length; k += 2) laneRoot.set(D.lane[k], D.lane[k + 1]);
  D.threads.forEach(function (th, k2) { THREAD.fill(k2, th[2], th[2] + th[3]); });
  for (i = 0; i < N; i++) {
    acc += D.start[i];
    START[i] = acc;
    END[i] = acc + DUR[i];
    while (st.length && i > st[st.length - 1] + SIZE[st[st.length - 1]]) st.pop();
    p = st.length ? st[st.length - 1] : -1;
    PARENT[i] = p;
    DEPTH[i] = st.length;
    if (laneRoot.has(i)) { LANE[i] = laneRoot.get(i); LDEPTH[i] = 0; }
    else if (p >= 0 && THREAD[p] === THREAD[i]) { LANE[i] = LANE[p]; LDEPTH[i] = LDEPTH[p] + 1; }
    else { LANE[i] = 0; LDEPTH[i] = 0; }
    st.push(i);
  }
})();
var NCODES = D.codes.length / 4, FN = [], FNL = [], INTERNAL = new Uint8Array(NCODES);
for (var c0 = 0; c0 < NCODES; c0++) {
  var fn0 = S[D.codes[c0 * 4]];
  FN.push(fn0);
  FNL.push(fn0.toLowerCase());
  INTERNAL[c0] = fn0.slice(fn0.lastIndexOf('.') + 1).charAt(0) === '<' ? 1 : 0;
}
function sparse(arr, width) {
  var m = new Map();
  if (!arr) return m;
  for (var i = 0; i < arr.length; i += width) m.set(arr[i], arr.slice(i + 1, i + width));
  return m;
}
var EXC = sparse(D.exc, 4), INC = sparse(D.inc, 2), MEM = sparse(D.mem, 7), GEN = sparse(D.gen, 3);
var CALLER = sparse(D.caller, 2);
var UNITS = D.units || [], UNIT = D.unit || null, UNIT_OF = new Map();
UNITS.forEach(function (u) { if (u.call >= 0) UNIT_OF.set(u.call, u); });
var SOURCES = new Map();
(D.sources || []).forEach(function (s) { SOURCES.set(s[0], { origin: s[1], text: s[2], lines: null }); });
function str(i) { return i >= 0 ? S[i] : null; }
/* The thread a call ran in: its tree thread's, unless it or a caller of it was work handed
 * to another thread (D.ran: call, thread name). */
var RAN = sparse(D.ran, 2);
function threadNameOf(i) {
  for (var x = i; x >= 0; x = PARENT[x]) if (RAN.has(x)) return S[RAN.get(x)[0]];
  return S[D.threads[THREAD[i]][0]];
}
function fnOf(i) { return FN[CODE[i]]; }
function modOf(i) { return S[D.codes[CODE[i] * 4 + 1]]; }
function fileIdx(i) { return D.codes[CODE[i] * 4 + 2]; }
function fileOf(i) { return S[fileIdx(i)]; }
function lineOf(i) { return D.codes[CODE[i] * 4 + 3]; }
/* Argument lists: per call a length (-1: none) and the names and values in a pool, in
 * call order; ARGOFF holds the running sums of the lengths (pool offsets). */
function offsets(count) {
  if (!count) return null;
  var off = new Int32Array(N + 1), acc = 0;
  for (var i = 0; i < N; i++) { off[i] = acc; if (count[i] > 0) acc += 2 * count[i]; }
  off[N] = acc;
  return off;
}
var ARGOFF = offsets(D.argN), AFTEROFF = offsets(D.afterN);
function list(count, off, pool, j) {
  if (!count || count[j] < 0) return null;
  var out = [];
  for (var k = off[j]; k < off[j + 1]; k += 2) out.push([S[pool[k]], S[pool[k + 1]]]);
  return out;
}
function argsOf(i) { return list(D.argN, ARGOFF, D.args, i); }
function argsAfterOf(i) { return list(D.afterN, AFTEROFF, D.after, i); }
function resultOf(i) { return D.result && D.result[i] ? S[D.result[i] - 1] : null; }
function callerOf(i) {
  var c = CALLER.get(i);
  if (c) return S[c[0]];
  return PARENT[i] >= 0 ? fnOf(PARENT[i]) : null;
}
function instanceOf(i) { return D.inst && D.inst[i] ? S[D.inst[i] - 1] : null; }
/* The class of a method call: its qualified name up to the method. */
function classOf(i) { var f = fnOf(i), k = f.lastIndexOf('.'); return k > 0 ? f.slice(0, k) : f; }
var byInstance = null;
/* Every call made on the object of call i, in call order (the index is built once). */
function callsOnObject(i) {
  if (!byInstance) {
    byInstance = new Map();
    for (var j = 0; j < N; j++) {
      var v = D.inst[j];
      if (!v) continue;
      var l = byInstance.get(v);
      if (!l) { l = []; byInstance.set(v, l); }
      l.push(j);
    }
  }
  return byInstance.get(D.inst[i]) || EMPTY;
}
/* One past the last call of call i's thread. */
function threadEnd(i) { var th = D.threads[THREAD[i]]; return th[2] + th[3]; }
/* The call after i among its siblings, or -1. */
function nextSibling(i) {
  var j = i + SIZE[i] + 1, p = PARENT[i];
  return j < (p >= 0 ? p + SIZE[p] + 1 : threadEnd(i)) ? j : -1;
}
function prevSibling(i) {
  var p = PARENT[i], j = p >= 0 ? p + 1 : D.threads[THREAD[i]][2], prev = -1;
  for (; j < i; j += SIZE[j] + 1) prev = j;
  return prev;
}
/* Every call by start time, across threads (ties in pre-order), built on first use. */
var ORDER = null, RANK = null;
function timeOrder() {
  if (!ORDER) {
    ORDER = new Int32Array(N);
    for (var i = 0; i < N; i++) ORDER[i] = i;
    var sorted = true;
    for (i = 1; i < N && sorted; i++) if (START[i] < START[i - 1]) sorted = false;
    if (!sorted) ORDER.sort(function (a, b) { return START[a] - START[b] || a - b; });
    RANK = new Int32Array(N);
    for (i = 0; i < N; i++) RANK[ORDER[i]] = i;
  }
  return ORDER;
}
function rankOf(i) { timeOrder(); return RANK[i]; }
