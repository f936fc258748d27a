/* panels.js - a call's details (status, place, timing, inputs, output, exception, memory,
 * the calls on its object and the calls it made), in floating panels opened from the tree
 * and in the side pane of the cursor. Defines: callDetails, openPanel, closePanel,
 * panels, fillPanel. Uses: data.js, format.js, tree.js (kids, groups, reveal) and
 * cursor.js (setCursor). */
var panelsEl = document.getElementById('panels'), zTop = 100, panels = new Map(), placed = 0;
function kv(k, v, cls) {
  return '<div class="k">' + esc(k) + '</div><div class="v' + (cls ? ' ' + cls : '') + '">' + v + '</div>';
}
function callDetails(i) {
  var h = '<div class="kv">', e = EXC.get(i), inc = INC.get(i), gen = GEN.get(i);
  var status = e ? '✗ ' + t('raised') : inc ? '… ' + t('unfinished') + ' (' + esc(S[inc[0]]) + ')' : '✓ ' + t('returned');
  h += kv(t('status'), status, e ? 'err' : '');
  h += kv(t('module'), esc(modOf(i)));
  h += kv(t('file'), esc(fileOf(i) + ':' + lineOf(i)));
  h += kv(t('thread'), esc(threadNameOf(i)) + (RAN.has(i) ? ' <span class="dim">(' + esc(t('handedFrom')) + ' ' +
    esc(PARENT[i] >= 0 ? threadNameOf(PARENT[i]) : S[D.threads[THREAD[i]][0]]) + ')</span>' : ''));
  var caller = callerOf(i);
  h += kv(t('caller'), caller ? '<span class="link" data-open="' + visibleParent(i) + '">' + esc(caller) + '</span>' : esc(t('callerTop')));
  h += kv(t('start'), '+' + fmtDur(START[i]));
  h += kv(t('duration'), fmtDur(DUR[i]));
  var self = DUR[i], j;
  /* Calls that ran concurrently (on another lane) do not take from its own time. */
  for (j = i + 1; j <= i + SIZE[i]; j += SIZE[j] + 1) if (LANE[j] === LANE[i]) self -= DUR[j];
  h += kv(t('selfTime'), fmtDur(Math.max(0, self)));
  if (gen) {
    h += kv(t('resumes'), gen[0] + ' ' + t('times'));
    if (gen[1] >= 0) h += kv(t('active'), fmtDur(gen[1]));
  }
  var inst = instanceOf(i);
  if (inst) h += kv(t('instance'), esc(inst));
  var u = unitAround(i);
  if (u) h += kv(t('unit'), esc(unitHeadline(u)), unitFailed(u) ? 'err' : '');
  if (GENERATED.has(i)) h += kv(t('file'), esc(t('generated')));
  h += '</div><h4>' + esc(t('inputs')) + '</h4>';
  var a = argsOf(i);
  if (a && a.length) {
    h += '<div class="kv">';
    a.forEach(function (p) { h += kv(p[0], esc(p[1])); });
    h += '</div>';
  } else h += '<div class="empty">' + esc(a ? t('none') : t('noInputs')) + '</div>';
  var after = argsAfterOf(i);
  if (after && after.length) {
    h += '<h4>' + esc(t('inputsAfter')) + '</h4><div class="kv">';
    after.forEach(function (p) { h += kv(p[0], esc(p[1]), 'changed'); });
    h += '</div>';
  }
  h += '<h4>' + esc(t('output')) + '</h4>';
  var r = resultOf(i);
  h += r !== null ? '<div class="kv">' + kv('→', esc(r)) + '</div>' : '<div class="empty">' + esc(t('noOutput')) + '</div>';
  if (e) {
    h += '<h4>' + esc(t('error')) + '</h4><div class="kv">';
    h += str(e[0]) ? kv((str(e[2]) ? str(e[2]) + '.' : '') + str(e[0]), esc(str(e[1]) || ''), 'err')
      : kv(t('raised'), esc(str(e[1]) || t('excUnknown')), 'err');
    h += raisedIn(i) + '</div>' + localsOf(i);
  }
  var m = MEM.get(i);
  if (m) {
    var names = ['rss', 'tracemalloc', 'peak'];
    h += '<h4>' + esc(t('memory')) + '</h4><div class="kv">';
    for (j = 0; j < 3; j++) {
      if (m[j] >= 0 || m[j + 3] >= 0) {
        var delta = m[j] >= 0 && m[j + 3] >= 0 ? ' (' + (m[j + 3] >= m[j] ? '+' : '−') + fmtBytes(Math.abs(m[j + 3] - m[j])) + ')' : '';
        h += kv(names[j], esc(fmtBytes(m[j]) + ' → ' + fmtBytes(m[j + 3]) + delta));
      }
    }
    h += '</div>';
  }
  var onObject = inst ? callsOnObject(i) : EMPTY;
  if (onObject.length > 1) h += linkList(t('objectCalls'), onObject);
  var ch = kids(i);
  h += '<h4>' + esc(t('children')) + ' (' + SIZE[i] + ')</h4>';
  if (ch.length) {
    h += '<ul class="children">';
    ch.slice(0, 100).forEach(function (it) {
      var g = it < 0 ? groups[-it - 1] : null, n = g ? g.members[0] : it;
      var label = g && g.inst ? '◆ ' + classOf(n) + ' ' + S[g.inst - 1] : fnOf(n);
      var cnt = g ? ' (x' + g.members.length + ')' : '';
      h += '<li><span class="link" data-open="' + n + '">' + esc(label) + '</span>' + cnt + ' ' + fmtDur(DUR[n]) + (EXC.has(n) ? ' ✗' : '') + '</li>';
    });
    if (ch.length > 100) h += '<li class="empty">… ' + (ch.length - 100) + ' ' + esc(t('more')) + '</li>';
    h += '</ul>';
  } else h += '<div class="empty">' + esc(t('none')) + '</div>';
  h += '<p><button data-reveal="' + i + '">' + esc(t('reveal')) + '</button></p>';
  return h;
}
/* Where call i's exception came from: the calls it passed through below i, down to the
 * one that raised it (each a link), and the line, when the run recorded it. */
