// The viewer on a run of 1,000,000 calls (tests/integration/programs/million.py): it opens,
// the tree expands, scrolls and searches, the cursor steps and the timeline zooms, pans and
// takes clicks, as on a small run. How long each took is printed, never asserted (a shared
// machine's timings say nothing about the code): what is asserted is that each worked and
// that the page holds a screenful of rows, not a million.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SHOTS, setup, traceProgram, writeHtml, openPage, cursorOf, press } from './helpers.mjs';

setup();

async function timed(fn) {
  const t0 = Date.now();
  const r = await fn();
  return [Date.now() - t0, r];
}

test('a run of 1,000,000 calls: tree, search, stepping and timeline stay responsive', { timeout: 240000 }, async () => {
  const out = traceProgram('million.py');
  const file = writeHtml(out, 'million.html');
  const mb = statSync(file).size / 1e6;
  const { page, errors } = await openPage(file);
  const readyMs = Number(await page.getAttribute('body', 'data-ready-ms'));
  assert.match(await page.textContent('#status-line'), /^1000000 calls/);
  assert.match(await page.textContent('#rows'), /leaf\(x999998\)/);
  const fig = { file: `${mb.toFixed(1)} MB`, ready: readyMs };

  // Every leaf in the page's list, yet only a screenful of rows in the document.
  [fig.expandAll] = await timed(() => page.click('#expand-all'));
  assert.ok((await page.$$('#rows .row')).length < 80);
  [fig.scrollEnd] = await timed(async () => {
    await page.$eval('#tree', (e) => { e.scrollTop = e.scrollHeight; });
    await page.waitForFunction(() => /leaf/.test(document.querySelector('#rows').textContent));
  });
  [fig.searchNames] = await timed(async () => {
    await page.fill('#search', 'leaf');
    await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/999998');
  });
  // The values: leaf(i) returns i, so "99999" is in 10 arguments and results of 10 calls
  // (99999, 199999, ..., 999990-999997 do not all exist: counted by the page).
  [fig.searchValues] = await timed(async () => {
    await page.selectOption('#scope', 'values');
    await page.fill('#search', '999997');
    await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/1');
  });
  assert.equal((await cursorOf(page)).fn, 'leaf');
  assert.match(await page.textContent('#current'), /i999997/);
  await page.selectOption('#scope', 'all');
  await page.fill('#search', '');

  // Stepping from the last leaf: back in time, out to main's caller, into from the top.
  await page.focus('#tree');
  const steps = {};
  for (const [name, key, fn] of [['back', '[', 'leaf'], ['back', '[', 'leaf'], ['forward', ']', 'leaf'],
    ['over', 'o', 'leaf'], ['out', 'u', null]]) {
    const t0 = Date.now();
    const c = await press(page, key);
    (steps[name] ||= []).push(Date.now() - t0);
    if (fn) assert.equal(c.fn, fn, `${name} lands on ${fn}`);
  }
  // Out of the last leaf: main returns and so does <module>: nothing after it.
  assert.match(await page.textContent('#cursor-label'), /end of the thread/);
  // The call stack leads back to main, which then steps into its first leaf.
  await page.click('#stack li:nth-child(2)');
  assert.equal((await cursorOf(page)).fn, 'main');
  for (const key of ['i', 'o', 'o', 'o']) {
    const t0 = Date.now();
    await press(page, key);
    (steps[key === 'i' ? 'into' : 'over'] ||= []).push(Date.now() - t0);
  }
  const c = await cursorOf(page);
  assert.equal(c.fn, 'leaf');
  assert.match(await page.textContent('#current'), /Inputsi3/);
  assert.match(await page.textContent('#stack'), /<module>.*main.*leaf/s);
  fig.steps = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Math.max(...v)]));
  fig.stepInPage = Number(await page.getAttribute('body', 'data-step-ms'));

  // The timeline: the whole run, zoomed in around the cursor, panned, then a click.
  [fig.timelineFit] = await timed(() => page.click('#tl-fit'));
  fig.drawWhole = Number(await page.getAttribute('#timeline', 'data-draw-ms'));
  const box = await page.locator('#tl-canvas').boundingBox();
  const t0 = Date.now();
  for (let k = 0; k < 12; k++) await page.mouse.wheel(0, -300), await page.mouse.move(box.x + box.width / 2, box.y + 40);
  await page.waitForFunction(() => document.querySelector('#timeline').dataset.view.split(',').map(Number)
    .reduce((a, b) => b - a) < 1e8);
  fig.zoom12 = Date.now() - t0;
  fig.drawZoomed = Number(await page.getAttribute('#timeline', 'data-draw-ms'));
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 8 });
  await page.mouse.up();
  fig.drawPanned = Number(await page.getAttribute('#timeline', 'data-draw-ms'));
  const before = (await cursorOf(page)).call;
  // main's bar spans the whole view on its row (the second row of the thread's lane).
  await page.mouse.click(box.x + box.width * 0.5, box.y + 20 + 18 + 9);
  await page.waitForFunction((b) => Number(document.body.dataset.cursor) !== b, before);
  assert.equal((await cursorOf(page)).fn, 'main');
  console.log('# million: ' + JSON.stringify(fig) + ' (ms; drawing in-page)');
  await page.screenshot({ path: join(SHOTS, 'million.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
