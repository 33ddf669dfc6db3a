// Shared helpers for admit's browser tests (node:test + playwright-core + system Chromium).
//
// The server is started and seeded by the Makefile; these tests only need its URL:
//   ADMIT_E2E_URL   base URL, e.g. http://127.0.0.1:3917 (required)
//   ADMIT_E2E_CHROMIUM   browser binary (default /usr/bin/chromium)
//   ADMIT_E2E_SERVER_WAIT_MS   how long to wait for GET /healthz (default 120000)
//
// Never run `npx playwright install`: we use Debian's Chromium, downloads fail here.
import { mkdirSync, writeFileSync, existsSync, statSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = path.join(here, 'test-results');

export const BASE_URL = (() => {
  const raw = process.env.ADMIT_E2E_URL;
  if (!raw) {
    throw new Error(
      'ADMIT_E2E_URL is not set. Start the server (the Makefile does) and run e.g.\n' +
        '  ADMIT_E2E_URL=http://127.0.0.1:3917 npm run e2e',
    );
  }
  return raw.replace(/\/+$/, '');
})();

export const CHROMIUM = process.env.ADMIT_E2E_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Absolute URL for a path on the server under test. */
export function url(p = '/') {
  return new URL(p, BASE_URL + '/').toString();
}

// When one test file already waited in vain, later files (separate processes) wait only briefly.
const UNHEALTHY_MARK = path.join(os.tmpdir(), `admit-e2e-unhealthy-${encodeURIComponent(BASE_URL)}`);

let serverReady;
/** Poll GET $ADMIT_E2E_URL/healthz until it answers 2xx (once per test process). */
export function waitForServer(timeoutMs = Number(process.env.ADMIT_E2E_SERVER_WAIT_MS || 120_000)) {
  serverReady ??= (async () => {
    try {
      if (Date.now() - statSync(UNHEALTHY_MARK).mtimeMs < 10 * 60_000) timeoutMs = Math.min(timeoutMs, 5_000);
    } catch {
      /* no mark */
    }
    const deadline = Date.now() + timeoutMs;
    let last = 'no attempt yet';
    while (Date.now() < deadline) {
      try {
        const res = await fetch(url('/healthz'), { signal: AbortSignal.timeout(5_000) });
        if (res.ok) {
          rmSync(UNHEALTHY_MARK, { force: true });
          return;
        }
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = e?.cause?.code || e?.message || String(e);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    writeFileSync(UNHEALTHY_MARK, last);
    throw new Error(`server at ${BASE_URL} not healthy after ${timeoutMs / 1000}s (GET /healthz: ${last})`);
  })();
  return serverReady;
}

/**
 * Launch the system Chromium. Playwright gives every launch a fresh temporary
 * --user-data-dir of its own and removes it on close.
 */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run \`make setup\` (apt package chromium)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/**
 * Open a page in a fresh context, run `fn(page, log)`, and close everything.
 * On failure: save a screenshot and the HTML under end2end/test-results/, and add the
 * browser console/page errors to the error message (hydration failures show up there).
 */
export async function withPage(browser, name, options, fn) {
  const context = await browser.newContext({ baseURL: BASE_URL, ...options });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => log.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 500) log.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  try {
    return await fn(page, log);
  } catch (err) {
    const file = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
    const saved = [];
    try {
      mkdirSync(RESULTS_DIR, { recursive: true });
      const png = path.join(RESULTS_DIR, `${file}.png`);
      await page.screenshot({ path: png, fullPage: true, timeout: 5_000 });
      saved.push(png);
      const html = path.join(RESULTS_DIR, `${file}.html`);
      writeFileSync(html, await page.content());
      saved.push(html);
    } catch {
      /* best effort */
    }
    const extra = [
      `page URL: ${page.url()}`,
      log.length ? `browser log:\n  ${log.join('\n  ')}` : 'browser log: (empty)',
      saved.length ? `saved: ${saved.join(', ')}` : '',
    ].filter(Boolean);
    err.message = `${err.message}\n--- ${name}\n${extra.join('\n')}`;
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

/** Read an integer attribute, failing clearly when it is missing or not an integer. */
export async function intAttr(locator, attr, what) {
  const raw = await locator.getAttribute(attr);
  if (raw === null) throw new Error(`${what}: attribute ${attr} is missing`);
  if (!/^-?\d+$/.test(raw.trim())) throw new Error(`${what}: ${attr}="${raw}" is not an integer`);
  return Number.parseInt(raw, 10);
}

/** Path (`/events/{slug}`) of the first event card on the home page. */
export async function firstEventPath(page) {
  const res = await page.goto('/');
  if (!res || res.status() !== 200) throw new Error(`GET / answered ${res?.status()}`);
  const card = page.locator('a[data-testid="event-card"]').first();
  await card.waitFor({ state: 'attached', timeout: 10_000 }).catch(() => {
    throw new Error('home page has no a[data-testid="event-card"] (is the database seeded?)');
  });
  const href = await card.getAttribute('href');
  const p = new URL(href ?? '', BASE_URL + '/').pathname;
  if (!/^\/events\/[^/]+\/?$/.test(p)) throw new Error(`first event card href "${href}" is not /events/{slug}`);
  return p;
}