function raisedIn(i) {
  var origin = raiseSiteOf(i), path = [], line = raiseLineOf(origin) || raiseLineOf(i), h = '';
  var where = line ? (line.file || fileOf(origin)).split('/').pop() + ':' + line.line
    : fileOf(origin).split('/').pop() + ':' + lineOf(origin);
  for (var x = origin; x !== i && x >= 0; x = PARENT[x]) path.push(x);
  if (path.length) {
    h += kv(t('raiseSite'), path.reverse().map(function (x) {
      return '<span class="link" data-open="' + x + '">' + esc(fnOf(x)) + '</span>';
    }).join(' › ') + ' <span class="dim">' + esc(where) + '</span>');
  } else if (line) {
    h += kv(t('raiseSite'), esc(where));
  }
  var left = leftAtOf(i);
  if (left && path.length) h += kv(t('leftAt'), esc(fileOf(i).split('/').pop() + ':' + left));
  return h + causesOf(i);
}
/* Post-mortem fields of newer runs, as JSON text per call (see docs/format.md). */
var LOCALS = sparse(D.locals, 2), CAUSE = sparse(D.cause, 2), GENERATED = new Set(D.generated || []);
function parsed(map, i) {
  var r = map.get(i);
  if (!r) return null;
  try { return JSON.parse(S[r[0]]); } catch (e) { return null; }
}
/* The exceptions this one came from: "Caused by" (raise ... from) or "During the handling
 * of" (raised while handling another), nearest first. */
