// The timeline: a flame chart by time with a lane per thread and per asyncio task. The tasks
// of asyncio.gather ran at once and keep their real start and end (they used to be laid
// end to end); zoom and pan move the view; a click on a bar puts the cursor on that call.
// Work handed to another thread gets a lane named after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SHOTS, setup, traceProgram, writeHtml, openPage, cursorOf, shown } from './helpers.mjs';

setup();

const view = (page) => page.$eval('#timeline', (e) => e.dataset.view.split(',').map(Number));

test('asyncio.gather: each task on its own lane at its real times; zoom, pan, click', { timeout: 90000 }, async () => {
  const out = traceProgram('gather.py');
  const [run] = readdirSync(out).filter((d) => /^\d{8}-/.test(d));
  const tree = JSON.parse(readFileSync(join(out, run, 'tree.json'), 'utf8'));
  const works = tree.threads[0].calls[0].children[0].children; // <module> > main > work x3
  const results = works.map((w) => shown(w.result, tree.format || 1));
  assert.deepEqual(results, ["'A'", "'B'", "'C'"]);
  const { page, errors } = await openPage(writeHtml(out, 'gather.html'));
  const geo = JSON.parse(await page.getAttribute('#timeline', 'data-geometry'));
  // The first view: every call, from the first's start to the last's end (not the
  // interpreter's start-up before them, which would leave them a sliver at the right).
  const all = [];
  const walk = (n) => { all.push(n); n.children.forEach(walk); };
  tree.threads.forEach((th) => th.calls.forEach(walk));
  const first = Math.min(...all.map((n) => n.startMicros)) * 1000;
  const last = Math.max(...all.map((n) => n.startMicros + n.durationMicros)) * 1000;
  const [i0, i1] = await view(page);
  assert.ok(first > 1e5, `the first call starts after the interpreter did: ${first} ns`);
  assert.ok(Math.abs(i0 - first) < 1000 && Math.abs(i1 - last) < 1000, `${i0},${i1} vs ${first},${last}`);
  // The thread's lane (<module>) and one lane per asyncio task: main (asyncio.run runs it
  // as a task), then each gathered task with its step.
  assert.deepEqual(geo.rows, ['0:0:0', '0:1:0', '0:2:0', '0:2:1', '0:3:0', '0:3:1', '0:4:0', '0:4:1']);
  const box = await page.locator('#tl-canvas').boundingBox();

  // Zoomed to main: each task's bar is where its real times say, on its own lane.
  await page.click('#rows .row:has(.name:text-is("main")) .icon');
  await page.click('#tl-call');
  await page.waitForFunction(() => Number(document.querySelector('#timeline').dataset.view.split(',')[0]) > 0);
  const [t0, t1] = await view(page);
  const xOf = (us) => box.x + geo.labelW + (us * 1000 - t0) / (t1 - t0) * (box.width - geo.labelW);
  const yOf = (row) => box.y + geo.axisH + row * geo.rowH + geo.rowH / 2;
  for (const [k, w] of works.entries()) {
    // Just inside its end: a task laid end to end after the others would not be there.
    await page.mouse.click(xOf(w.startMicros + w.durationMicros * 0.97), yOf(2 + 2 * k));
    await page.waitForFunction((r) => document.querySelector('#current')?.textContent.includes('Output→' + r), results[k]);
    assert.equal((await cursorOf(page)).fn, 'work');
  }
  // The longest (b, 40 ms) spans the other two: the chart shows them overlapping.
  assert.ok(works[1].startMicros < works[0].startMicros + works[0].durationMicros);
  assert.ok(works[0].startMicros + works[0].durationMicros < works[1].startMicros + works[1].durationMicros);
  await page.screenshot({ path: join(SHOTS, 'gather-timeline.png') });

  // Zoom with the wheel (around the pointer), pan by dragging, back to the whole run.
  await page.mouse.move(box.x + box.width / 2, box.y + 60);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction(([a, b]) => {
    const [x, y] = document.querySelector('#timeline').dataset.view.split(',').map(Number);
    return y - x < (b - a) * 0.9;
  }, [t0, t1]);
  const [z0, z1] = await view(page);
  await page.mouse.move(box.x + box.width * 0.7, box.y + 60);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + 60, { steps: 5 });
  await page.mouse.up();
  const [p0, p1] = await view(page);
  assert.ok(p0 > z0 && Math.abs((p1 - p0) - (z1 - z0)) < 1, `panned right: ${z0},${z1} -> ${p0},${p1}`);
  await page.click('#tl-fit');
  assert.deepEqual(await view(page), [i0, i1]);
  // Hidden and shown again.
  await page.click('#tl-toggle');
  assert.ok(await page.$eval('#timeline', (e) => e.hidden));
  await page.click('#tl-toggle');
  assert.deepEqual(errors, []);
  await page.close();
});

test('work handed to another thread: a lane of its own, named after the thread it ran in; the details say so', { timeout: 60000 }, async () => {
  // A hand-made run (tests/fixtures/handoff): a request handler hands blocking_io to
  // "AnyIO worker thread 1" and renders after it.
  const { page, errors } = await openPage(writeHtml(join(ROOT, 'tests/fixtures/handoff'), 'handoff.html'));
  const geo = JSON.parse(await page.getAttribute('#timeline', 'data-geometry'));
  assert.deepEqual(geo.rows, ['0:0:0', '0:0:1', '0:0:2', '0:1:0', '0:1:1', '1:0:0']);
  await page.fill('#search', 'blocking_io');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/1');
  assert.equal((await cursorOf(page)).fn, 'blocking_io');
  assert.match(await page.textContent('#current'), /ThreadAnyIO worker thread 1 \(handed over by MainThread\)/);
  assert.match(await page.textContent('#cursor-label'), /Thread AnyIO worker thread 1$/);
  assert.match(await page.textContent('#stack'), /⇉ AnyIO worker thread 1 blocking_io/);
  // Its call runs there too; the handler's next call is back in the main thread.
  const c = await cursorOf(page);
  await page.focus('#tree'); // keys in the search box are the search's
  await page.keyboard.press('i');
  await page.waitForFunction((b) => Number(document.body.dataset.cursor) !== b, c.call);
  assert.equal((await cursorOf(page)).fn, 'read_config');
  assert.match(await page.textContent('#cursor-label'), /Thread AnyIO worker thread 1$/);
  await page.keyboard.press('o');
  await page.waitForFunction(() => document.querySelector('#current h3').textContent === 'render');
  assert.match(await page.textContent('#cursor-label'), /Thread MainThread$/);
  await page.screenshot({ path: join(SHOTS, 'handoff.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
