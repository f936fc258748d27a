/* source.js - the code of the cursor's call: its function, with the line it starts at and
 * the line that raised (or that the exception left it at) marked, when the run recorded
 * them, from the source kept with the run, else from the file on disk when the page was
 * written, else a line saying why there is none. Defines: showSource, raiseLineOf,
 * leftAtOf. Uses: data.js, format.js, cursor.js (raiseSiteOf). */
var sourceEl = document.getElementById('source');
var SRC_CONTEXT = 3, SRC_MAX_LINES = 400;
/* Where call i's exception was raised, when the run recorded it: {file, line} (a path and
 * a line; D.raise holds the JSON text per call), else null. */
var RAISE = sparse(D.raise, 2), LEFTAT = sparse(D.leftAt, 2), parsedRaise = new Map();
function raiseLineOf(i) {
  var r = RAISE.get(i);
  if (!r) return null;
  if (!parsedRaise.has(i)) {
    var v = null;
    try { v = JSON.parse(S[r[0]]); } catch (e) { /* not what this page knows */ }
    parsedRaise.set(i, v && v.line ? { file: v.file || null, line: v.line } : null);
  }
  return parsedRaise.get(i);
}
/* The line call i was at when an exception left it (recorded by the run), or 0. */
function leftAtOf(i) { var l = LEFTAT.get(i); return l ? l[0] : 0; }
function sourceLines(f) {
  var s = SOURCES.get(f);
  if (!s || s.text === null || s.text === undefined) return null;
  if (!s.lines) s.lines = s.text.split(/\r\n|\r|\n/);
  return s.lines;
}
/* The last line of the block that starts at line `def` (1-based): up to the next line
 * indented no deeper than it, comments and blank lines aside. */
function blockEnd(lines, def) {
  var first = lines[def - 1] || '', ind = first.length - first.replace(/^\s+/, '').length, end = def;
  /* A decorated function's first line is its first decorator: the def follows. */
  var k = def;
  while (k <= lines.length && /^\s*@/.test(lines[k - 1] || '')) k++;
  for (k = k + 1; k <= lines.length; k++) {
    var l = lines[k - 1];
    if (/^\s*(#.*)?$/.test(l)) continue;
    if (l.length - l.replace(/^\s+/, '').length <= ind && !/^\s*[)\]}]/.test(l)) break;
    end = k;
  }
  return end;
}
var SRC_ORIGIN = {
  run: 'srcRun', disk: 'srcDisk', changed: 'srcChanged', missing: 'srcMissing', none: 'srcNone',
  large: 'srcLarge', unreadable: 'srcUnreadable', binary: 'srcBinary'
};
function showSource(i) {
  var f = fileIdx(i), def = lineOf(i), lines = sourceLines(f), s = SOURCES.get(f);
  /* The call that raised shows its raise line; a call the exception only passed through
   * shows the line it was left at (the call that led down to the raise). */
  var own = EXC.has(i) && raiseSiteOf(i) === i, origin = s ? s.origin : 'none';
  var raise = own ? raiseLineOf(i) : null, left = leftAtOf(i);
  var h = '<div class="src-head"><span class="src-file">' + esc(S[f] + ':' + def) + '</span> <span class="src-origin ' +
    esc(origin) + '">' + esc(t(SRC_ORIGIN[origin] || 'srcNone')) + '</span></div>';
  if (!lines) { sourceEl.innerHTML = h; sourceEl.dataset.origin = origin; return; }
  var from = Math.max(1, def - SRC_CONTEXT), to = Math.min(lines.length, blockEnd(lines, def) + 1);
  /* The raise line when it is in this file; else the line the exception left this call. */
  var rl = raise && (raise.file === S[f] || raise.file === null) ? raise.line : left > 0 ? left : -1;
  var markText = raise && rl === raise.line ? excText(i) || t('raised') : t('leftLine');
  if (rl > 0) { from = Math.min(from, rl - SRC_CONTEXT); to = Math.max(to, rl + SRC_CONTEXT); }
  from = Math.max(1, from);
  to = Math.min(lines.length, to, from + SRC_MAX_LINES - 1);
  h += '<pre class="src">';
  for (var k = from; k <= to; k++) {
    var cls = k === def ? ' cur' : '', mark = k === def ? t('defLine') : '';
    if (k === rl) { cls += ' raise'; mark = raise && raise.line === rl ? t('raiseLine') : t('leftLine'); }
    h += '<div class="ln' + cls + '"' + (mark ? ' title="' + esc(mark) + '"' : '') + '><span class="no">' + k +
      '</span>' + esc(lines[k - 1]) + (k === rl ? '<span class="raise-mark"> ← ' + esc(markText) + '</span>' : '') +
      '</div>';
  }
  sourceEl.innerHTML = h + '</pre>';
  sourceEl.dataset.origin = origin;
  /* Scrolled inside the code box only, never the pane around it. */
  var pre = sourceEl.querySelector('pre'), cur = sourceEl.querySelector('.ln.raise') || sourceEl.querySelector('.ln.cur');
  if (cur) pre.scrollTop = Math.max(0, cur.offsetTop - pre.offsetTop - pre.clientHeight / 3);
}
