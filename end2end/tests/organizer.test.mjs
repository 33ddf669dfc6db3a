// The organizer's path in Chromium, through the dashboard forms: create an
// event with tiers sharing a quota, a seat map, a discount code and a hidden tier
// with an access code, upload a banner, publish; then an attendee finds it
// in search and the filtered list, sees its local time with the zone label,
// and the access code reveals the hidden tier.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitForServer, launchBrowser, withPage } from '../helpers.mjs';

let browser;
before(async () => {
  await waitForServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A real 400 × 200 RGB PNG, written to a temporary file. */
function pngFile() {
  const w = 400, h = 200;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const i = y * (w * 3 + 1) + 1 + x * 3;
      raw[i] = x % 256; raw[i + 1] = y % 256; raw[i + 2] = 160;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'admit-banner-')), 'banner.png');
  writeFileSync(file, png);
  return file;
}

async function submit(page, form, what) {
  await Promise.all([page.waitForNavigation(), page.locator(`${form} button[type="submit"]`).first().click()]);
  const err = await page.locator('[data-testid="form-error"]').textContent().catch(() => null);
  assert.equal(err, null, `${what} was refused: ${err}`);
}

test('an organizer builds and publishes an event that attendees then find', { timeout: 180_000 }, async () => {
  const title = `Keroncong Under the Stars ${Date.now() % 100000}`;
  await withPage(browser, 'organizer builds an event', {}, async (page) => {
    await page.goto('/signin?next=/organizer');
    await page.fill('form[data-testid="signin-form"] input[name="email"]', 'owner@bali-arts.test');
    await page.fill('form[data-testid="signin-form"] input[name="password"]', 'Admit!2026');
    await Promise.all([page.waitForURL('**/organizer'), page.click('form[data-testid="signin-form"] button[type="submit"]')]);

    await Promise.all([page.waitForNavigation(), page.click('[data-testid="new-event"]')]);
    const f = 'form[data-testid="event-form"]';
    await page.fill(`${f} input[name="input[title]"]`, title);
    await page.fill(`${f} textarea[name="input[description]"]`, 'An **open-air** evening of keroncong.');
    await page.selectOption(`${f} select[name="input[category]"]`, 'music');
    await page.fill(`${f} input[name="input[venue]"]`, 'Pantai Sanur');
    await page.fill(`${f} input[name="input[city]"]`, 'Denpasar');
    await page.fill(`${f} input[name="input[starts_at]"]`, '2030-08-17T19:30');
    await page.fill(`${f} input[name="input[ends_at]"]`, '2030-08-17T22:30');
    await page.selectOption(`${f} select[name="input[time_zone]"]`, 'Asia/Makassar');
    await page.fill(`${f} input[name="input[refund_policy]"]`, '30:100,7:50');
    await submit(page, f, 'creating the event');
    assert.match(page.url(), /\/organizer\/events\/[0-9a-f-]+\?notice=saved/);

    await page.fill('form[data-testid="quota-form"] input[name="name"]', 'Beach capacity');
    await page.fill('form[data-testid="quota-form"] input[name="size"]', '300');
    await submit(page, 'form[data-testid="quota-form"]', 'adding the quota');

    for (const [name, price, hidden] of [['Regular', '150000', false], ['VIP', '450000', false], ['Friends', '90000', true]]) {
      const t = 'form[data-testid="tier-form"]';
      await page.fill(`${t} input[name="input[name]"]`, name);
      await page.fill(`${t} input[name="input[price_minor]"]`, price);
      await page.check(`${t} input[name="input[quota_ids][]"]`);
      if (hidden) await page.check(`${t} input[name="input[hidden]"]`);
      await submit(page, t, `adding tier ${name}`);
    }
    const tiers = await page.locator('[data-testid="tiers"] li').allTextContents();
    assert.equal(tiers.length, 3);
    assert.ok(tiers.every((t) => t.includes('Beach capacity')), `all tiers share the quota: ${tiers}`);

    const g = 'form[data-testid="seat-grid-form"]';
    await page.fill(`${g} input[name="section"]`, 'Beachfront');
    await page.fill(`${g} input[name="rows"]`, '2');
    await page.fill(`${g} input[name="per_row"]`, '8');
    await page.selectOption(`${g} select[name="tier"]`, 'Regular');
    await submit(page, g, 'adding a seat map section');
    assert.equal((await page.locator('[data-testid="seat-count"]').textContent()).trim(), '16 seats');

    const c = 'form[data-testid="code-form"]';
    await page.fill(`${c} input[name="input[code]"]`, 'KRONCONG10');
    await page.selectOption(`${c} select[name="input[discount_kind]"]`, 'percent');
    await page.fill(`${c} input[name="input[discount_value]"]`, '10');
    await submit(page, c, 'adding the discount code');
    await page.fill(`${c} input[name="input[code]"]`, 'FRIENDS-ONLY');
    await page.selectOption(`${c} select[name="input[discount_kind]"]`, 'none');
    await page.check(`${c} input[name="input[unlock_tier_ids][]"]`);
    await submit(page, c, 'adding the access code');

    await page.setInputFiles('form[data-testid="banner-form"] input[name="banner"]', pngFile());
    await Promise.all([page.waitForNavigation(), page.click('form[data-testid="banner-form"] button[type="submit"]')]);
    assert.match(page.url(), /notice=saved/, `banner upload: ${page.url()}`);

    await submit(page, 'form:has([data-testid="toggle-publish"])', 'publishing');
    assert.equal((await page.locator('[data-testid="event-status"]').textContent()).trim(), 'published');
  });

  await withPage(browser, 'attendee finds the event', {}, async (page) => {
    await page.goto('/events?q=keroncong+und');
    const card = page.locator('[data-testid="event-card"]', { hasText: title });
    assert.equal(await card.count(), 1, 'found by keyword (prefix on the last word)');
    await page.goto('/events?category=music&city=denpasar');
    assert.equal(await page.locator('[data-testid="event-card"]', { hasText: title }).count(), 1, 'found with filters');
    await Promise.all([page.waitForNavigation(), page.locator('[data-testid="event-card"]', { hasText: title }).click()]);
    const when = await page.locator('[data-testid="event-when"]').textContent();
    assert.match(when, /17 Aug 2030 19:30 WITA/, `local time and label: ${when}`);
    assert.ok(await page.locator('[data-testid="event-banner"]').isVisible(), 'banner shown');
    assert.equal(await page.locator('[data-testid="seat-map"] [data-testid="seat"][data-status="available"]').count(), 16, 'the seat map with live status');
    const names = () => page.locator('form[data-testid="tier-picker"] label').allTextContents();
    // Regular sells by seat on the map, so the quantity picker lists the others.
    assert.deepEqual(await names(), ['VIP'], 'hidden tier not listed, seated tier on the map');
    await page.fill('form[data-testid="code-form"] input[name="code"]', 'friends-only');
    await Promise.all([page.waitForNavigation(), page.click('form[data-testid="code-form"] button[type="submit"]')]);
    assert.deepEqual(await names(), ['VIP', 'Friends'], 'the access code reveals the hidden tier');
  });
});
