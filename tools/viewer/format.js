/* format.js - text for people. Defines: esc, fmtDur, fmtBytes, cut, highlight, preview,
 * memText, excText, unitHeadline, shownJson, shownMembers, pyStr. Uses: data.js. */
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
/* A recorded value as the text shown for it (docs/format.md "Showing a value"), read
 * from its JSON text (JSON.parse would lose a number's text: 1.0 is not 1). Format 3: a
 * JSON value stands for the Python value it was (a string its quoted repr, an object with
 * a string "repr" a described value); text that is not JSON is shown as it is. */
function shownJson(text) {
  var r = { s: String(text), i: 0 };
  try {
    var out = jsonShow(r);
    jsonSpace(r);
    return r.i === r.s.length ? out : r.s;
  } catch (e) { return r.s; }
}
/* [name, shown text] of each member of a map of values (a call's locals): in formats 1
 * and 2 each value is its repr already. */
function shownMembers(text, format) {
  var r = { s: String(text), i: 0 };
  try {
    if (format < 3) {
      var m = JSON.parse(r.s);
      return Object.keys(m).map(function (k) { return [k, typeof m[k] === 'string' ? m[k] : JSON.stringify(m[k])]; });
    }
    jsonSpace(r);
    if (r.s[r.i] !== '{') return [];
    return jsonMembers(r).map(function (m) { return [m.k, m.shown]; });
  } catch (e) { return []; }
}
function jsonSpace(r) { while (' \n\r\t'.indexOf(r.s[r.i]) >= 0 && r.i < r.s.length) r.i++; }
function jsonString(r) {
  var k = r.i + 1;
  while (k < r.s.length && r.s[k] !== '"') k += r.s[k] === '\\' ? 2 : 1;
  var v = JSON.parse(r.s.slice(r.i, k + 1));
  r.i = k + 1;
  return v;
}
/* {k, shown, at} per member of the object at r.i (its '{'). */
function jsonMembers(r) {
  var out = [];
  r.i++;
  jsonSpace(r);
  if (r.s[r.i] === '}') { r.i++; return out; }
  for (;;) {
    jsonSpace(r);
    var k = jsonString(r);
    jsonSpace(r);
    if (r.s[r.i++] !== ':') throw new Error('json');
    jsonSpace(r);
    var at = r.i;
    out.push({ k: k, shown: jsonShow(r), at: at });
    jsonSpace(r);
    var c = r.s[r.i++];
    if (c === '}') return out;
    if (c !== ',') throw new Error('json');
  }
}
function jsonShow(r) {
  jsonSpace(r);
  var c = r.s[r.i], m;
  if (c === '"') return pyStr(jsonString(r));
  if (c === '{') {
    var start = r.i, ms = jsonMembers(r), end = r.i;
    for (var j = 0; j < ms.length; j++) {
      if (ms[j].k === 'repr' && r.s[ms[j].at] === '"') {
        r.i = ms[j].at;
        var repr = jsonString(r);
        r.i = end;
        return repr;
      }
    }
    r.i = end;
    return '{' + ms.map(function (x) { return pyStr(x.k) + ': ' + x.shown; }).join(', ') + '}';
  }
  if (c === '[') {
    var parts = [];
    r.i++;
    jsonSpace(r);
    if (r.s[r.i] === ']') { r.i++; return '[]'; }
    for (;;) {
      parts.push(jsonShow(r));
      jsonSpace(r);
      c = r.s[r.i++];
      if (c === ']') return '[' + parts.join(', ') + ']';
      if (c !== ',') throw new Error('json');
    }
  }
  m = /^(null|true|false|-?[0-9][0-9.eE+-]*)/.exec(r.s.slice(r.i, r.i + 64));
  if (!m) throw new Error('json');
  r.i += m[1].length;
  return m[1] === 'null' ? 'None' : m[1] === 'true' ? 'True' : m[1] === 'false' ? 'False' : m[1];
}
/* repr(str) as the tracer writes it: ' unless the text has ' and no "; \\, the quote, \n,
 * \r, \t escaped, other ASCII control characters as \xNN; the rest as it is. */
function pyStr(s) {
  var q = s.indexOf("'") >= 0 && s.indexOf('"') < 0 ? '"' : "'";
  return q + s.replace(/[\\\n\r\t\x00-\x1f\x7f'"]/g, function (ch) {
    if (ch === '\\') return '\\\\';
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    if (ch === "'" || ch === '"') return ch === q ? '\\' + ch : ch;
    return '\\x' + ('0' + ch.charCodeAt(0).toString(16)).slice(-2);
  }) + q;
}
