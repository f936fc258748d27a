// The viewer on what the tracer records when an exception leaves a call (issue 18), on a
// real run (tests/integration/programs/postmortem.py): where each exception was raised
// (inside C too: the Python line that called it), its causes, the line each call was
// left at, the call's locals (redacted names stay redacted), and the source kept with
// the run once the checkout is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SHOTS, ctx, setup, traceScript, writeHtml, openPage, cursorOf, press, PROGRAMS } from './helpers.mjs';

setup();

const raiseLine = (page) => page.textContent('#source .ln.raise .no');

test('a real run: raise line, causes, locals and the line each call was left at', { timeout: 60000 }, async () => {
  const out = traceScript(join(PROGRAMS, 'postmortem.py'));
  const { page, errors } = await openPage(writeHtml(out, 'postmortem-real.html'));
  // The run ended well: "e" goes to the first raise site in time order, int() inside
  // parse(): raised in C, so the raise site is parse's line that called it.
  let c = await press(page, 'e');
  assert.equal(c.fn, 'parse');
  let cur = await page.textContent('#current');
  assert.match(cur, /Errorbuiltins\.ValueErrorinvalid literal for int\(\) with base 10: 'xcfg'/);
  assert.match(cur, /Raised atpostmortem\.py:8/);
  assert.match(cur, /Localstext'xcfg'api_key<redacted>width4/);
  assert.doesNotMatch(cur, /k-123/); // (the source shows it: it is in the program's text)
  assert.equal(await raiseLine(page), '8');
  assert.match(await page.textContent('#source .ln.raise'), /return int\(text\) ← ValueError/);
  // Next raise site: load's RuntimeError, caused by parse's ValueError.
  c = await press(page, 'e');
  assert.equal(c.fn, 'load');
  cur = await page.textContent('#current');
  assert.match(cur, /Raised atpostmortem\.py:16/);
  assert.match(cur, /Caused byValueError: invalid literal for int\(\) with base 10: 'xcfg' \(postmortem\.py:8\)/);
  assert.match(cur, /Localspath'cfg'data'xcfg'/);
  assert.equal(await raiseLine(page), '16');
  // A generator the exception was thrown into (the context manager's): left at its yield.
  c = await press(page, 'e'); // check(5), swallowed by swallow()
  assert.equal(c.fn, 'check');
  c = await press(page, 'e'); // check(9), inside guard("g")
  assert.equal(c.fn, 'check');
  await page.click('#stack li:nth-child(3)');
  assert.equal((await cursorOf(page)).fn, 'inside');
  cur = await page.textContent('#current');
  assert.match(cur, /Raised atcheck postmortem\.py:21/);
  assert.match(cur, /Left this call atpostmortem\.py:39/);
  assert.equal(await raiseLine(page), '39');
  await page.screenshot({ path: join(SHOTS, 'postmortem-real.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a real run whose checkout is gone: the source kept with the run is shown', { timeout: 60000 }, async () => {
  const dir = join(ctx.tmp, 'checkout');
  mkdirSync(dir);
  const script = join(dir, 'postmortem.py');
  copyFileSync(join(PROGRAMS, 'postmortem.py'), script);
  const out = traceScript(script, [], { cwd: dir });
  rmSync(dir, { recursive: true });
  const { page, errors } = await openPage(writeHtml(out, 'postmortem-gone.html'));
  assert.equal((await press(page, 'e')).fn, 'parse');
  assert.match(await page.textContent('#source .src-head'), /postmortem\.py:6 kept with the run$/);
  assert.equal(await raiseLine(page), '8');
  assert.match(await page.textContent('#source pre'), /def parse\(text, api_key\):/);
  assert.deepEqual(errors, []);
  await page.close();
});
