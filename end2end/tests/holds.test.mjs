// Holds in the browser: tier quantities and seats on the map are held, the
// countdown ticks, a second browser sees the seats as held, and when the
// server's clock passes the hold's end (test-only endpoint) the first page
// says so and the seats come free in the second. Best available works with
// the keyboard alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitForServer, launchBrowser, withPage, intAttr, url, BASE_URL } from '../helpers.mjs';

const SEATED = '/events/gamelan-soiree-at-the-kraton';
const GA = '/events/java-jazz-night';
const PASSWORD = 'Admit!2026';

let browser;
before(async () => {
  await waitForServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Signs a demo account in on the page's browser context (shares cookies). */
async function signIn(page, email) {
  const res = await page.context().request.post(url('/api/v1/auth/login'), {
    data: { email, password: PASSWORD },
    headers: { origin: BASE_URL },
  });
  assert.equal(res.status(), 200, `sign-in of ${email} answered ${res.status()}`);
}

/** Waits until an island on the page has hydrated. */
async function hydrated(page, selector) {
  await page.locator(`${selector}[data-hydrated="true"]`).waitFor({ timeout: 20_000 }).catch(() => {
    throw new Error(`${selector} never hydrated on ${page.url()}`);
  });
}

const seat = (page, label) => page.locator(`label[data-testid="seat"][title^="Pendopo ${label} "]`);

async function advanceServerClock(ms) {
  const res = await fetch(url('/_test/clock/advance'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ms }),
  });
  assert.equal(res.status, 200, `POST /_test/clock/advance answered ${res.status}`);
}

test('tier quantities are held and the countdown ticks', { timeout: 90_000 }, async () => {
  await withPage(browser, 'hold tier quantities', {}, async (page) => {
    await signIn(page, 'attendee2@admit.test');
    await page.goto(GA);
    await hydrated(page, 'form[data-testid="tier-picker"]');
    await page.locator('input[data-testid="tier-qty"]').first().fill('2');
    await Promise.all([
      page.waitForURL(/\/orders\/[0-9a-f-]+$/, { timeout: 20_000 }),
      page.locator('[data-testid="hold-tickets"]').click(),
    ]);
    assert.equal(await page.locator('[data-testid="order-item"]').count(), 2, 'two tickets held');
    await hydrated(page, '[data-testid="countdown"]');
    const timer = page.locator('[data-testid="countdown-time"]');
    const first = await intAttr(timer, 'data-remaining-ms', 'countdown');
    assert.ok(first > 14 * 60_000 && first <= 15 * 60_000, `about 15 minutes left, got ${first} ms`);
    const shown = (await timer.textContent()).trim();
    await page.waitForFunction(
      ([sel, before]) => document.querySelector(sel)?.textContent.trim() !== before,
      ['[data-testid="countdown-time"]', shown],
      { timeout: 5_000 },
    );
    const later = await intAttr(timer, 'data-remaining-ms', 'countdown');
    assert.ok(later < first, `the countdown ticks down (${first} → ${later})`);
  });
});

test('seats picked on the map are held, seen as held elsewhere, and freed when the hold ends', { timeout: 120_000 }, async () => {
  const buyerCtx = await browser.newContext({ baseURL: BASE_URL });
  const otherCtx = await browser.newContext({ baseURL: BASE_URL });
  try {
    const buyer = await buyerCtx.newPage();
    const other = await otherCtx.newPage();
    await signIn(buyer, 'attendee1@admit.test');

    await buyer.goto(SEATED);
    await hydrated(buyer, 'form[data-testid="seat-picker"]');
    for (const label of ['C5', 'C6']) {
      assert.equal(await seat(buyer, label).getAttribute('data-status'), 'available', `${label} starts available`);
      await seat(buyer, label).click();
    }
    assert.match(await buyer.locator('[data-testid="seats-selected"]').textContent(), /^2 /);
    await Promise.all([
      buyer.waitForURL(/\/orders\/[0-9a-f-]+$/, { timeout: 20_000 }),
      buyer.locator('[data-testid="hold-seats"]').click(),
    ]);
    const seats = (await buyer.locator('[data-testid="order-seat"]').allTextContents()).map((s) => s.trim());
    assert.deepEqual(seats, ['Pendopo C5', 'Pendopo C6']);
    await hydrated(buyer, '[data-testid="countdown"]');

    // A second browser sees both seats as held.
    await other.goto(SEATED);
    await hydrated(other, 'form[data-testid="seat-picker"]');
    for (const label of ['C5', 'C6']) {
      assert.equal(await seat(other, label).getAttribute('data-status'), 'held', `${label} is held for others`);
      assert.ok(await seat(other, label).locator('input').isDisabled(), `${label} cannot be ticked`);
    }

    // The server's clock passes the end of the hold.
    await advanceServerClock(16 * 60_000);
    await buyer.locator('[data-testid="hold-ended"]').waitFor({ timeout: 15_000 }).catch(() => {
      throw new Error('the order page did not say the hold ended');
    });
    assert.ok(await buyer.locator('[data-testid="try-again"]').isVisible(), 'offers to try again');
    for (const label of ['C5', 'C6']) {
      await other
        .locator(`label[data-testid="seat"][data-status="available"][title^="Pendopo ${label} "]`)
        .waitFor({ timeout: 15_000 })
        .catch(() => {
          throw new Error(`${label} did not become available again in the second browser`);
        });
    }
  } finally {
    await buyerCtx.close();
    await otherCtx.close();
  }
});

