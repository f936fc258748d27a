/* format.js - text for people. Defines: esc, fmtDur, fmtBytes, cut, highlight, preview,
 * memText, excText, unitHeadline. Uses: data.js. */
function esc(s) {
  return String(s).replace(/[&<>"]/g, function (ch) {
    return ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : '&quot;';
  });
}
function fmtDur(ns) {
  var us = ns / 1000;
  if (us < 1) return Math.round(ns) + 'ns';
  if (us < 1000) return us.toFixed(1) + 'µs';
  if (us < 1e6) return (us / 1e3).toFixed(2) + 'ms';
  return (us / 1e6).toFixed(3) + 's';
}
function fmtBytes(b) {
  if (b < 0 || b === undefined) return '?';
  var u = ['B', 'KB', 'MB', 'GB', 'TB'], k = 0;
  while (b >= 1024 && k < u.length - 1) { b /= 1024; k++; }
  return (k ? b.toFixed(1) : b) + ' ' + u[k];
}
function cut(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }
/* text with every occurrence of q (lower case) marked. */
function highlight(text, q) {
  if (!q) return esc(text);
  var low = text.toLowerCase(), out = '', at = 0, k;
  while ((k = low.indexOf(q, at)) >= 0) {
    out += esc(text.slice(at, k)) + '<mark>' + esc(text.slice(k, k + q.length)) + '</mark>';
    at = k + q.length;
  }
  return out + esc(text.slice(at));
}
function preview(i) {
  var a = argsOf(i), r = resultOf(i), s = '';
  if (a) s = '(' + a.map(function (p) { return p[0] + '=' + cut(p[1], 40); }).join(', ') + ')';
  if (r !== null && r !== 'None') s += ' → ' + cut(r, 60);
  return cut(s, 160);
}
function memText(m) {
  var pick = m[0] >= 0 ? [m[0], m[3], 'rss'] : m[1] >= 0 ? [m[1], m[4], 'py'] : null;
  return pick ? fmtBytes(pick[0]) + '→' + fmtBytes(pick[1]) + ' ' + pick[2] : null;
}
/* "Type: message" of call i's exception, or null. */
function excText(i) {
  var e = EXC.get(i);
  if (!e) return null;
  var ty = str(e[0]), msg = str(e[1]);
  return ty ? ty + (msg ? ': ' + msg : '') : t('excUnknown');
}
/* What a unit is, in one line: a request `GET /boom -> 500 · 3.72ms` (`-` when no status
 * was sent), a test `tests/x.py::test_y · failed · 2.10ms`. */
function unitHeadline(u) {
  var dur = fmtDur(u.durationMicros * 1000), http = u.kind === 'wsgi' || u.kind === 'asgi';
  if (http || (u.status !== null && u.status !== undefined)) return u.name + ' -> ' + (u.status === null || u.status === undefined ? '-' : u.status) + ' · ' + dur;
  return u.name + ' · ' + u.outcome + ' · ' + dur;
}
function unitFailed(u) { return u.outcome === 'failed' || u.outcome === 'error'; }
