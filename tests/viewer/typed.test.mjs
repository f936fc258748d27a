// The viewer on a format-3 run (typed values, docs/format.md): tests/fixtures/typed is
// tests/fixtures/capture written as format 3, plus locals on the call that raised and a
// call with every kind of value. Its page shows what the format-2 page shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT, setup, writeHtml, openPage, press, cursorOf } from './helpers.mjs';

setup();

const FIXTURES = join(ROOT, 'tests/fixtures');

async function raisedCall(dir, name) {
  const { page, errors } = await openPage(writeHtml(dir, name));
  const c = await press(page, 'e');
  return { page, errors, c, text: await page.textContent('#current') };
}

test('a format-3 run shows its values as the format-2 run does', { timeout: 60000 }, async () => {
  const old = await raisedCall(join(FIXTURES, 'capture'), 'capture.html');
  const neu = await raisedCall(join(FIXTURES, 'typed'), 'typed.html');
  assert.equal(old.c.fn, 'Inventory.take');
  assert.equal(neu.c.fn, 'Inventory.take');
  // The same inputs, shown as their reprs (the locals are only in the format-3 run).
  const inputs = (s) => s.slice(s.indexOf('name'), s.indexOf('count') + 6);
  assert.equal(inputs(neu.text), inputs(old.text));
  assert.match(neu.text, /name'cake'count3/);
  assert.match(neu.text, /Localsself<__main__\.Inventory object at 0x7f3a2c1b9d50>name'cake'count3left2api_key<redacted>/);
  // Search finds a value by its shown text.
  await neu.page.selectOption('#scope', 'values');
  await neu.page.fill('#search', "'ana maria'");
  await neu.page.waitForFunction(() => document.querySelector('#counter').textContent === '1/1');
  assert.equal((await cursorOf(neu.page)).fn, 'OrderService.order');
  assert.match(await neu.page.textContent('#current'), /wanted\{'coffee': 3, 'cake': 3\}/);
  // Every kind of value, as Python shows it.
  await neu.page.fill('#search', 'datetime.datetime(2026');
  await neu.page.waitForFunction(() => document.querySelector('#current h3')?.textContent === 'kinds');
  const kinds = await neu.page.textContent('#current');
  for (const shown of ['ratio0.1', 'big1e+16', 'neg-0.0', 'flagTrue', 'nothingNone',
    `quote'it\\'s "q"\\n'`, "items[1, 'a', None, [True, 2.5]]", "blobb'\\x00ab'",
    'huge12345678901234567890', 'token<redacted>', "url'token=<redacted>&page=2'"]) {
    assert.ok(kinds.includes(shown), shown + ' in ' + kinds);
  }
  assert.deepEqual(old.errors, []);
  assert.deepEqual(neu.errors, []);
  await old.page.close();
  await neu.page.close();
});
