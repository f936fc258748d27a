/* FlowTrace viewer: one run's calls, embedded by `flowtrace html` as columns (see
 * docs/cli.md, "html"). Only the rows on screen exist in the page, so a run of millions
 * of calls opens and scrolls like a small one. */
(function () {
  'use strict';
  var T0 = performance.now();

  var I18N = {
    en: {
      expandAll: 'Expand all', collapseAll: 'Collapse all', toLight: '☀ Light', toDark: '☾ Dark',
      searchPlaceholder: 'Search functions and classes…', previous: 'Previous', next: 'Next',
      showBadges: 'Badges', badgeModule: 'module', badgeDuration: 'duration', badgeError: 'error',
      badgeCaller: 'caller', badgeMemory: 'memory', badgeArgs: 'inputs/output',
      hideInternals: 'Hide Python internals', groupRepeated: 'Group repeated calls',
      groupObjects: 'Group by object', object: 'Object', objectCalls: 'Calls on this object',
      inputsAfter: 'Inputs after the call (changed)',
      thread: 'Thread', calls: 'calls', call: 'call', inputs: 'Inputs', output: 'Output',
      error: 'Error', caller: 'Caller', duration: 'Duration', selfTime: 'Self time',
      memory: 'Memory', module: 'Module', file: 'File', start: 'Started', status: 'Status',
      returned: 'returned', raised: 'raised', unfinished: 'never returned', instance: 'Instance',
      children: 'Calls made', none: '(none)', noInputs: 'no inputs recorded',
      noOutput: 'no output recorded', minimize: 'Minimize', maximize: 'Maximize', close: 'Close',
      reveal: 'Show in tree', resumes: 'Resumed', active: 'Active time', before: 'before',
      after: 'after', loaded: 'loaded in', threads: 'threads', lost: 'events lost',
      callerTop: '(top of the thread)', details: 'Call', more: 'more', general: 'Call',
      exitStatus: 'exit', where: 'Where', excUnknown: 'an exception (its type was not recorded)', uncaught: 'Uncaught', run: 'Run', times: 'times'
    },
    es: {
      expandAll: 'Expandir todo', collapseAll: 'Colapsar todo', toLight: '☀ Claro', toDark: '☾ Oscuro',
      searchPlaceholder: 'Buscar funciones y clases…', previous: 'Anterior', next: 'Siguiente',
      showBadges: 'Insignias', badgeModule: 'módulo', badgeDuration: 'duración', badgeError: 'error',
      badgeCaller: 'llamador', badgeMemory: 'memoria', badgeArgs: 'entradas/salida',
      hideInternals: 'Ocultar internos de Python', groupRepeated: 'Agrupar llamadas repetidas',
      groupObjects: 'Agrupar por objeto', object: 'Objeto', objectCalls: 'Llamadas a este objeto',
      inputsAfter: 'Entradas tras la llamada (cambiadas)',
      thread: 'Hilo', calls: 'llamadas', call: 'llamada', inputs: 'Entradas', output: 'Salida',
      error: 'Error', caller: 'Llamador', duration: 'Duración', selfTime: 'Tiempo propio',
      memory: 'Memoria', module: 'Módulo', file: 'Archivo', start: 'Inicio', status: 'Estado',
      returned: 'retornó', raised: 'lanzó', unfinished: 'nunca retornó', instance: 'Instancia',
      children: 'Llamadas hechas', none: '(ninguna)', noInputs: 'sin entradas registradas',
      noOutput: 'sin salida registrada', minimize: 'Minimizar', maximize: 'Maximizar', close: 'Cerrar',
      reveal: 'Mostrar en el árbol', resumes: 'Reanudada', active: 'Tiempo activo', before: 'antes',
      after: 'después', loaded: 'cargado en', threads: 'hilos', lost: 'eventos perdidos',
      callerTop: '(inicio del hilo)', details: 'Llamada', more: 'más', general: 'Llamada',
      exitStatus: 'salida', where: 'Dónde', excUnknown: 'una excepción (su tipo no se registró)', uncaught: 'No capturada', run: 'Ejecución', times: 'veces'
    }
  };
  var lang = 'en';
  function t(k) { return (I18N[lang] && I18N[lang][k]) || I18N.en[k] || k; }

  /* ---- Data ------------------------------------------------------------------------ */
  var D = JSON.parse(document.getElementById('ft-data').textContent);
  var S = D.strings, N = D.code.length, CODE = D.code, SIZE = D.size, DUR = D.dur;
  var START = new Float64Array(N), PARENT = new Int32Array(N), DEPTH = new Int32Array(N);
  var THREAD = new Int32Array(N);
  (function decode() {
    var acc = 0, st = [], i;
    for (i = 0; i < N; i++) {
      acc += D.start[i];
      START[i] = acc;
      while (st.length && i > st[st.length - 1] + SIZE[st[st.length - 1]]) st.pop();
      PARENT[i] = st.length ? st[st.length - 1] : -1;
      DEPTH[i] = st.length;
      st.push(i);
    }
    D.threads.forEach(function (th, k) { THREAD.fill(k, th[2], th[2] + th[3]); });
  })();
  var NCODES = D.codes.length / 4, FN = [], FNL = [], INTERNAL = new Uint8Array(NCODES);
  for (var c = 0; c < NCODES; c++) {
    var fn = S[D.codes[c * 4]];
    FN.push(fn);
    FNL.push(fn.toLowerCase());
    var last = fn.slice(fn.lastIndexOf('.') + 1);
    INTERNAL[c] = last.charAt(0) === '<' ? 1 : 0;
  }
  function sparse(arr, width) {
    var m = new Map();
    if (!arr) return m;
    for (var i = 0; i < arr.length; i += width) m.set(arr[i], arr.slice(i + 1, i + width));
    return m;
  }
  var EXC = sparse(D.exc, 4), INC = sparse(D.inc, 2), MEM = sparse(D.mem, 7), GEN = sparse(D.gen, 3);
  var CALLER = sparse(D.caller, 2);
  function str(i) { return i >= 0 ? S[i] : null; }
  function fnOf(i) { return FN[CODE[i]]; }
  function modOf(i) { return S[D.codes[CODE[i] * 4 + 1]]; }
  function fileOf(i) { return S[D.codes[CODE[i] * 4 + 2]]; }
  function lineOf(i) { return D.codes[CODE[i] * 4 + 3]; }
  /* Argument lists: per call a length (-1: none) and the names and values in a pool, in
   * call order; the offsets are the running sums of the lengths. */
  function argLists(count, pool) {
    if (!count) return null;
    var off = new Int32Array(N + 1), acc = 0;
    for (var i = 0; i < N; i++) { off[i] = acc; if (count[i] > 0) acc += 2 * count[i]; }
    off[N] = acc;
    return function (j) {
      if (count[j] < 0) return null;
      var out = [];
      for (var k = off[j]; k < off[j + 1]; k += 2) out.push([S[pool[k]], S[pool[k + 1]]]);
      return out;
    };
  }
  var ARGS = argLists(D.argN, D.args), AFTER = argLists(D.afterN, D.after);
  function argsOf(i) { return ARGS ? ARGS(i) : null; }
  function argsAfterOf(i) { return AFTER ? AFTER(i) : null; }
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

  /* ---- Formatting ------------------------------------------------------------------ */
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

  /* ---- Tree model: items are call indexes (>= 0) or groups (-(g + 1)) ---------------- */
  var hideInternals = false, grouping = true, byObject = !!D.inst;
  var open = new Uint8Array(N), threadOpen = D.threads.map(function () { return true; });
  var groups = [], groupByKey = new Map(), groupOpen = new Map(), groupDefault = false;
  var kidsCache = new Map(), EMPTY = [];

  function visibleKids(first, end, out) {
    for (var j = first; j <= end; j += SIZE[j] + 1) {
      if (hideInternals && INTERNAL[CODE[j]]) visibleKids(j + 1, j + SIZE[j], out);
      else out.push(j);
    }
    return out;
  }
  /* A group item: one per key, kept across rebuilds so its open state stays. */
  function groupItem(key, code, inst, members) {
    var g = groupByKey.get(key);
    if (g === undefined) {
      g = groups.length;
      groups.push({ key: key, code: code, inst: inst, members: members });
      groupByKey.set(key, g);
    } else {
      groups[g].members = members;
    }
    return -(g + 1);
  }
  /* Sibling items bucketed by keyOf (null: left alone), in order of first appearance; a
   * bucket of two or more becomes a group. */
  function bucket(items, keyOf, makeGroup) {
    var by = new Map(), order = [], k, key, list;
    for (k = 0; k < items.length; k++) {
      key = keyOf(items[k]);
      if (key === null) { order.push([items[k]]); continue; }
      list = by.get(key);
      if (!list) { list = []; by.set(key, list); order.push(list); }
      list.push(items[k]);
    }
    if (order.length === items.length) return items;
    return order.map(function (l) { return l.length === 1 ? l[0] : makeGroup(l); });
  }
  /* Method calls on one object gather under it (the seed viewer's instance grouping);
   * then repeated calls of one function merge into `fn (xN)`. */
  function makeItems(parentKey, calls) {
    var items = calls;
    if (calls.length < 2) return calls;
    if (byObject) {
      items = bucket(items, function (i) { return D.inst[i] || null; }, function (l) {
        return groupItem(parentKey + ':o' + D.inst[l[0]], -1, D.inst[l[0]], l);
      });
    }
    if (grouping) {
      items = bucket(items, function (i) { return i < 0 ? null : CODE[i]; }, function (l) {
        return groupItem(parentKey + ':' + CODE[l[0]], CODE[l[0]], 0, l);
      });
    }
    return items;
  }
  function kids(item) {
    if (item < 0) return groups[-item - 1].members;
    if (SIZE[item] === 0) return EMPTY;
    var k = kidsCache.get(item);
    if (!k) {
      k = makeItems(String(item), visibleKids(item + 1, item + SIZE[item], []));
      kidsCache.set(item, k);
    }
    return k;
  }
  function threadItems(ti) {
    var key = 't' + ti, k = kidsCache.get(key), th = D.threads[ti];
    if (!k) {
      k = th[3] ? makeItems(key, visibleKids(th[2], th[2] + th[3] - 1, [])) : EMPTY;
      kidsCache.set(key, k);
    }
    return k;
  }
  function isOpen(item) {
    if (item < 0) {
      var o = groupOpen.get(groups[-item - 1].key);
      return o === undefined ? groupDefault : o;
    }
    return open[item] === 1;
  }
  function resetModel() { kidsCache.clear(); }

  /* Rows: kind 0 call, 1 group, 2 thread; ref = call, group or thread; depth. */
  var rowKind = [], rowRef = [], rowDepth = [], nrows = 0;
  function flatten() {
    rowKind = []; rowRef = []; rowDepth = [];
    for (var ti = 0; ti < D.threads.length; ti++) {
      rowKind.push(2); rowRef.push(ti); rowDepth.push(0);
      if (!threadOpen[ti]) continue;
      var stack = [[threadItems(ti), 0, 1]];
      while (stack.length) {
        var top = stack[stack.length - 1];
        if (top[1] >= top[0].length) { stack.pop(); continue; }
        var it = top[0][top[1]++];
        rowKind.push(it < 0 ? 1 : 0); rowRef.push(it < 0 ? -it - 1 : it); rowDepth.push(top[2]);
        if (isOpen(it)) {
          var ch = kids(it);
          if (ch.length) stack.push([ch, 0, top[2] + 1]);
        }
      }
    }
    nrows = rowKind.length;
  }

  /* ---- Rendering (only the rows on screen) ------------------------------------------ */
  var ROWH = 24, MAXPX = 8000000;
  var treeEl = document.getElementById('tree'), rowsEl = document.getElementById('rows');
  var spacerEl = document.getElementById('spacer');
  var selected = -1, query = '', hits = [], hitPos = -1, hitMark = new Uint8Array(N);
  var codeHit = new Uint8Array(NCODES), badgeOn = {};
  /* Browsers cap an element's height, so past MAXPX the scrollbar stands for the list:
   * scrollTop 0..max maps linearly onto the list's 0..end. */
  function spacerPx() { return Math.min(nrows * ROWH, MAXPX); }
  function toVirtual(top) {
    var total = nrows * ROWH, h = treeEl.clientHeight;
    return total <= MAXPX ? top : top * Math.max(0, total - h) / Math.max(1, spacerPx() - h);
  }
  function toScroll(virt) {
    var total = nrows * ROWH, h = treeEl.clientHeight;
    return total <= MAXPX ? virt : virt * Math.max(1, spacerPx() - h) / Math.max(1, total - h);
  }
  function layout() {
    spacerEl.style.height = spacerPx() + 'px';
    render();
  }
  function rowHtml(r, y) {
    var kind = rowKind[r], ref = rowRef[r], d = rowDepth[r], cls = 'row', h = '';
    var pad = 8 + d * 18;
    if (kind === 2) {
      var th = D.threads[ref];
      return '<div class="row thread" data-r="' + r + '" style="top:' + y + 'px;padding-left:8px">' +
        '<span class="twisty">' + (threadOpen[ref] ? '▾' : '▸') + '</span>' + esc(t('thread')) + ' ' +
        esc(S[th[0]]) + ' <span class="badge">tid ' + th[1] + '</span><span class="badge">' +
        th[3] + ' ' + esc(t('calls')) + '</span></div>';
    }
    var i = kind === 0 ? ref : groups[ref].members[0], g = kind === 1 ? groups[ref] : null;
    if (g && g.inst) return objectRowHtml(r, y, ref, pad, d);
    var has = kind === 1 || kids(i).length > 0;
    var failed = false, incomplete = false, total = 0, nfail = 0;
    if (g) {
      for (var k = 0; k < g.members.length; k++) {
        total += DUR[g.members[k]];
        if (EXC.has(g.members[k])) nfail++;
      }
      failed = nfail > 0;
    } else {
      failed = EXC.has(i);
      incomplete = INC.has(i);
      total = DUR[i];
    }
    if (failed) cls += ' failed';
    if (r === selected) cls += ' sel';
    if ((g ? codeHit[g.code] : hitMark[i]) === 1) {
      cls += hitPos >= 0 && !g && hits[hitPos] === i ? ' hit-current' : ' hit';
    }
    h += '<div class="' + cls + '" data-r="' + r + '" style="top:' + y + 'px;padding-left:' + pad + 'px">';
    h += '<span class="twisty' + (has ? '' : ' leaf') + '">' + (has ? (isOpen(g ? -(ref + 1) : i) ? '▾' : '▸') : '·') + '</span>';
    h += '<span class="icon ' + (incomplete ? 'st-open">…' : failed ? 'st-err">✗' : 'st-ok">✓') + '</span>';
    h += '<span class="name" style="--hue:' + ((30 + d * 38) % 360) + '">' + highlight(fnOf(i), query) + '</span>';
    if (g) h += '<span class="group-count">(x' + g.members.length + ')</span>';
    else {
      var p = preview(i);
      if (p) h += '<span class="preview">' + esc(p) + '</span>';
    }
    h += '<span class="badge module">' + esc(modOf(i)) + '</span>';
    h += '<span class="badge duration">' + fmtDur(total) + '</span>';
    if (failed) {
      var e = EXC.get(g ? g.members.find(function (m) { return EXC.has(m); }) : i);
      var et = str(e[0]) || t('raised'), em = str(e[1]);
      h += '<span class="badge error">' + (g && nfail > 1 ? nfail + '× ' : '') + esc(cut(et + (em ? ': ' + em : ''), 80)) + '</span>';
    }
    if (!g) {
      var caller = callerOf(i);
      if (caller) h += '<span class="badge caller">← ' + esc(caller) + '</span>';
      var m = MEM.get(i), mt = m && memText(m);
      if (mt) h += '<span class="badge memory">' + esc(mt) + '</span>';
    }
    return h + '</div>';
  }
  /* An object's row: its class and identity, the calls made on it, their time. */
  function objectRowHtml(r, y, ref, pad, d) {
    var g = groups[ref], nfail = 0, total = 0, cls = 'row object', k, name = classOf(g.members[0]);
    for (k = 0; k < g.members.length; k++) {
      total += DUR[g.members[k]];
      if (EXC.has(g.members[k])) nfail++;
    }
    if (nfail) cls += ' failed';
    if (r === selected) cls += ' sel';
    if (query && name.toLowerCase().indexOf(query) >= 0) cls += ' hit';
    return '<div class="' + cls + '" data-r="' + r + '" style="top:' + y + 'px;padding-left:' + pad + 'px">' +
      '<span class="twisty">' + (isOpen(-(ref + 1)) ? '▾' : '▸') + '</span>' +
      '<span class="icon ' + (nfail ? 'st-err">✗' : 'st-ok">✓') + '</span>' +
      '<span class="name obj" style="--hue:' + ((30 + d * 38) % 360) + '">◆ ' + highlight(name, query) + '</span>' +
      '<span class="inst">' + esc(S[g.inst - 1]) + '</span>' +
      '<span class="group-count">(' + g.members.length + ' ' + esc(t('calls')) + ')</span>' +
      '<span class="badge duration">' + fmtDur(total) + '</span>' +
      (nfail ? '<span class="badge error">' + nfail + '× ' + esc(t('raised')) + '</span>' : '') + '</div>';
  }
  var rafPending = false;
  function render() {
    rafPending = false;
    var top = treeEl.scrollTop, hgt = treeEl.clientHeight;
    var virt = toVirtual(top), first = Math.max(0, Math.floor(virt / ROWH) - 5);
    var last = Math.min(nrows, Math.ceil((virt + hgt) / ROWH) + 5), html = '';
    for (var r = first; r < last; r++) html += rowHtml(r, Math.round(top + r * ROWH - virt));
    rowsEl.innerHTML = html;
  }
  function schedule() {
    if (!rafPending) { rafPending = true; requestAnimationFrame(render); }
  }
  function refresh(keepRow) {
    var item = keepRow >= 0 && keepRow < nrows ? [rowKind[keepRow], rowRef[keepRow]] : null;
    flatten();
    if (item) selected = findRow(item[0], item[1]);
    layout();
  }
  function findRow(kind, ref) {
    for (var r = 0; r < nrows; r++) if (rowKind[r] === kind && rowRef[r] === ref) return r;
    return -1;
  }
  function scrollToRow(r) {
    var hgt = treeEl.clientHeight;
    treeEl.scrollTop = Math.max(0, toScroll(Math.max(0, r * ROWH - hgt / 2 + ROWH)));
    render();
  }

  /* ---- Expand, collapse, reveal ---------------------------------------------------- */
  function toggleRow(r) {
    var kind = rowKind[r], ref = rowRef[r];
    if (kind === 2) threadOpen[ref] = !threadOpen[ref];
    else if (kind === 1) groupOpen.set(groups[ref].key, !isOpen(-(ref + 1)));
    else if (kids(ref).length) open[ref] = open[ref] ? 0 : 1;
    refresh(r);
  }
  function expandAll() {
    open.fill(1); groupOpen.clear(); groupDefault = true;
    threadOpen = threadOpen.map(function () { return true; });
    refresh(selected);
  }
  function collapseAll() {
    open.fill(0); groupOpen.clear(); groupDefault = false;
    refresh(-1);
    selected = -1;
    treeEl.scrollTop = 0;
    render();
  }
  function visibleParent(i) {
    var p = PARENT[i];
    while (p >= 0 && hideInternals && INTERNAL[CODE[p]]) p = PARENT[p];
    return p;
  }
  /* Opens every ancestor of call i, and every group on the way, so its row exists. */
  function reveal(i) {
    threadOpen[THREAD[i]] = true;
    for (var x = i; x >= 0; x = visibleParent(x)) {
      var p = visibleParent(x), items = p >= 0 ? kids(p) : threadItems(THREAD[x]);
      if (p >= 0) open[p] = 1;
      if (items.indexOf(x) < 0) {
        for (var k = 0; k < items.length; k++) {
          var g = items[k] < 0 ? groups[-items[k] - 1] : null;
          if (g && (g.inst ? g.inst === D.inst[x] : g.code === CODE[x]) && g.members.indexOf(x) >= 0) {
            groupOpen.set(g.key, true);
          }
        }
      }
    }
    flatten();
    layout();
    return findRow(0, i);
  }

  /* ---- Search ------------------------------------------------------------------------ */
  var counterEl = document.getElementById('counter'), searchEl = document.getElementById('search');
  function runSearch() {
    query = searchEl.value.trim().toLowerCase();
    hitMark.fill(0); codeHit.fill(0); hits = []; hitPos = -1;
    if (query) {
      for (var c = 0; c < NCODES; c++) {
        if (FNL[c].indexOf(query) >= 0 && !(hideInternals && INTERNAL[c])) codeHit[c] = 1;
      }
      for (var i = 0; i < N; i++) if (codeHit[CODE[i]]) { hits.push(i); hitMark[i] = 1; }
    }
    if (hits.length) focusHit(0); else { updateCounter(); render(); }
  }
  function updateCounter() {
    counterEl.textContent = (hits.length ? hitPos + 1 : 0) + '/' + hits.length;
  }
  function focusHit(k) {
    if (!hits.length) return;
    hitPos = (k + hits.length) % hits.length;
    var r = reveal(hits[hitPos]);
    selected = r;
    updateCounter();
    scrollToRow(r);
  }

  /* ---- Floating panels --------------------------------------------------------------- */
  var panelsEl = document.getElementById('panels'), zTop = 100, panels = new Map(), placed = 0;
  function kv(k, v, cls) {
    return '<div class="k">' + esc(k) + '</div><div class="v' + (cls ? ' ' + cls : '') + '">' + v + '</div>';
  }
  function panelBody(i) {
    var h = '<div class="kv">', e = EXC.get(i), inc = INC.get(i), gen = GEN.get(i);
    var status = e ? '✗ ' + t('raised') : inc ? '… ' + t('unfinished') + ' (' + esc(S[inc[0]]) + ')' : '✓ ' + t('returned');
    h += kv(t('status'), status, e ? 'err' : '');
    h += kv(t('module'), esc(modOf(i)));
    h += kv(t('file'), esc(fileOf(i) + ':' + lineOf(i)));
    h += kv(t('thread'), esc(S[D.threads[THREAD[i]][0]]));
    var caller = callerOf(i);
    h += kv(t('caller'), caller ? '<span class="link" data-open="' + visibleParent(i) + '">' + esc(caller) + '</span>' : esc(t('callerTop')));
    h += kv(t('start'), '+' + fmtDur(START[i]));
    h += kv(t('duration'), fmtDur(DUR[i]));
    var self = DUR[i], j;
    for (j = i + 1; j <= i + SIZE[i]; j += SIZE[j] + 1) self -= DUR[j];
    h += kv(t('selfTime'), fmtDur(Math.max(0, self)));
    if (gen) {
      h += kv(t('resumes'), gen[0] + ' ' + t('times'));
      if (gen[1] >= 0) h += kv(t('active'), fmtDur(gen[1]));
    }
    var inst = instanceOf(i);
    if (inst) h += kv(t('instance'), esc(inst));
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
      h += '</div>';
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
    p.querySelector('.panel-body').innerHTML = panelBody(i);
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
    if (rv) { var r = reveal(+rv.dataset.reveal); selected = r; scrollToRow(r); }
  });

  /* ---- Controls ----------------------------------------------------------------------- */
  rowsEl.addEventListener('click', function (ev) {
    var rowEl = ev.target.closest('.row');
    if (!rowEl) return;
    var r = +rowEl.dataset.r;
    selected = r;
    if (ev.target.closest('.twisty') || rowKind[r] === 2 || (rowKind[r] === 1 && ev.target.closest('.name'))) {
      toggleRow(r);
    } else if (rowKind[r] === 0 && ev.target.closest('.name')) {
      openPanel(rowRef[r]);
      render();
    } else render();
  });
  rowsEl.addEventListener('dblclick', function (ev) {
    var rowEl = ev.target.closest('.row');
    if (rowEl && !ev.target.closest('.name')) toggleRow(+rowEl.dataset.r);
  });
  treeEl.addEventListener('scroll', schedule);
  window.addEventListener('resize', schedule);
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
    var y = selected * ROWH, virt = toVirtual(treeEl.scrollTop);
    if (y < virt || y > virt + treeEl.clientHeight - ROWH) scrollToRow(selected);
    else render();
  });
  var timer = 0;
  searchEl.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(runSearch, 120); });
  searchEl.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') { clearTimeout(timer); if (query !== searchEl.value.trim().toLowerCase()) runSearch(); else focusHit(hitPos + (ev.shiftKey ? -1 : 1)); }
  });
  document.getElementById('next').onclick = function () { focusHit(hitPos + 1); };
  document.getElementById('prev').onclick = function () { focusHit(hitPos - 1); };
  document.getElementById('expand-all').onclick = expandAll;
  document.getElementById('collapse-all').onclick = collapseAll;
  document.getElementById('hide-internals').onchange = function (ev) {
    hideInternals = ev.target.checked; resetModel(); runSearchQuiet(); refresh(-1);
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
  function runSearchQuiet() {
    if (!query) return;
    codeHit.fill(0);
    for (var c = 0; c < NCODES; c++) if (FNL[c].indexOf(query) >= 0 && !(hideInternals && INTERNAL[c])) codeHit[c] = 1;
    hits = hits.filter(function (i) { return codeHit[CODE[i]]; });
    hitMark.fill(0);
    hits.forEach(function (i) { hitMark[i] = 1; });
    hitPos = hits.length ? 0 : -1;
    updateCounter();
  }
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
    themeBtn.textContent = document.body.classList.contains('dark') ? t('toLight') : t('toDark');
    panels.forEach(function (p, i) { fillPanel(p, i); });
    header();
    render();
    try { localStorage.setItem('flowtrace.lang', lang); } catch (e) { /* file:// */ }
  }
  langEl.onchange = function () { setLang(langEl.value); };

  function header() {
    var R = D.run, ok = R.ended === 'exec' || ((R.ended === 'exit' || R.ended === 'os._exit') && R.exitCode === 0);
    var cmd = (R.argv || []).slice(1).join(' ');
    var end = R.ended === 'signal' ? 'signal ' + R.signal : R.exitCode !== null && R.exitCode !== undefined ? t('exitStatus') + ' ' + R.exitCode : R.ended;
    var st = document.getElementById('run-status');
    st.textContent = ok ? '✓' : '✗';
    st.className = 'status ' + (ok ? 'st-ok' : 'st-err');
    var parts = [t('run') + ' ' + R.id, cmd, 'Python ' + R.python, end, fmtDur(R.durationMicros * 1000), N + ' ' + t('calls')];
    if (R.lost) parts.push(R.lost + ' ' + t('lost'));
    if (R.exception) parts.push(t('uncaught') + ' ' + R.exception.type + ': ' + R.exception.message);
    document.getElementById('run-title').textContent = parts.join(' · ');
    document.title = 'FlowTrace · ' + R.id + (cmd ? ' · ' + cmd : '');
    document.getElementById('status-line').textContent = N + ' ' + t('calls') + ' · ' + D.threads.length + ' ' +
      t('threads') + ' · ' + t('loaded') + ' ' + Math.round(loadMs) + ' ms';
  }

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
  loadMs = performance.now() - T0;
  header();
  document.body.dataset.ready = '1';
  document.body.dataset.loadMs = String(Math.round(loadMs));
  /* Since navigation started: reading the page's bytes and parsing the data included. */
  document.body.dataset.readyMs = String(Math.round(performance.now()));
})();
