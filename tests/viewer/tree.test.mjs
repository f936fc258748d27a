// The HTML viewer's call tree in a real browser (Debian's chromium, playwright-core): search
// opens the hit's ancestors, floating panels, capture fields, badges, groups, internals,
// language and theme, a page that fetches nothing. Screenshots go to build/viewer/.
// Run: make viewer-test (FLOWTRACE_BUILD, CHROMIUM, PYTHON).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SHOTS, setup, traceProgram, traceScript, writeHtml, openPage, rowNames } from './helpers.mjs';

setup();

test('search opens the hit\'s ancestors, panels float, language and theme switch', { timeout: 120000 }, async () => {
  const out = traceProgram('shop.py', ['--coffee', '3']);
  const file = writeHtml(out, 'shop.html');
  const { page, errors } = await openPage(file);

  assert.match(await page.textContent('#run-title'), /shop\.py --coffee 3 · Python 3\.\d+\.\d+ · exit 0/);
  assert.equal(await page.textContent('#run-status'), '✓');
  assert.ok(await page.$('body.dark'), 'dark by default');

  // Collapsed, the calls of OrderService.order are not in the page.
  await page.click('#collapse-all');
  assert.deepEqual(await rowNames(page), ['<module>']);

  await page.fill('#search', 'take');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/2');
  const names = await rowNames(page);
  for (const n of ['<module>', 'main', 'OrderService.order', 'Inventory.take']) {
    assert.ok(names.includes(n), `${n} is shown after the search: ${names}`);
  }
  const current = await page.$('.row.hit-current .name');
  assert.equal(await current.innerHTML(), 'Inventory.<mark>take</mark>');
  await page.click('#next');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '2/2');
  await page.click('#next');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/2');

  // The second take raised: its panel says so, with its caller.
  await page.click('#next');
  await page.click('.row.hit-current .name');
  const panel = await page.waitForSelector('.panel');
  assert.equal(await panel.$eval('.panel-title', (e) => e.textContent), 'Inventory.take');
  const body = await panel.$eval('.panel-body', (e) => e.textContent);
  assert.match(body, /Status✗ raised/);
  assert.match(body, /CallerOrderService\.order/);

  // Dragged by its header, minimised, maximised, restored.
  const box = await panel.boundingBox();
  await page.mouse.move(box.x + 60, box.y + 12);
  await page.mouse.down();
  await page.mouse.move(box.x - 240, box.y + 112, { steps: 5 });
  await page.mouse.up();
  const moved = await panel.boundingBox();
  assert.ok(Math.abs(moved.x - (box.x - 300)) < 2 && Math.abs(moved.y - (box.y + 100)) < 2,
    `panel moved from ${box.x},${box.y} to ${moved.x},${moved.y}`);
  await panel.$eval('.min', (b) => b.click());
  assert.equal(await panel.$eval('.panel-body', (e) => getComputedStyle(e).display), 'none');
  await panel.$eval('.min', (b) => b.click());
  await panel.$eval('.max-btn', (b) => b.click());
  const max = await panel.boundingBox();
  assert.ok(max.width > 1200, `maximised width ${max.width}`);
  await panel.$eval('.max-btn', (b) => b.click());

  // A second panel, from the caller link; closing it leaves the first.
  await panel.$eval('[data-open]', (a) => a.click());
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 2);
  assert.equal(await page.$eval('.panel:last-child .panel-title', (e) => e.textContent), 'OrderService.order');
  await page.$eval('.panel:last-child .close', (b) => b.click());
  assert.equal((await page.$$('.panel')).length, 1);
  // Closing a panel closes the panels opened from it (as the seed viewer did).
  await panel.$eval('[data-open]', (a) => a.click());
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 2);
  await page.$eval('.panel:last-child [data-open]', (a) => a.click()); // OrderService.order's caller
  await page.waitForFunction(() => document.querySelectorAll('.panel').length === 3);
  await page.$eval('.panel:nth-child(2) .close', (b) => b.click());
  assert.deepEqual(await page.$$eval('.panel .panel-title', (els) => els.map((e) => e.textContent)), ['Inventory.take']);

  // Spanish, then the light theme.
  await page.selectOption('#lang', 'es');
  assert.equal(await page.textContent('#expand-all'), 'Expandir todo');
  assert.match(await page.textContent('.panel-body'), /Estado✗ lanzó/);
  assert.equal(await page.getAttribute('#search', 'placeholder'), 'Buscar nombres, valores, excepciones…');
  await page.click('#theme');
  assert.ok(await page.$('body.light'));
  assert.equal(await page.textContent('#theme'), '☾ Oscuro');
  await page.screenshot({ path: join(SHOTS, 'shop-es-light.png') });
  await page.click('#theme');
  await page.selectOption('#lang', 'en');
  await page.screenshot({ path: join(SHOTS, 'shop-en-dark.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('capture fields: inputs, output, error, memory; objects, badges and internals toggle', { timeout: 60000 }, async () => {
  const file = writeHtml(join(ROOT, 'tests/fixtures/capture'), 'capture.html');
  const { page, errors } = await openPage(file);
  await page.click('#expand-all');
  // By default a function's calls show as they are (gathered by object they would hide
  // behind a closed row)...
  assert.doesNotMatch(await page.textContent('#rows'), /◆/);
  assert.match(await page.textContent('#rows'), /Inventory\.take\(x2\)/);
  // ...and on request, method calls on one object gather under it, as the seed viewer's
  // instances did.
  await page.click('#objects');
  await page.click('#expand-all');
  const names = await rowNames(page);
  assert.deepEqual(names.slice(0, 6), ['<module>', 'main', 'seed_inventory', '◆ Inventory', 'Inventory.add', 'Inventory.add']);
  const objects = await page.$$eval('#rows .row.object', (els) => els.map((e) => e.textContent));
  assert.equal(objects.length, 2);
  assert.match(objects[0], /^▾✓◆ Inventory0x7f3a2c1b9d50\(2 calls\)/);
  assert.match(objects[1], /^▾✗◆ Inventory0x7f3a2c1b9d50\(2 calls\).*1× raised$/);
  assert.match(await page.textContent('#rows'), /\(name='coffee', count=20\) → 20/);
  await page.click('#objects');

  await page.fill('#search', 'inventory.add');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/2');
  await page.click('.row.hit-current .name');
  const body = await page.textContent('.panel .panel-body');
  assert.match(body, /Inputsname'coffee'count20/);
  assert.match(body, /Output→20/);
  assert.match(body, /Instance0x7f3a2c1b9d50/);
  assert.match(body, /Calls on this object \(4\)Inventory\.add \(name='coffee', count=20\) → 20 2\.5µs.*Inventory\.take \(name='cake', count=3\) 4\.0µs ✗/);
  assert.match(body, /rss28\.6 MB → 29\.1 MB \(\+488\.3 KB\)/);
  await page.$eval('.panel .close', (b) => b.click());

  await page.fill('#search', 'order');
  await page.waitForFunction(() => document.querySelector('.row.hit-current .name')?.textContent === 'OrderService.order');
  assert.equal(await page.textContent('#counter'), '1/2');
  await page.click('.row.hit-current .name');
  const order = await page.textContent('.panel .panel-body');
  assert.match(order, /Errorbuiltins\.ValueErroronly 2 cake left/);
  assert.match(order, /Inputs after the call \(changed\)wanted\{'coffee': 3, 'cake': 0\}Output/);
  assert.doesNotMatch(order, /Calls on this object/); // the only call on its object

  // Badges: the module badge goes, then all of them.
  const shown = (sel) => page.$eval(sel, (e) => getComputedStyle(e).display !== 'none');
  assert.ok(await shown('.badge.module'));
  await page.click('[data-badge="module"]');
  assert.ok(!(await shown('.badge.module')));
  assert.ok(await shown('.badge.duration'));
  await page.click('#badges');
  assert.ok(!(await shown('.badge.duration')));
  await page.click('#badges');

  // Python internals hidden: <module> and <genexpr> go, their calls move up.
  await page.fill('#search', '');
  await page.click('#hide-internals');
  await page.click('#expand-all');
  const hidden = await rowNames(page);
  assert.ok(!hidden.includes('<module>') && !hidden.includes('OrderService.order.<locals>.<genexpr>'));
  assert.equal(hidden[0], 'main');
  assert.ok(hidden.includes('describe'));
  await page.screenshot({ path: join(SHOTS, 'capture.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the page is self-contained: no URL to fetch anything from', () => {
  const html = readFileSync(writeHtml(join(ROOT, 'tests/fixtures/capture'), 'plain.html'), 'utf8');
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i);
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/);
});

test('what the process could not follow (tree.json notices) is in the run\'s header', { timeout: 60000 }, async () => {
  // On 3.11 cProfile enabled under the program's own tracer cannot be chained: the run says
  // so in "notices" (3.12+ has no such conflict: the header has no notice).
  const host = join(ROOT, 'tests/integration/programs/host');
  const out = traceScript(join(host, 'profilers_traced.py'), [], { cwd: host });
  const tree = JSON.parse(readFileSync(join(out, readdirSync(out).find((d) => existsSync(join(out, d, 'tree.json'))), 'tree.json'), 'utf8'));
  const { page, errors } = await openPage(writeHtml(out, 'notices.html'));
  const title = await page.textContent('#run-title');
  const notices = tree.notices || [];
  if (/^3\.11\./.test(tree.python)) assert.equal(notices.length, 1);
  for (const n of notices) assert.ok(title.includes(' · Notice: ' + n), title);
  if (!notices.length) assert.ok(!title.includes('Notice'), title);
  assert.deepEqual(errors, []);
  await page.close();
});
