/* diff.js - a page written by `flowtrace diff --html`: B's run or unit, with a pane that
 * lists where it parted from A (diff -u style: '-' A only, '+' B only, '~' the same call
 * with other values, ' ' alike), each row leading to B's call; the cursor starts on the
 * first divergence. Defines: showDiff, startOnDiff. Uses: data.js, format.js, cursor.js. */
var diffEl = document.getElementById('diff'), DIFF = D.diff || null;
function showDiff() {
  if (!DIFF) { diffEl.hidden = true; return; }
  var h = '<h3>' + esc(t('diff')) + '</h3><div class="diff-sides"><div><b>A</b> ' + esc(DIFF.a) + '</div><div><b>B</b> ' +
    esc(DIFF.b) + '</div><div class="dim">' + DIFF.same + ' ' + esc(t('alike')) + ' · ' + DIFF.divergences + ' ' +
    esc(t('divergences')) + '</div></div><ol class="diff-rows">';
  var firstShown = false;
  DIFF.rows.forEach(function (r) {
    var pad = 'padding-left:' + (4 + r.depth * 12) + 'px';
    var first = r.k !== 'same' && !firstShown ? ' first' : '';
    if (first) firstShown = true;
    var attrs = ' data-call="' + r.call + '" style="' + pad + '"';
    if (r.k === 'same') h += '<li class="same' + first + '"' + attrs + '>  ' + esc(r.b) + '</li>';
    else if (r.k === 'a') h += '<li class="only-a' + first + '"' + attrs + '>- ' + esc(r.a) + '</li>';
    else if (r.k === 'b') h += '<li class="only-b' + first + '"' + attrs + '>+ ' + esc(r.b) + '</li>';
    else {
      h += '<li class="only-a' + first + '"' + attrs + '>- ' + esc(r.a) + '</li>';
      h += '<li class="only-b"' + attrs + '>+ ' + esc(r.b) + '</li>';
      h += '<li class="what"' + attrs + '>  (' + esc(r.what || '') + ')</li>';
    }
  });
  diffEl.innerHTML = h + '</ol>';
  diffEl.hidden = false;
}
diffEl.addEventListener('click', function (ev) {
  var li = ev.target.closest('[data-call]');
  if (li && +li.dataset.call >= 0) setCursor(+li.dataset.call);
});
/* The cursor on B's call at the first divergence (where B was, when only A made a call). */
function startOnDiff() {
  if (!DIFF) return;
  for (var k = 0; k < DIFF.rows.length; k++) {
    if (DIFF.rows[k].k !== 'same' && DIFF.rows[k].call >= 0) { setCursor(DIFF.rows[k].call); return; }
  }
}
