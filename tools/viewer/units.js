/* units.js - the run's header and its tests and requests: a list where each unit (its
 * headline, `GET /boom -> 500 · 3.72ms`) leads to its call in the run. A page of one
 * unit is headed by the unit, not by the run's "Uncaught" exception. Defines: header,
 * showUnits. Uses: data.js, format.js, cursor.js (setCursor, testCallOf). */
var unitsEl = document.getElementById('units');
function header() {
  var R = D.run, ok = R.ended === 'exec' || ((R.ended === 'exit' || R.ended === 'os._exit') && R.exitCode === 0);
  var cmd = (R.argv || []).slice(1).join(' ');
  var end = R.ended === 'signal' ? 'signal ' + R.signal : R.exitCode !== null && R.exitCode !== undefined ? t('exitStatus') + ' ' + R.exitCode : R.ended;
  var st = document.getElementById('run-status'), parts;
  if (UNIT) {
    ok = !unitFailed(UNIT);
    parts = [t('unit') + ' ' + UNIT.id + ' · ' + unitHeadline(UNIT), t('run') + ' ' + R.id, cmd, 'Python ' + R.python, N + ' ' + t('calls')];
    if (UNIT.exception && UNIT.exception.type) parts.push(t('raisedIn') + ' ' + UNIT.exception.type + ': ' + UNIT.exception.message);
  } else {
    parts = [t('run') + ' ' + R.id, cmd, 'Python ' + R.python, end, fmtDur(R.durationMicros * 1000), N + ' ' + t('calls')];
    if (R.lost) parts.push(R.lost + ' ' + t('lost'));
    (R.notices || []).forEach(function (n) { parts.push(t('notice') + ': ' + n); });
    if (R.exception) parts.push(t('uncaught') + ' ' + R.exception.type + ': ' + R.exception.message);
  }
  parts = parts.filter(function (p) { return p; });
  st.textContent = ok ? '✓' : '✗';
  st.className = 'status ' + (ok ? 'st-ok' : 'st-err');
  document.getElementById('run-title').textContent = parts.join(' · ');
  document.title = 'FlowTrace · ' + (UNIT ? UNIT.name + ' · ' : '') + R.id + (cmd ? ' · ' + cmd : '');
  document.getElementById('status-line').textContent = N + ' ' + t('calls') + ' · ' + D.threads.length + ' ' +
    t('threads') + ' · ' + t('loaded') + ' ' + Math.round(loadMs) + ' ms · ' + t('shortcuts');
}
function showUnits() {
  if (!UNITS.length || UNIT) { unitsEl.hidden = true; return; }
  var nfail = UNITS.filter(unitFailed).length;
  var h = '<h3>' + esc(t('units')) + ' (' + UNITS.length + (nfail ? ', ' + nfail + ' ✗' : '') + ')</h3><ul>';
  UNITS.forEach(function (u) {
    var icon = unitFailed(u) ? '<span class="st-err">✗</span>' : u.outcome === 'skipped' ? '<span class="dim">○</span>' : '<span class="st-ok">✓</span>';
    h += '<li class="' + (u.call >= 0 ? 'link' : 'dim') + '" data-unit-call="' + u.call + '">' + icon + ' ' +
      esc(unitHeadline(u)) + (u.call < 0 ? ' <span class="dim">(' + esc(t('notKept')) + ')</span>' : '') + '</li>';
  });
  unitsEl.innerHTML = h + '</ul>';
  unitsEl.hidden = false;
}
unitsEl.addEventListener('click', function (ev) {
  var li = ev.target.closest('[data-unit-call]');
  if (li && +li.dataset.unitCall >= 0) setCursor(testCallOf(UNIT_OF.get(+li.dataset.unitCall)));
});
