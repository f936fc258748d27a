/* tree.js - the call tree: items (calls, groups of repeated calls or of calls on one
 * object), rows flattened from the open items, only the rows on screen drawn. Defines:
 * the tree state (open, threadOpen, groups, hideInternals, grouping, byObject), kids,
 * threadItems, flatten, render, schedule, refresh, reveal, rowOfCall, scrollToRow,
 * toggleRow, expandAll, collapseAll, visibleParent, groupHits. Uses: data.js, format.js,
 * and from later files search.js's query/hitMark and cursor.js's cursor. */
/* ---- Model: items are call indexes (>= 0) or groups (-(g + 1)) ---------------------- */
/* Calls on one object are not gathered by default: the object's rows would hide the
 * function's calls until opened. */
var hideInternals = false, grouping = true, byObject = false;
var open = new Uint8Array(N), threadOpen = D.threads.map(function () { return true; });
var groups = [], groupByKey = new Map(), groupOpen = new Map(), groupDefault = false;
var kidsCache = new Map();

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
    items = bucket(items, function (i) { return UNIT_OF.has(i) ? null : D.inst[i] || null; }, function (l) {
      return groupItem(parentKey + ':o' + D.inst[l[0]], -1, D.inst[l[0]], l);
    });
  }
  if (grouping) {
    /* A test or request stays a row of its own. */
    items = bucket(items, function (i) { return i < 0 || UNIT_OF.has(i) ? null : CODE[i]; }, function (l) {
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
var rowKind = [], rowRef = [], rowDepth = [], nrows = 0, ROWOF = new Int32Array(N);
function flatten() {
  rowKind = []; rowRef = []; rowDepth = [];
  ROWOF.fill(-1);
  for (var ti = 0; ti < D.threads.length; ti++) {
    rowKind.push(2); rowRef.push(ti); rowDepth.push(0);
    if (!threadOpen[ti]) continue;
    var stack = [[threadItems(ti), 0, 1]];
    while (stack.length) {
      var top = stack[stack.length - 1];
      if (top[1] >= top[0].length) { stack.pop(); continue; }
      var it = top[0][top[1]++];
      if (it >= 0) ROWOF[it] = rowKind.length;
      rowKind.push(it < 0 ? 1 : 0); rowRef.push(it < 0 ? -it - 1 : it); rowDepth.push(top[2]);
      if (isOpen(it)) {
        var ch = kids(it);
        if (ch.length) stack.push([ch, 0, top[2] + 1]);
      }
    }
  }
  nrows = rowKind.length;
}

/* ---- Rendering (only the rows on screen) -------------------------------------------- */
var ROWH = 24, MAXPX = 8000000;
var treeEl = document.getElementById('tree'), rowsEl = document.getElementById('rows');
var spacerEl = document.getElementById('spacer');
var selected = -1;
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
  if (!g && i === cursor) cls += ' cur';
  if (g ? groupHits(g) > 0 : hitMark[i] === 1) {
    cls += hitPos >= 0 && !g && hits[hitPos] === i ? ' hit-current' : ' hit';
  }
  h += '<div class="' + cls + '" data-r="' + r + '" style="top:' + y + 'px;padding-left:' + pad + 'px">';
  h += '<span class="twisty' + (has ? '' : ' leaf') + '">' + (has ? (isOpen(g ? -(ref + 1) : i) ? '▾' : '▸') : '·') + '</span>';
  h += '<span class="icon ' + (incomplete ? 'st-open">…' : failed ? 'st-err">✗' : 'st-ok">✓') + '</span>';
  h += '<span class="name" style="--hue:' + ((30 + d * 38) % 360) + '">' + highlight(fnOf(i), query) + '</span>';
  if (g) h += '<span class="group-count">(x' + g.members.length + ')</span>';
  else {
    var u = UNIT_OF.get(i);
    if (u) h += '<span class="badge unit ' + (unitFailed(u) ? 'st-err' : 'st-ok') + '">' + esc(cut(unitHeadline(u), 90)) + '</span>';
    if (LANE[i] > 0 && LDEPTH[i] === 0) h += '<span class="badge lane" title="' + esc(t('lane')) + '">⇉</span>';
    var p = preview(i);
    if (p) h += '<span class="preview">' + highlight(p, query) + '</span>';
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
  if (kind === 0) return ref >= 0 && ref < N ? ROWOF[ref] : -1;
  for (var r = 0; r < nrows; r++) if (rowKind[r] === kind && rowRef[r] === ref) return r;
  return -1;
}
/* Search hits among a group's members, counted once per search. */
function groupHits(g) {
  if (g.hitsFor !== searchSerial) {
    var n = 0;
    if (query) for (var k = 0; k < g.members.length; k++) n += hitMark[g.members[k]];
    g.hits = n;
    g.hitsFor = searchSerial;
  }
  return g.hits;
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
/* Opens every ancestor of call i, and every group on the way, so its row exists; returns
 * the row. The rows are rebuilt only when something had to be opened. */
function reveal(i) {
  if (ROWOF[i] >= 0) return ROWOF[i];
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

