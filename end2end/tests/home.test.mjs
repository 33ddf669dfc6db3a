// Home page: upcoming events as cards, pagination.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitForServer, launchBrowser, withPage, BASE_URL } from '../helpers.mjs';

let browser;
before(async () => {
  await waitForServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('home lists upcoming events', { timeout: 60_000 }, async () => {
  await withPage(browser, 'home lists upcoming events', {}, async (page) => {
    const res = await page.goto('/');
    assert.ok(res, 'no response for GET /');
    assert.equal(res.status(), 200, `GET / should answer 200, got ${res.status()}`);

    const title = await page.title();
    assert.match(title, /admit/i, `document title should contain "admit", got "${title}"`);

    const cards = page.locator('a[data-testid="event-card"]');
    const n = await cards.count();
    assert.ok(n >= 1, 'expected at least one a[data-testid="event-card"] on / (is the database seeded?)');

    for (let i = 0; i < n; i++) {
      const card = cards.nth(i);
      const href = await card.getAttribute('href');
      const p = new URL(href ?? '', BASE_URL + '/').pathname;
      assert.match(p, /^\/events\/[^/]+\/?$/, `event card #${i + 1} href "${href}" is not /events/{slug}`);
      const text = (await card.innerText()).trim();
      assert.ok(text.length > 0, `event card #${i + 1} (${href}) has no visible title text`);
    }
  });
});

test('pagination link, when present, leads to more events', { timeout: 60_000 }, async (t) => {
  await withPage(browser, 'home pagination', {}, async (page) => {
    await page.goto('/');
    const next = page.locator('a[data-testid="next-page"]');
    if ((await next.count()) === 0) {
      t.skip('only one page of events (no a[data-testid="next-page"])');
      return;
    }
    const firstPage = await page.locator('a[data-testid="event-card"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    const href = await next.first().getAttribute('href');
    assert.ok(href, 'a[data-testid="next-page"] has no href');
    const res = await page.goto(href);
    assert.equal(res?.status(), 200, `GET ${href} (next page) should answer 200, got ${res?.status()}`);
    const secondPage = await page.locator('a[data-testid="event-card"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(secondPage.length >= 1, `next page ${href} shows no event cards`);
    const overlap = secondPage.filter((h) => firstPage.includes(h));
    assert.deepEqual(overlap, [], `next page ${href} repeats events from page 1: ${overlap.join(', ')}`);
  });
});
