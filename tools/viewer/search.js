/* search.js - search over function names, argument and result values (before and after
 * the call) and exceptions (type, module, message). Defines: query, scope, hits, hitPos,
 * hitMark, searchSerial, runSearch, focusHit, updateCounter. Uses: data.js, tree.js, and
 * cursor.js's setCursor (a hit becomes the cursor: its details and source show). */
var query = '', scope = 'all', hits = [], hitPos = -1, hitMark = new Uint8Array(N), searchSerial = 0;
var counterEl = document.getElementById('counter'), searchEl = document.getElementById('search');
var SL = null; /* the strings in lower case, made on the first search over values */
/* Marks the strings that contain q. */
function stringHits(q) {
  if (!SL) SL = S.map(function (s) { return s.toLowerCase(); });
  var m = new Uint8Array(S.length);
  for (var k = 0; k < SL.length; k++) if (SL[k].indexOf(q) >= 0) m[k] = 1;
  return m;
}
function markValues(sh) {
  var pools = [[D.argN, ARGOFF, D.args], [D.afterN, AFTEROFF, D.after]], i, k, p;
  for (p = 0; p < pools.length; p++) {
    var count = pools[p][0], off = pools[p][1], pool = pools[p][2];
    if (!count) continue;
    for (i = 0; i < N; i++) {
      if (count[i] <= 0) continue;
      for (k = off[i] + 1; k < off[i + 1]; k += 2) if (sh[pool[k]]) { hitMark[i] = 1; break; }
    }
  }
  if (D.result) for (i = 0; i < N; i++) if (D.result[i] && sh[D.result[i] - 1]) hitMark[i] = 1;
}
function markErrors(sh) {
  EXC.forEach(function (e, i) {
    if ((e[0] >= 0 && sh[e[0]]) || (e[1] >= 0 && sh[e[1]]) || (e[2] >= 0 && sh[e[2]])) hitMark[i] = 1;
  });
}
function markNames(q) {
  var codeHit = new Uint8Array(NCODES);
  for (var c = 0; c < NCODES; c++) {
    if (FNL[c].indexOf(q) >= 0 && !(hideInternals && INTERNAL[c])) codeHit[c] = 1;
  }
  for (var i = 0; i < N; i++) if (codeHit[CODE[i]]) hitMark[i] = 1;
}
/* Recomputes the hits; with focus, goes to the first. */
function computeHits() {
  hitMark.fill(0); hits = []; hitPos = -1; searchSerial++;
  if (!query) return;
  if (scope === 'all' || scope === 'names') markNames(query);
  if (scope !== 'names') {
    var sh = stringHits(query);
    if (scope === 'all' || scope === 'values') markValues(sh);
    if (scope === 'all' || scope === 'errors') markErrors(sh);
  }
  for (var i = 0; i < N; i++) {
    if (hitMark[i] && hideInternals && INTERNAL[CODE[i]]) hitMark[i] = 0;
    if (hitMark[i]) hits.push(i);
  }
}
function runSearch() {
  query = searchEl.value.trim().toLowerCase();
  computeHits();
  if (hits.length) focusHit(0); else { updateCounter(); render(); drawTimeline(); }
}
function updateCounter() {
  counterEl.textContent = (hits.length ? hitPos + 1 : 0) + '/' + hits.length;
}
function focusHit(k) {
  if (!hits.length) return;
  hitPos = (k + hits.length) % hits.length;
  updateCounter();
  setCursor(hits[hitPos]);
}
/* After a view change (internals hidden or shown): the same query, no jump. */
function refreshHits() {
  if (!query) return;
  var at = hitPos >= 0 ? hits[hitPos] : -1;
  computeHits();
  hitPos = hits.indexOf(at);
  if (hitPos < 0 && hits.length) hitPos = 0;
  updateCounter();
}
