// Shared by the viewer's browser tests: trace a program, write its page, open it in
// Debian's chromium (playwright-core), and collect what went wrong on the page.
import { before, after } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import vm from 'node:vm';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = process.env.FLOWTRACE_BUILD || join(ROOT, 'build');
export const CLI = join(BUILD, 'flowtrace');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const PYTHON = process.env.PYTHON || '/usr/bin/python3';
export const PROGRAMS = join(ROOT, 'tests/integration/programs');
export const SHOTS = join(BUILD, 'viewer');

export const ctx = { tmp: null, browser: null };

/* A value read from a run's tree.json as the viewer shows it (tools/viewer/format.js):
 * format 3's JSON value as its repr, an older run's repr string as it is. */
const viewerText = vm.createContext({});
vm.runInContext(readFileSync(join(ROOT, 'tools/viewer/format.js'), 'utf8'), viewerText);
export const shown = (v, format = 3) =>
  format < 3 && typeof v === 'string' ? v : viewerText.shownJson(JSON.stringify(v));

/* Call once per test file: a temporary directory and a browser for its tests. */
export function setup() {
  before(async () => {
    ctx.tmp = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'ft-viewer-'));
    mkdirSync(SHOTS, { recursive: true });
    ctx.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    if (ctx.browser) await ctx.browser.close();
    if (ctx.tmp) rmSync(ctx.tmp, { recursive: true, force: true });
  });
}

export function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

export function cleanEnv(extra = {}) {
  const env = { ...process.env, FLOWTRACE_BUILD: BUILD };
  for (const k of Object.keys(env)) if (k.startsWith('FLOWTRACE_') && k !== 'FLOWTRACE_BUILD') delete env[k];
  delete env.CI;
  return { ...env, ...extra };
}

/* Traces `python script args` with flowtrace-run into a fresh directory; returns it. */
export function traceScript(script, args = [], { name = null, wrapper = [], env = {}, cwd } = {}) {
  const out = join(ctx.tmp, name || script.split('/').pop() + '-' + Math.random().toString(36).slice(2, 8));
  try {
    run(join(BUILD, 'flowtrace-run'), ['-q', '-o', out, ...wrapper, PYTHON, script, ...args],
      { env: cleanEnv(env), cwd: cwd || ctx.tmp });
  } catch (e) {
    if (e.status === undefined) throw e; // the program may fail: its trace is what we want
  }
  return out;
}

export function traceProgram(name, args = [], opts = {}) {
  return traceScript(join(PROGRAMS, name), args, opts);
}

export function writeHtml(dir, name, extra = []) {
  const file = join(ctx.tmp, name);
  run(CLI, ['html', '-d', dir, '-o', file, ...extra]);
  return file;
}

export async function openPage(file, viewport = { width: 1400, height: 900 }) {
  const page = await ctx.browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push('request ' + r.url()));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) errors.push('network ' + r.url()); });
  await page.goto('file://' + file);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
  return { page, errors };
}

export const rowNames = (page) => page.$$eval('#rows .row .name', (els) => els.map((e) => e.textContent));

/* The cursor's call: its function (the side pane's title) and index (data-cursor). */
export async function cursorOf(page) {
  return page.evaluate(() => ({
    call: Number(document.body.dataset.cursor ?? -1),
    fn: document.querySelector('#current h3')?.textContent ?? null,
  }));
}

/* Presses a key and waits until the cursor has moved (or the label flashed). */
export async function press(page, key) {
  const before = await page.evaluate(() => document.body.dataset.cursor ?? '');
  await page.keyboard.press(key);
  await page.waitForFunction((b) => (document.body.dataset.cursor ?? '') !== b ||
    document.querySelector('#cursor-label').classList.contains('flash'), before);
  return cursorOf(page);
}
