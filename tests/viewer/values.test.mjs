// The viewer's shownJson / shownMembers (tools/viewer/format.js) over the cases every
// reader is tested on (tests/values/cases.tsv): a format-3 value shows as the Python
// repr it stands for, an older run's repr string as it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const page = vm.createContext({});
vm.runInContext(readFileSync(join(ROOT, 'tools', 'viewer', 'format.js'), 'utf8'), page);

const cases = readFileSync(join(ROOT, 'tests', 'values', 'cases.tsv'), 'utf8').split('\n')
  .filter((l) => l && !l.startsWith('#')).map((l) => { const k = l.indexOf('\t'); return [l.slice(0, k), l.slice(k + 1)]; });

test('every shared case shows as the repr it stands for', () => {
  assert.ok(cases.length >= 40);
  for (const [json, want] of cases) assert.equal(page.shownJson(json), want, json);
});

test('text that is not one JSON value is shown as it is', () => {
  for (const text of ["'ana'", '[1, 2', '1 2', '<app.O object at 0x1>', '']) {
    assert.equal(page.shownJson(text), text);
  }
});

test('locals: each member shown; a variable named repr does not make the map a value', () => {
  const m = page.shownMembers('{"repr": "x", "n": 1.0, "o": {"type": "T", "repr": "<T>"}}', 3);
  assert.deepEqual(JSON.parse(JSON.stringify(m)), [['repr', "'x'"], ['n', '1.0'], ['o', '<T>']]);
  const old = page.shownMembers('{"text": "\'xcfg\'", "width": "4"}', 2);
  assert.deepEqual(JSON.parse(JSON.stringify(old)), [['text', "'xcfg'"], ['width', '4']]);
  assert.deepEqual(JSON.parse(JSON.stringify(page.shownMembers('[1]', 3))), []);
});
