/* source.js - the code of the cursor's call: its function, with the line it starts at and
 * the line that raised (when recorded) marked, from the source kept with the run, else
 * from the file on disk when the page was written, else a line saying why there is none.
 * Defines: showSource, raiseLineOf. Uses: data.js, format.js. */
var sourceEl = document.getElementById('source');
var SRC_CONTEXT = 3, SRC_MAX_LINES = 400;
/* The line that raised call i's exception, when the trace has it (raise sites are
 * recorded by newer tracers: D.raise holds call, file, line triples). */
var RAISE = sparse(D.raise, 3);
function raiseLineOf(i) {
  var r = RAISE.get(i);
  return r ? { file: r[0], line: r[1] } : null;
}
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
  var raise = raiseLineOf(i), origin = s ? s.origin : 'none';
  var h = '<div class="src-head"><span class="src-file">' + esc(S[f] + ':' + def) + '</span> <span class="src-origin ' +
    esc(origin) + '">' + esc(t(SRC_ORIGIN[origin] || 'srcNone')) + '</span></div>';
  if (!lines) { sourceEl.innerHTML = h; sourceEl.dataset.origin = origin; return; }
  var from = Math.max(1, def - SRC_CONTEXT), to = Math.min(lines.length, blockEnd(lines, def) + 1);
  var rl = raise && raise.file === f ? raise.line : -1;
  if (rl > 0) { from = Math.min(from, rl - SRC_CONTEXT); to = Math.max(to, rl + SRC_CONTEXT); }
  from = Math.max(1, from);
  to = Math.min(lines.length, to, from + SRC_MAX_LINES - 1);
  h += '<pre class="src">';
  for (var k = from; k <= to; k++) {
    var cls = k === def ? ' cur' : '', mark = k === def ? t('defLine') : '';
    if (k === rl) { cls += ' raise'; mark = t('raiseLine'); }
    h += '<div class="ln' + cls + '"' + (mark ? ' title="' + esc(mark) + '"' : '') + '><span class="no">' + k +
      '</span>' + esc(lines[k - 1]) + (k === rl ? '<span class="raise-mark"> ← ' + esc(excText(i) || t('raised')) + '</span>' : '') +
      '</div>';
  }
  sourceEl.innerHTML = h + '</pre>';
  sourceEl.dataset.origin = origin;
  /* Scrolled inside the code box only, never the pane around it. */
  var pre = sourceEl.querySelector('pre'), cur = sourceEl.querySelector('.ln.raise') || sourceEl.querySelector('.ln.cur');
  if (cur) pre.scrollTop = Math.max(0, cur.offsetTop - pre.offsetTop - pre.clientHeight / 3);
}
