// The door scanner in Chromium with a fake camera. A buyer pays for two
// tickets on the simulated gateway; the issued codes are drawn as QR codes
// into .y4m videos, which Chromium plays as its camera
// (--use-file-for-fake-video-capture). Chromium on Linux has no
// BarcodeDetector, so the frames are decoded by the island's wasm decoder
// (rqrr).
//
//   1. ticket A: "valid", then "already used" (when, which gate) on a second scan;
//   2. a forged code while the browser is offline: "forged", from the
//      signature check in the browser alone;
//   3. ticket B while offline: admitted and queued, then uploaded on
//      reconnect, and the server counts it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import QRCode from 'qrcode';
import { waitForServer, withPage, url, BASE_URL, CHROMIUM, CHROMIUM_ARGS } from '../helpers.mjs';

const PASSWORD = 'Admit!2026';
const EVENT = '/events/java-jazz-night';
const EVENT_TITLE = 'Java Jazz Night';
const STAFF = 'staff@jakarta-live.test';

let work;
let tickets; // [{ id, code, attendee }]
let eventId;

before(async () => {
  await waitForServer();
  work = mkdtempSync(path.join(os.tmpdir(), 'admit-scanner-'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function signIn(context, email) {
  const res = await context.request.post(url('/api/v1/auth/login'), {
    data: { email, password: PASSWORD },
    headers: { origin: BASE_URL },
  });
  assert.equal(res.status(), 200, `sign-in of ${email} answered ${res.status()}`);
}

/**
 * Writes a .y4m video (two identical 640×480 frames, which Chromium loops)
 * showing `text` as a QR code, black modules on white, with a quiet zone.
 */
function qrVideo(name, text) {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const [W, H] = [640, 480];
  const scale = Math.floor(H / (n + 8));
  const [ox, oy] = [Math.floor((W - n * scale) / 2), Math.floor((H - n * scale) / 2)];
  const luma = Buffer.alloc(W * H, 235);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (!qr.modules.get(y, x)) continue;
      for (let dy = 0; dy < scale; dy++) {
        luma.fill(16, (oy + y * scale + dy) * W + ox + x * scale, (oy + y * scale + dy) * W + ox + (x + 1) * scale);
      }
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128);
  // "C420", not "C420mpeg2": Chromium's fake capture accepts only the former.
  const parts = [Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420\n`)];
  for (let f = 0; f < 2; f++) parts.push(Buffer.from('FRAME\n'), luma, chroma, chroma);
  const file = path.join(work, `${name}.y4m`);
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

/**
 * Runs `fn(page)` in a fresh browser (whose camera shows `video`, if given)
 * and closes it afterwards.
 */
async function inBrowser(name, video, fn) {
  const camera = video
    ? ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`]
    : [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 60_000, args: [...CHROMIUM_ARGS, ...camera] });
  try {
    return await withPage(browser, name, {}, fn);
  } finally {
    await browser.close();
  }
}

/** Door staff open the scanner of the event at `gate`, with the camera allowed. */
async function openScanner(page, gate) {
  await page.context().grantPermissions(['camera'], { origin: BASE_URL });
  await signIn(page.context(), STAFF);
  await page.goto('/scan');
  // Option labels carry the date too: pick the option by the title.
  const option = page.locator('[data-testid="scan-event"] option', { hasText: EVENT_TITLE }).first();
  await page.locator('[data-testid="scan-event"]').selectOption(await option.getAttribute('value'));
  await page.locator('[data-testid="scan-gate"]').fill(gate);
  await Promise.all([page.waitForURL(/\/scan\?event=/), page.locator('[data-testid="open-scanner"]').click()]);
  eventId = new URL(page.url()).searchParams.get('event');
  await page.locator('[data-testid="scanner"][data-hydrated="true"]').waitFor({ timeout: 20_000 }).catch(() => {
    throw new Error('the scanner island never hydrated');
  });
}

async function result(page) {
  const r = page.locator('[data-testid="scan-result"]');
  await r.waitFor({ timeout: 20_000 });
  return { result: await r.getAttribute('data-result'), offline: await r.getAttribute('data-offline'), text: await r.textContent() };
}

test('a buyer pays for two tickets and they are issued with their codes', { timeout: 120_000 }, async () => {
  await inBrowser('buy two tickets for the door', null, async (page) => {
    await signIn(page.context(), 'attendee2@admit.test');
    await page.goto(EVENT);
    await page.locator('form[data-testid="tier-picker"][data-hydrated="true"]').waitFor({ timeout: 20_000 });
    await page.locator('input[data-testid="tier-qty"]').first().fill('2');
    await Promise.all([page.waitForURL(/\/orders\/[0-9a-f-]+$/, { timeout: 20_000 }), page.locator('[data-testid="hold-tickets"]').click()]);
    const orderId = new URL(page.url()).pathname.split('/').pop();
    const names = ['Zoë Nguyễn', 'Dwi Ayu Lestari'];
    for (let i = 0; i < 2; i++) {
      await page.locator('[data-testid="attendee-name"]').nth(i).fill(names[i]);
      await page.locator('[data-testid="attendee-email"]').nth(i).fill(`door${i + 1}@example.test`);
    }
    await Promise.all([page.waitForURL(/\/pay\/sim\/cs_sim_/, { timeout: 20_000 }), page.locator('[data-testid="checkout-submit"]').click()]);
    await Promise.all([page.waitForURL(/\/orders\//, { timeout: 20_000 }), page.locator('[data-testid="sim-pay-button"]').click()]);
    assert.equal(await page.locator('[data-testid="order"]').getAttribute('data-status'), 'paid');
    // Issuance is an outbox job: wait for the worker.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const res = await page.context().request.get(url(`/api/v1/orders/${orderId}/user-tickets`));
      assert.equal(res.status(), 200, `GET user-tickets answered ${res.status()}`);
      const list = await res.json();
      if (list.length === 2) {
        tickets = list.map((t) => ({ id: t.id, code: t.code, attendee: t.attendee }));
        break;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(tickets, 'two tickets were issued within 30 s');
    for (const t of tickets) assert.ok(t.code.length > 40, `ticket ${t.id} carries its code`);
  });
});

/** The lazy wasm chunks (`/pkg/split_*.wasm`) a page fetches. */
function chunks(page) {
  const seen = [];
  page.on('request', (r) => {
    if (/\/pkg\/split_[^/]*\.wasm$/.test(new URL(r.url()).pathname)) seen.push(r.url());
  });
  return seen;
}

test('an event page with islands never downloads the scanner chunk', { timeout: 60_000 }, async () => {
  await inBrowser('event page without the scanner', null, async (page) => {
    const seen = chunks(page);
    await page.goto(EVENT);
    await page.locator('form[data-testid="tier-picker"][data-hydrated="true"]').waitFor({ timeout: 20_000 });
    await page.waitForLoadState('networkidle');
    assert.deepEqual(seen, [], 'no lazy chunk on the event page');
  });
});

test('the camera reads ticket A: valid, then already used on the second scan', { timeout: 120_000 }, async () => {
  assert.ok(tickets, 'tickets from the purchase test');
  await inBrowser('scan ticket A with the camera', qrVideo('ticket-a', tickets[0].code), async (page) => {
    const seen = chunks(page);
    await openScanner(page, 'North');
    assert.equal(seen.length, 1, `the scanner page fetches its own chunk: ${seen}`);
    await page.locator('[data-testid="camera-toggle"]').click();
    await page.locator('[data-testid="camera-toggle"][data-on="true"]').waitFor({ timeout: 20_000 });
    const first = await result(page);
    assert.equal(first.result, 'valid', `first scan: ${first.text}`);
    assert.ok(first.text.includes(tickets[0].attendee), `the attendee is shown: ${first.text}`);
    // "Next ticket": the same code held up again is a second scan.
    await page.locator('[data-testid="scan-result"]').click();
    await page.locator('[data-testid="scan-result"][data-result="already_used"]').waitFor({ timeout: 20_000 });
    const second = await result(page);
    assert.match(second.text, /Already used at \d{1,2}[:.]\d{2}.*gate North/, `second scan: ${second.text}`);
  });
});

test('offline, a forged code is refused by the signature check in the browser', { timeout: 120_000 }, async () => {
  assert.ok(tickets, 'tickets from the purchase test');
  // One base45 character changed: still a well-formed code, but the
  // signature no longer matches.
  const code = tickets[1].code;
  const at = code.length - 10;
  const forged = code.slice(0, at) + (code[at] === '0' ? '1' : '0') + code.slice(at + 1);
  assert.notEqual(forged, code);
  await inBrowser('a forged code offline', qrVideo('forged', forged), async (page) => {
    await openScanner(page, 'South');
    await page.context().setOffline(true);
    await page.locator('[data-testid="scan-online"][data-online="false"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="camera-toggle"]').click();
    const r = await result(page);
    assert.equal(r.result, 'forged', `forged code: ${r.text}`);
    assert.equal(await page.locator('[data-testid="scan-queue"]').getAttribute('data-count'), '0', 'nothing queued');
    await page.context().setOffline(false);
  });
});

test('offline, ticket B is admitted and queued, then uploaded on reconnect', { timeout: 120_000 }, async () => {
  assert.ok(tickets, 'tickets from the purchase test');
  await inBrowser('an offline scan uploaded later', qrVideo('ticket-b', tickets[1].code), async (page) => {
    await openScanner(page, 'East');
    const door = async () => {
      const res = await page.context().request.get(url(`/api/v1/events/${eventId}/door`));
      assert.equal(res.status(), 200, `GET door answered ${res.status()}`);
      return res.json();
    };
    const before = await door();
    await page.context().setOffline(true);
    await page.locator('[data-testid="scan-online"][data-online="false"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="camera-toggle"]').click();
    const r = await result(page);
    assert.equal(r.result, 'valid', `offline scan: ${r.text}`);
    assert.equal(r.offline, 'true', 'admitted offline');
    await page.locator('[data-testid="scan-queue"][data-count="1"]').waitFor({ timeout: 10_000 });
    // The same ticket again, still offline: this scanner has seen it used.
    await page.locator('[data-testid="scan-result"]').click();
    await page.locator('[data-testid="scan-result"][data-result="already_used"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('[data-testid="scan-queue"]').getAttribute('data-count'), '1', 'a refused scan is not queued');
    // The queue survives a reload of the page's storage view.
    const stored = await page.evaluate((key) => JSON.parse(localStorage.getItem(key) || '{}'), `admit.scanner.${eventId}`);
    assert.equal(stored.scans?.length, 1, 'the queued scan is kept in localStorage');
    assert.equal((await door()).checked_in, before.checked_in, 'the server has not seen it yet');

    await page.context().setOffline(false);
    await page.locator('[data-testid="scan-queue"][data-count="0"]').waitFor({ state: 'attached', timeout: 20_000 });
    const after = await door();
    assert.equal(after.checked_in, before.checked_in + 1, 'the uploaded scan is counted');
    assert.ok(after.per_gate.some(([gate, n]) => gate === 'East' && n === 1), `gate East counted: ${JSON.stringify(after.per_gate)}`);
  });
});
