/* main.js - the controls (tree clicks and keys, search box, toggles, badges, theme,
 * language) and the start: the first levels of the tree open, no cursor yet (the debug
 * bar's buttons and keys place it; a diff's page starts on its first divergence). Uses
 * every file before it. */
rowsEl.addEventListener('click', function (ev) {
  var rowEl = ev.target.closest('.row');
  if (!rowEl) return;
  var r = +rowEl.dataset.r;
  selected = r;
  if (ev.target.closest('.twisty') || rowKind[r] === 2 || (rowKind[r] === 1 && ev.target.closest('.name'))) {
    toggleRow(r);
  } else if (rowKind[r] === 0) {
    if (ev.target.closest('.name')) openPanel(rowRef[r]);
    setCursor(rowRef[r]);
  } else render();
});
rowsEl.addEventListener('dblclick', function (ev) {
  var rowEl = ev.target.closest('.row');
  if (rowEl && !ev.target.closest('.name')) toggleRow(+rowEl.dataset.r);
});
treeEl.addEventListener('scroll', schedule);
window.addEventListener('resize', function () { schedule(); scheduleTimeline(); });
treeEl.addEventListener('keydown', function (ev) {
  if (selected < 0 && nrows) selected = 0;
  var r = selected, kind = rowKind[r], ref = rowRef[r];
  if (ev.key === 'ArrowDown') selected = Math.min(nrows - 1, r + 1);
  else if (ev.key === 'ArrowUp') selected = Math.max(0, r - 1);
  else if (ev.key === 'ArrowRight' && !isOpen(kind === 1 ? -(ref + 1) : ref) && kind !== 2) toggleRow(r);
  else if (ev.key === 'ArrowLeft' && kind !== 2 && isOpen(kind === 1 ? -(ref + 1) : ref)) toggleRow(r);
  else if (ev.key === 'Enter' && kind === 0) openPanel(ref);
  else return;
  ev.preventDefault();
  ev.stopPropagation();
  if (rowKind[selected] === 0 && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) { setCursor(rowRef[selected]); return; }
  var y = selected * ROWH, virt = toVirtual(treeEl.scrollTop);
  if (y < virt || y > virt + treeEl.clientHeight - ROWH) scrollToRow(selected);
  else render();
});
var timer = 0, scopeEl = document.getElementById('scope');
searchEl.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(runSearch, 120); });
searchEl.addEventListener('keydown', function (ev) {
  if (ev.key === 'Enter') { clearTimeout(timer); if (query !== searchEl.value.trim().toLowerCase()) runSearch(); else focusHit(hitPos + (ev.shiftKey ? -1 : 1)); }
  if (ev.key === 'Escape') searchEl.blur();
});
scopeEl.onchange = function () { scope = scopeEl.value; runSearch(); };
document.getElementById('next').onclick = function () { focusHit(hitPos + 1); };
document.getElementById('prev').onclick = function () { focusHit(hitPos - 1); };
document.getElementById('expand-all').onclick = expandAll;
document.getElementById('collapse-all').onclick = collapseAll;
document.getElementById('hide-internals').onchange = function (ev) {
  hideInternals = ev.target.checked; resetModel(); refreshHits(); refresh(-1);
  if (cursor >= 0) selected = reveal(cursor);
};
document.getElementById('group').onchange = function (ev) {
  grouping = ev.target.checked; resetModel(); refresh(-1);
};
var objectsEl = document.getElementById('objects');
objectsEl.checked = byObject;
objectsEl.disabled = !D.inst;
objectsEl.onchange = function (ev) {
  byObject = ev.target.checked && !!D.inst; resetModel(); refresh(-1);
};
function setBadges() {
  var all = document.getElementById('badges').checked;
  document.body.classList.toggle('no-badges', !all);
  document.getElementById('badge-kinds').classList.toggle('off', !all);
  document.querySelectorAll('[data-badge]').forEach(function (cb) {
    document.body.classList.toggle('no-' + cb.dataset.badge, !cb.checked);
  });
}
document.getElementById('badges').onchange = setBadges;
document.querySelectorAll('[data-badge]').forEach(function (cb) { cb.onchange = setBadges; });
var themeBtn = document.getElementById('theme');
function setTheme(dark) {
  document.body.classList.toggle('dark', dark);
  document.body.classList.toggle('light', !dark);
  themeBtn.textContent = dark ? t('toLight') : t('toDark');
  tlColors = null;
  scheduleTimeline();
  try { localStorage.setItem('flowtrace.theme', dark ? 'dark' : 'light'); } catch (e) { /* file:// */ }
}
themeBtn.onclick = function () { setTheme(!document.body.classList.contains('dark')); };
var langEl = document.getElementById('lang');
function setLang(l) {
  lang = I18N[l] ? l : 'en';
  langEl.value = lang;
  document.documentElement.lang = lang;
  document.querySelectorAll('[data-i18n]').forEach(function (el) { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll('[data-i18n-placeholder]').forEach(function (el) { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll('[data-i18n-title]').forEach(function (el) { el.title = t(el.dataset.i18nTitle); });
  themeBtn.textContent = document.body.classList.contains('dark') ? t('toLight') : t('toDark');
  panels.forEach(function (p, i) { fillPanel(p, i); });
  header();
  showUnits();
  showDiff();
  if (cursor >= 0) setCursor(cursor); else updateCursorLabel();
  render();
  try { localStorage.setItem('flowtrace.lang', lang); } catch (e) { /* file:// */ }
}
langEl.onchange = function () { setLang(langEl.value); };

/* ---- Start: the first levels open, up to a screenful --------------------------------- */
(function initialOpen() {
  var budget = 60, queue = [];
  for (var ti = 0; ti < D.threads.length; ti++) queue = queue.concat(threadItems(ti));
  budget -= queue.length;
  while (queue.length && budget > 0) {
    var it = queue.shift();
    if (it < 0) continue;
    var ch = kids(it);
    if (!ch.length || ch.length > budget) continue;
    open[it] = 1;
    budget -= ch.length;
    queue = queue.concat(ch);
  }
})();
flatten();
var loadMs = performance.now() - T0;
var savedLang = null, savedTheme = null;
try { savedLang = localStorage.getItem('flowtrace.lang'); savedTheme = localStorage.getItem('flowtrace.theme'); } catch (e) { /* file:// */ }
setTheme(savedTheme !== 'light');
setBadges();
setLang(savedLang || 'en');
layout();
drawTimeline();
startOnDiff();
loadMs = performance.now() - T0;
header();
document.body.dataset.ready = '1';
document.body.dataset.loadMs = String(Math.round(loadMs));
/* Since navigation started: reading the page's bytes and parsing the data included. */
document.body.dataset.readyMs = String(Math.round(performance.now()));
