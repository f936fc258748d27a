// The viewer as a post-mortem debugger, driven as a person would: keys and buttons move a
// cursor through a real run (checkout.py: two threads and an uncaught exception) in time
// order and along the calls; the call stack, the current call's values and its source
// follow; "Exception" and "Failing test" jump where it went wrong; the tests and requests
// of a run are listed and lead to their calls, and a unit's page is headed by the unit;
// `flowtrace diff --html` opens on where two tests parted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, rmSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SHOTS, CLI, ctx, run, setup, traceProgram, traceScript, writeHtml, openPage, cursorOf, press, PROGRAMS } from './helpers.mjs';

setup();

// A suite of tests/integration/units run by pytest with its directory as rootdir, so that
// test names are the same wherever the checkout and the temporary directory are.
const UNITS = join(ROOT, 'tests/integration/units');
const pytestArgs = (suite) => ['pytest', '-q', '-p', 'no:cacheprovider', '--rootdir', UNITS, join(UNITS, suite)];

/* The directory of out's run, and its tree.json. */
const runDir = (out) => join(out, readdirSync(out).find((d) => /^\d{8}-/.test(d)));
const runTree = (out) => JSON.parse(readFileSync(join(runDir(out), 'tree.json'), 'utf8'));

/* The first call of out's run (tree.json) for which pred holds. */
function findCall(out, pred) {
  const tree = runTree(out);
  const walk = (n) => (pred(n) ? n : n.children.map(walk).find((x) => x));
  return tree.threads.flatMap((t) => t.calls).map(walk).find((x) => x);
}

const stackNames = (page) => page.$$eval('#stack li .fn', (els) => els.map((e) => e.textContent));