function causesOf(i) {
  var c = parsed(CAUSE, i), h = '';
  if (!Array.isArray(c)) return h;
  c.forEach(function (x) {
    var where = x.file ? ' (' + String(x.file).split('/').pop() + ':' + x.line + ')' : '';
    h += kv(t(x.via === 'context' ? 'context' : 'cause'), esc((x.type || '?') + (x.message ? ': ' + x.message : '') + where), 'err');
  });
  return h;
}
/* The local variables the call had when the exception left it, each as its repr. */
function localsOf(i) {
  var r = LOCALS.get(i);
  if (!r) return '';
  var h = '<h4>' + esc(t('locals')) + '</h4><div class="kv">';
  shownMembers(S[r[0]], D.run.format || 1).forEach(function (m) { h += kv(m[0], esc(m[1])); });
  return h + '</div>';
}
/* A heading and up to 100 calls, each a link that opens its panel. */
function linkList(title, calls) {
  var h = '<h4>' + esc(title) + ' (' + calls.length + ')</h4><ul class="children">';
  calls.slice(0, 100).forEach(function (n) {
    h += '<li><span class="link" data-open="' + n + '">' + esc(fnOf(n)) + '</span> ' + esc(cut(preview(n), 80)) +
      ' ' + fmtDur(DUR[n]) + (EXC.has(n) ? ' ✗' : '') + '</li>';
  });
  if (calls.length > 100) h += '<li class="empty">… ' + (calls.length - 100) + ' ' + esc(t('more')) + '</li>';
  return h + '</ul>';
}
function fillPanel(p, i) {
  p.querySelector('.panel-title').textContent = fnOf(i);
  p.querySelector('.min').title = t('minimize');
  p.querySelector('.max-btn').title = t('maximize');
  p.querySelector('.close').title = t('close');
  p.querySelector('.panel-body').innerHTML = callDetails(i);
}
function front(p) { p.style.zIndex = ++zTop; }
/* Opens (or brings to the front) the panel of call i; opener is the call whose panel
 * it was opened from, -1 for the tree. Closing a panel closes those opened from it. */
function openPanel(i, opener) {
  var p = panels.get(i);
  if (p) { front(p); p.classList.remove('min'); return p; }
  p = document.createElement('div');
  p.className = 'panel';
  p.dataset.call = i;
  p.dataset.opener = opener === undefined ? -1 : opener;
  p.innerHTML = '<div class="panel-head"><span class="panel-title"></span>' +
    '<button class="min">—</button><button class="max-btn">▢</button><button class="close">✕</button></div>' +
    '<div class="panel-body"></div>';
  fillPanel(p, i);
  var w = Math.min(520, window.innerWidth * 0.92);
  var left = window.innerWidth - w - 24 - (placed % 6) * 32, top = 120 + (placed % 6) * 32;
  placed++;
  p.style.left = Math.max(8, left) + 'px';
  p.style.top = Math.min(top, window.innerHeight - 120) + 'px';
  panelsEl.appendChild(p);
  front(p);
  panels.set(i, p);
  p.addEventListener('pointerdown', function () { front(p); });
  p.querySelector('.min').onclick = function () { p.classList.toggle('min'); };
  p.querySelector('.max-btn').onclick = function () { p.classList.toggle('max'); };
  p.querySelector('.close').onclick = function () { closePanel(i); };
  drag(p, p.querySelector('.panel-head'));
  return p;
}
function closePanel(i) {
  var p = panels.get(i), opened = [];
  if (!p) return;
  p.remove();
  panels.delete(i);
  panels.forEach(function (q, j) { if (+q.dataset.opener === i) opened.push(j); });
  opened.forEach(closePanel);
}
function drag(p, handle) {
  handle.addEventListener('pointerdown', function (ev) {
    if (ev.target.tagName === 'BUTTON' || p.classList.contains('max')) return;
    var sx = ev.clientX, sy = ev.clientY, ox = p.offsetLeft, oy = p.offsetTop;
    handle.setPointerCapture(ev.pointerId);
    function move(e2) {
      p.style.left = Math.max(0, Math.min(window.innerWidth - 60, ox + e2.clientX - sx)) + 'px';
      p.style.top = Math.max(0, Math.min(window.innerHeight - 30, oy + e2.clientY - sy)) + 'px';
    }
    function up() {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
    }
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
  });
}
panelsEl.addEventListener('click', function (ev) {
  var o = ev.target.closest('[data-open]'), rv = ev.target.closest('[data-reveal]');
  var from = ev.target.closest('.panel');
  if (o && +o.dataset.open >= 0) openPanel(+o.dataset.open, from ? +from.dataset.call : -1);
  if (rv) setCursor(+rv.dataset.reveal);
});

/* ---- Controls ----------------------------------------------------------------------- */