test('best available seats can be held with the keyboard alone', { timeout: 90_000 }, async () => {
  await withPage(browser, 'best available by keyboard', {}, async (page) => {
    await signIn(page, 'attendee2@admit.test');
    await page.goto(SEATED);
    const form = page.locator('form[data-testid="best-available"]');
    await form.waitFor();
    // Tab to the section picker, then through the form, typing as a keyboard user does.
    await page.locator('[data-testid="best-section"]').focus();
    await page.keyboard.press('Tab');
    const count = page.locator('[data-testid="best-count"]');
    assert.ok(await count.evaluate((el) => el === document.activeElement), 'Tab reaches the number of seats');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('2');
    await page.keyboard.press('Tab');
    assert.ok(
      await page.locator('[data-testid="best-accessible"]').evaluate((el) => el === document.activeElement),
      'Tab reaches the accessible-seating choice',
    );
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    assert.ok(
      await page.locator('[data-testid="best-submit"]').evaluate((el) => el === document.activeElement),
      'Tab reaches the submit button',
    );
    await Promise.all([page.waitForURL(/\/orders\/[0-9a-f-]+$/, { timeout: 20_000 }), page.keyboard.press('Enter')]);
    const seats = (await page.locator('[data-testid="order-seat"]').allTextContents()).map((s) => s.trim());
    assert.deepEqual(seats, ['Pendopo A1', 'Pendopo A2'], 'the wheelchair space and its companion seat, together');
  });
});

test('pick, details and pay on the simulated gateway: the order is paid and the fee shown is the fee charged', { timeout: 90_000 }, async () => {
  await withPage(browser, 'pay on the simulated gateway', {}, async (page) => {
    await signIn(page, 'attendee1@admit.test');
    await page.goto('/events/semarang-futsal-cup');
    await hydrated(page, 'form[data-testid="tier-picker"]');
    await page.locator('input[data-testid="tier-qty"]').first().fill('2');
    await Promise.all([
      page.waitForURL(/\/orders\/[0-9a-f-]+$/, { timeout: 20_000 }),
      page.locator('[data-testid="hold-tickets"]').click(),
    ]);
    const orderUrl = page.url();
    const fee = await intAttr(page.locator('[data-testid="order-fee"]'), 'data-fee-minor', 'order fee');
    const total = await intAttr(page.locator('[data-testid="order-total"]'), 'data-total-minor', 'order total');
    // Two Spectator tickets at Rp 50,000: 5 % + Rp 2,500 each.
    assert.equal(fee, 2 * (2_500 + 2_500), 'the fee shown');
    const names = page.locator('[data-testid="attendee-name"]');
    const emails = page.locator('[data-testid="attendee-email"]');
    assert.equal(await names.count(), 2, 'a name and an email per ticket');
    for (let i = 0; i < 2; i++) {
      await names.nth(i).fill(`Guest ${i + 1}`);
      await emails.nth(i).fill(`guest${i + 1}@example.test`);
    }
    await Promise.all([
      page.waitForURL(/\/pay\/sim\/cs_sim_/, { timeout: 20_000 }),
      page.locator('[data-testid="checkout-submit"]').click(),
    ]);
    const charged = (await page.locator('[data-testid="sim-total"]').textContent()).replace(/\D/g, '');
    assert.equal(Number(charged), total, 'the gateway charges the total shown, fee included');
    await Promise.all([
      page.waitForURL((u) => orderUrl.startsWith(u.origin + u.pathname), { timeout: 20_000 }),
      page.locator('[data-testid="sim-pay-button"]').click(),
    ]);
    assert.equal(await page.locator('[data-testid="order"]').getAttribute('data-status'), 'paid');
    assert.match(await page.locator('[data-testid="notice"]').textContent(), /payment/i);
  });
});