test('time travel: keys step into, over, out, back and forward across threads; stack, values, source follow', { timeout: 120000 }, async () => {
  const out = traceProgram('checkout.py');
  const { page, errors } = await openPage(writeHtml(out, 'checkout.html'));
  assert.match(await page.textContent('#cursor-label'), /No call selected/);

  // From the start, "e": where the exception that ended the run was raised.
  let c = await press(page, 'e');
  assert.equal(c.fn, 'charge');
  assert.deepEqual(await stackNames(page), ['<module>', 'main', 'checkout', 'charge']);
  let cur = await page.textContent('#current');
  assert.match(cur, /Status✗ raised/);
  assert.match(cur, /Inputscard'visa-2'amount14/);
  assert.match(cur, /Errorbuiltins\.ValueErrorcard visa-2 declined for 14/);
  // Its source, kept with the run (else from the file on disk), its first line marked.
  assert.match(await page.textContent('#source .src-head'),
    runTree(out).sources ? /checkout\.py:18 kept with the run$/ : /checkout\.py:18 from the file on disk$/);
  assert.equal(await page.textContent('#source .ln.cur'), '18def charge(card, amount):');
  assert.match(await page.textContent('#source pre'), /raise ValueError/);
  // The tree shows it: its row is the cursor's, its ancestors open.
  assert.equal(await page.$eval('#rows .row.cur .name', (e) => e.textContent), 'charge');
  await page.screenshot({ path: join(SHOTS, 'checkout-exception.png') });

  // Back over (Shift+O): the previous call the caller made... none for charge: its caller.
  c = await press(page, 'Shift+O');
  assert.equal(c.fn, 'checkout');
  cur = await page.textContent('#current');
  assert.match(cur, /card'visa-2'/);
  // Its exception came from below: the path down to where it was raised, each a link, and
  // the raise line when the run recorded it (else where charge begins).
  const raised = findCall(out, (n) => n.function === 'charge' && n.exception);
  assert.match(cur, new RegExp('Raised atcharge checkout\\.py:' + (raised.raise ? raised.raise.line : 18)));
  c = await press(page, 'Shift+O');
  assert.equal(c.fn, 'checkout');
  assert.match(await page.textContent('#current'), /card'visa-1'/);
  // Into: the first call checkout makes in its thread (the pricer thread's are not its).
  c = await press(page, 'i');
  assert.equal(c.fn, 'charge');
  assert.match(await page.textContent('#current'), /card'visa-1'amount2.*Output→'ok'/s);
  // Out: the next call after checkout returned: the second checkout.
  c = await press(page, 'u');
  assert.equal(c.fn, 'checkout');
  assert.match(await page.textContent('#current'), /card'visa-2'/);
  // Back in time: the call that started before, in another thread (the first pricer's).
  c = await press(page, '[');
  assert.equal(c.fn, 'charge');
  c = await press(page, '[');
  assert.equal(c.fn, 'price');
  assert.match(await page.textContent('#cursor-label'), /Thread pricer/);
  assert.deepEqual(await stackNames(page), ['worker', 'subtotal', 'subtotal.<locals>.<genexpr>', 'price']);
  // Forward twice: charge again (main thread), then the second checkout.
  c = await press(page, ']');
  assert.equal(c.fn, 'charge');
  c = await press(page, '.');
  assert.equal(c.fn, 'checkout');
  // Forward into the second pricer, then step over its two prices.
  c = await press(page, ']');
  assert.equal(c.fn, 'worker');
  assert.match(await page.textContent('#current'), /cart\{'tea': 1, 'cake': 3\}/);
  for (const fn of ['subtotal', 'subtotal.<locals>.<genexpr>', 'price']) assert.equal((await press(page, 'i')).fn, fn);
  assert.match(await page.textContent('#current'), /item'tea'qty1Output→2/);
  c = await press(page, 'o');
  assert.match(await page.textContent('#current'), /item'cake'qty3Output→12/);
  // Past the last call of the thread: the cursor stays and says so.
  await press(page, 'o');
  assert.match(await page.textContent('#cursor-label'), /end of the thread/);
  assert.match(await page.textContent('#current'), /item'cake'/);
  // F-keys, as in IDEs: F10 over, F11 into, Shift+F11 out; and the buttons.
  await page.click('#stack li:nth-child(1)');
  assert.equal((await cursorOf(page)).fn, 'worker');
  assert.equal((await press(page, 'F11')).fn, 'subtotal');
  await page.click('button[data-step="into"]');
  assert.equal((await cursorOf(page)).fn, 'subtotal.<locals>.<genexpr>');
  await page.click('button[data-step="back"]');
  assert.equal((await cursorOf(page)).fn, 'subtotal');
  // A click on a row moves the cursor there.
  await page.click('#rows .row:has(.name:text-is("main")) .icon');
  assert.equal((await cursorOf(page)).fn, 'main');
  await page.screenshot({ path: join(SHOTS, 'checkout-stepped.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('search finds values and exception messages, and each hit becomes the cursor', { timeout: 60000 }, async () => {
  const out = traceProgram('checkout.py', [], { name: 'checkout-search' });
  const { page, errors } = await openPage(writeHtml(out, 'checkout-search.html'));
  // Everything: the arguments of the second checkout and charge, and the message of the
  // exception that left charge, checkout, main and <module>.
  await page.fill('#search', 'visa-2');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/4');
  assert.equal((await cursorOf(page)).fn, '<module>');
  // Only values: the two calls that had it as an argument.
  await page.selectOption('#scope', 'values');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/2');
  assert.equal((await cursorOf(page)).fn, 'checkout');
  await page.click('#next');
  assert.equal((await cursorOf(page)).fn, 'charge');
  assert.equal(await page.$eval('#rows .row.hit-current .name', (e) => e.textContent), 'charge');
  // Only exceptions: the message; only names: nothing is called visa.
  await page.selectOption('#scope', 'errors');
  await page.fill('#search', 'declined');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/4');
  assert.match(await page.textContent('#current'), /declined for 14/);
  await page.selectOption('#scope', 'names');
  await page.fill('#search', 'visa');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '0/0');
  // Results too: price returned 12 once.
  await page.selectOption('#scope', 'values');
  await page.fill('#search', '12');
  await page.waitForFunction(() => document.querySelector('#counter').textContent === '1/1');
  assert.match(await page.textContent('#current'), /Output→12/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('source: from the disk when not kept, marked when the file changed since the run, absent when it is gone', { timeout: 60000 }, async () => {
  const script = join(ctx.tmp, 'gone.py');
  copyFileSync(join(PROGRAMS, 'checkout.py'), script);
  const out = traceScript(script, [], { name: 'gone' });
  // Without the copies kept with the run (an older run, or a source that could not be
  // kept), the viewer reads the file on disk when it writes the page.
  rmSync(join(runDir(out), 'sources'), { recursive: true, force: true });
  const { page } = await openPage(writeHtml(out, 'fresh.html'));
  await press(page, 'e');
  assert.match(await page.textContent('#source .src-head'), /gone\.py:18 from the file on disk$/);
  await page.close();
  // Edited after the run: still shown, with a warning.
  writeFileSync(script, '# edited\n' + readFileSync(script, 'utf8'));
  const changed = await openPage(writeHtml(out, 'changed.html'));
  await press(changed.page, 'e');
  assert.match(await changed.page.textContent('#source .src-head'), /changed since the run: lines may have moved/);
  await changed.page.close();
  rmSync(script);
  const gone = await openPage(writeHtml(out, 'gone.html'));
  await press(gone.page, 'e');
  assert.match(await gone.page.textContent('#source'), /source not kept, and the file is gone/);
  assert.equal(await gone.page.$('#source pre'), null);
  await gone.page.close();
});

test('tests: "Failing test" goes to each failed test, "Exception" to where its exception was raised', { timeout: 120000 }, async () => {
  const out = traceScript('-m', pytestArgs('pytest_suite.py'),
    { name: 'suite', wrapper: ['--keep', 'all'] });
  const { page, errors } = await openPage(writeHtml(out, 'suite.html'));
  // Every test is listed, where it ran in the run, with its outcome.
  const units = await page.$$eval('#units li', (els) => els.map((e) => e.textContent));
  assert.equal(units.length, 4);
  assert.match(units[0], /^✓ pytest_suite\.py::test_pass · passed · /);
  assert.match(units[1], /^✗ pytest_suite\.py::test_fail · failed · /);
  assert.match(units[3], /^○ .*test_skip · skipped/);
  // "Failing test": the test's own function (the unit begins in pytest's runtestprotocol).
  let c = await press(page, 't');
  assert.equal(c.fn, 'test_fail');
  assert.match(await page.textContent('#current'), /Unitpytest_suite\.py::test_fail · failed/);
  assert.equal(await page.$eval('#rows .row.cur .name', (e) => e.textContent), 'test_fail');
  // A test whose fixture broke never ran: the unit's call.
  c = await press(page, 't');
  assert.equal(c.fn, 'runtestprotocol');
  assert.match(await page.textContent('#current'), /test_error · error/);
  c = await press(page, 'e');
  assert.equal(c.fn, 'helper');
  assert.match(await page.textContent('#current'), /Inputsx2/);
  assert.match(await page.textContent('#current'), /too big: 2/);
  // A unit in the list leads to its call: a test's own function.
  await page.click('#units li:nth-child(1)');
  assert.equal((await cursorOf(page)).fn, 'test_pass');
  assert.match(await page.textContent('#current'), /test_pass · passed/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a server run shows its requests; a request\'s page is headed by it, not by "Uncaught"', { timeout: 120000 }, async (t) => {
  try { execFileSyncQuiet(); } catch { t.skip('python3-flask is not installed'); return; }
  const out = traceScript(join(ROOT, 'tests/integration/units/flask_app.py'), [], { name: 'flask', cwd: join(ROOT, 'tests/integration/units') });
  const { page, errors } = await openPage(writeHtml(out, 'flask.html'));
  // The timeline opens on the requests (milliseconds of a process that ran for seconds):
  // from the first one's start to the last one's end, give or take 2%.
  const [run] = readdirSync(out).filter((d) => /^\d{8}-/.test(d));
  const reqs = readdirSync(join(out, run, 'units')).map((u) =>
    JSON.parse(readFileSync(join(out, run, 'units', u, 'tree.json'), 'utf8')).threads[0].calls[0]);
  const r0 = Math.min(...reqs.map((c) => c.startMicros)) * 1000;
  const r1 = Math.max(...reqs.map((c) => c.startMicros + c.durationMicros)) * 1000;
  const view = async () => (await page.$eval('#timeline', (e) => e.dataset.view)).split(',').map(Number);
  const [v0, v1] = await view();
  assert.ok(Math.abs(v0 - (r0 - (r1 - r0) * 0.02)) < 1000 && Math.abs(v1 - (r1 + (r1 - r0) * 0.02)) < 1000,
    `view ${v0},${v1}; requests ${r0},${r1}`);
  await page.click('#tl-fit'); // every call: the whole server's life
  const [f0, f1] = await view();
  assert.ok(f0 < v0 && f1 > v1 && (v1 - v0) < (f1 - f0) / 2, `${f0},${f1}`);
  const units = await page.$$eval('#units li', (els) => els.map((e) => e.textContent));
  // (in the order the writer saw them end: the request threads' buffers may come in any order)
  assert.deepEqual(units.map((u) => u.replace(/ · [\d.]+[µm]?s$/, '')).sort(),
    ['✓ GET /ok -> 200', '✓ GET /ok -> 200', '✗ GET /boom -> 500']);
  // The requests are in the run's tree, in their threads, each headed by its headline.
  assert.match(await page.textContent('#rows'), /Flask\.__call__GET \/boom -> 500 · /);
  await page.click('#units li:has-text("GET /boom")');
  assert.equal((await cursorOf(page)).fn, 'Flask.__call__');
  assert.match(await page.textContent('#cursor-label'), /Thread Thread-\d+ \(process_request_thread\)/);
  assert.equal((await press(page, 'e')).fn, 'load');
  assert.match(await page.textContent('#current'), /ZeroDivisionErrorno items/);
  assert.doesNotMatch(await page.textContent('#run-title'), /Uncaught/);
  await page.close();
  const unit = await openPage(writeHtml(out, 'boom.html', ['--unit', 'GET /boom']));
  const title = await unit.page.textContent('#run-title');
  // (its id depends on the order the request threads reached the writer)
  assert.match(title, /^Unit \d+ · GET \/boom -> 500 · [\d.]+ms · /);
  assert.match(title, /Raised ZeroDivisionError: no items/);
  assert.doesNotMatch(title, /Uncaught/);
  assert.equal(await unit.page.textContent('#run-status'), '✗');
  await unit.page.screenshot({ path: join(SHOTS, 'flask-unit.png') });
  assert.deepEqual([...errors, ...unit.errors], []);
  await unit.page.close();
});

function execFileSyncQuiet() {
  // Flask comes from Debian (python3-flask); without it the test says so and skips.
  return readFileSync('/usr/lib/python3/dist-packages/flask/__init__.py');
}

test('flowtrace diff --html: B\'s page starts on where it parted from A, each row leads to B\'s call', { timeout: 120000 }, async () => {
  const out = traceScript('-m', pytestArgs('calc_suite.py'),
    { name: 'calc', wrapper: ['--keep', 'all'] });
  const file = join(ctx.tmp, 'diff.html');
  run(CLI, ['diff', '-d', out, '--unit', 'test_report[1,2,3]', '--unit', 'test_report[4,-5,6]', '--html', file]);
  const { page, errors } = await openPage(file);
  const pane = await page.textContent('#diff');
  assert.match(pane, /^Where A and B parted/);
  assert.match(pane, /A run \S+ · unit 1 · calc_suite\.py::test_report\[1,2,3\] · passed/);
  assert.match(pane, /B run \S+ · unit 2 · calc_suite\.py::test_report\[4,-5,6\] · failed/);
  const rows = await page.$$eval('#diff li', (els) => els.map((e) => e.textContent.trim()));
  assert.ok(rows.includes("- test_report(text='1,2,3') → None"), rows.join('\n'));
  // (with " (line N)" when the run recorded the line the exception left the call at)
  assert.ok(rows.some((r) => r.startsWith("+ test_report(text='4,-5,6')  ✗ ValueError: negative value in '4,-5,6'")),
    rows.join('\n'));
  // The cursor starts on B's call where they parted; B's page is the failing unit's.
  assert.equal((await cursorOf(page)).fn, 'test_report');
  assert.match(await page.textContent('#current'), /text'4,-5,6'/);
  assert.match(await page.textContent('#run-title'), /^Unit 2 · calc_suite\.py::test_report\[4,-5,6\] · failed/);
  // A context row leads to its call in B.
  await page.click('#diff li:first-child');
  assert.equal((await cursorOf(page)).fn, 'runtestprotocol');
  await page.screenshot({ path: join(SHOTS, 'diff.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('post-mortem fields: the raise line and the line each call was left at, causes, locals, the source kept with the run', { timeout: 60000 }, async () => {
  // A hand-made run (tests/fixtures/postmortem) with what the tracer records for an
  // exception: where it was raised, where it left each call, its cause, the locals; its
  // checkout is gone (/srv/gone), only the source kept with the run shows the code.
  const { page, errors } = await openPage(writeHtml(join(ROOT, 'tests/fixtures/postmortem'), 'postmortem.html'));
  const c = await press(page, 'e');
  assert.equal(c.fn, 'load'); // KeyError was raised in load, from parse's ValueError
  const cur = await page.textContent('#current');
  assert.match(cur, /Errorbuiltins\.KeyError'cfg:x'/);
  assert.match(cur, /Raised atapp\.py:10/);
  assert.match(cur, /Caused byValueError: invalid literal for int\(\) with base 10: 'x' \(app\.py:2\)/);
  assert.match(cur, /Localspath'cfg:x'raw'x'errValueError/);
  assert.match(await page.textContent('#source .src-head'), /app\.py:5 kept with the run$/);
  assert.equal(await page.textContent('#source .ln.raise .no'), '10');
  assert.match(await page.textContent('#source .ln.raise'), /raise KeyError\(path\) from err ← KeyError: 'cfg:x'/);
  // Into parse: its own raise line; up to main: where the exception left it.
  assert.equal((await press(page, 'i')).fn, 'parse');
  assert.equal(await page.textContent('#source .ln.raise .no'), '2');
  await page.click('#stack li:nth-child(2)');
  assert.equal((await cursorOf(page)).fn, 'main');
  const main = await page.textContent('#current');
  assert.match(main, /Raised atload app\.py:10/);
  assert.match(main, /Left this call atapp\.py:14/);
  assert.equal(await page.textContent('#source .ln.raise .no'), '14');
  await page.screenshot({ path: join(SHOTS, 'postmortem.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
