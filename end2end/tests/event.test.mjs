// Event page: title, time with a time-zone label, and the tier picker island
// (live subtotal with JavaScript; server-rendered subtotal without it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitForServer, launchBrowser, withPage, intAttr, firstEventPath, BASE_URL } from '../helpers.mjs';

const PICKER = 'form[data-testid="tier-picker"]';
const QTY = `${PICKER} input[data-testid="tier-qty"]`;
const SUBTOTAL = '[data-testid="subtotal"]';

let browser;
before(async () => {
  await waitForServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** First tier-qty input with its price; checks that quantity 2 is allowed. */
async function firstTier(page) {
  const qty = page.locator(QTY).first();
  await qty.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
    throw new Error(`no visible ${QTY} on ${page.url()}`);
  });
  assert.equal(await qty.getAttribute('type'), 'number', 'tier-qty input should be type="number"');
  const price = await intAttr(qty, 'data-price-minor', 'first tier-qty input');
  assert.ok(price >= 0, `data-price-minor should not be negative, got ${price}`);
  const max = await intAttr(qty, 'max', 'first tier-qty input');
  assert.ok(max >= 2, `first tier allows only max=${max} tickets; the test needs a tier with max >= 2 (seed data)`);
  return { qty, price };
}

// A zone label: WIB/WITA/WIT or another all-caps abbreviation (not AM/PM), UTC/GMT offsets,
// or a numeric offset such as +07:00.
function timeZoneLabel(text) {
  const abbr = (text.match(/\b[A-Z]{2,5}\b/g) || []).filter((w) => !['AM', 'PM'].includes(w));
  if (abbr.length) return abbr[0];
  const offset = text.match(/(?:UTC|GMT)\s?[+-−]\s?\d{1,2}(?::?\d{2})?|[+-−]\d{2}:?\d{2}\b/);
  return offset ? offset[0] : null;
}

test('clicking the first event card opens its page with title and zoned time', { timeout: 60_000 }, async () => {
  await withPage(browser, 'event card opens event page', {}, async (page) => {
    await page.goto('/');
    const card = page.locator('a[data-testid="event-card"]').first();
    assert.ok((await card.count()) === 1, 'no a[data-testid="event-card"] on / (is the database seeded?)');
    const href = await card.getAttribute('href');
    const norm = (t) => (t ?? '').replace(/\s+/g, ' ').trim();
    const cardText = norm(await card.textContent());
    const expectedPath = new URL(href ?? '', BASE_URL + '/').pathname;

    await Promise.all([page.waitForURL((u) => u.pathname === expectedPath, { timeout: 15_000 }), card.click()]);

    const h1 = page.locator('h1[data-testid="event-title"]');
    await h1.waitFor({ timeout: 10_000 }).catch(() => {
      throw new Error(`no h1[data-testid="event-title"] on ${expectedPath}`);
    });
    const title = norm(await h1.textContent());
    assert.ok(title.length > 0, 'event title is empty');
    assert.ok(
      cardText.toLowerCase().includes(title.toLowerCase()),
      `event card text "${cardText}" should contain the event page title "${title}"`,
    );

    const when = page.locator('[data-testid="event-when"]').first();
    assert.equal(await when.count(), 1, 'no [data-testid="event-when"] on the event page');
    const whenText = (await when.innerText()).trim();
    assert.ok(
      timeZoneLabel(whenText),
      `[data-testid="event-when"] should name a time zone (e.g. WIB/WITA/WIT), got "${whenText}"`,
    );
  });
});

test('tier picker island hydrates and updates the subtotal live (JavaScript on)', { timeout: 90_000 }, async () => {
  await withPage(browser, 'tier picker live subtotal', {}, async (page, log) => {
    const eventPath = await firstEventPath(page);

    const wasm = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.endsWith('.wasm')) wasm.push(`${r.status()} ${r.url()}`);
    });
    // Form submissions (navigations); a server-function fetch would not count.
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.isNavigationRequest()) posts.push(r.url());
    });

    await page.goto(eventPath);
    await page.waitForSelector(`${PICKER}[data-hydrated="true"]`, { state: 'attached', timeout: 45_000 }).catch(() => {
      throw new Error(
        `${PICKER} never got data-hydrated="true" (island did not hydrate). ` +
          `.wasm responses: ${wasm.length ? wasm.join(', ') : 'none'}`,
      );
    });
    assert.ok(wasm.length > 0, 'the page hydrated but no .wasm response was seen');
    assert.ok(
      wasm.some((w) => w.startsWith('200 ') || w.startsWith('304 ')),
      `.wasm was not fetched successfully: ${wasm.join(', ')}`,
    );

    const { qty, price } = await firstTier(page);
    const subtotal = page.locator(SUBTOTAL).first();
    assert.equal(await subtotal.count(), 1, `no ${SUBTOTAL} on the event page`);
    const before = await intAttr(subtotal, 'data-subtotal-minor', SUBTOTAL);

    await qty.fill('2'); // sets the value and fires `input`
    await qty.dispatchEvent('change');

    const expected = 2 * price;
    await page
      .waitForFunction(
        ([sel, want]) => document.querySelector(sel)?.getAttribute('data-subtotal-minor') === String(want),
        [SUBTOTAL, expected],
        { timeout: 5_000 },
      )
      .catch(() => {});
    const after = await intAttr(subtotal, 'data-subtotal-minor', SUBTOTAL);
    assert.equal(
      after,
      expected,
      `after setting quantity 2 at ${price} minor units, data-subtotal-minor should be ${expected} ` +
        `(was ${before} before); got ${after}. The island should update it without submitting.`,
    );
    assert.equal(new URL(page.url()).pathname, eventPath, 'page navigated away; the subtotal must update in place');
    assert.deepEqual(posts, [], `the form was submitted (POST navigation to ${posts.join(', ')}); expected a live update`);
    if (log.some((l) => /invalid for table|RuntimeError|panicked/.test(l))) {
      assert.fail(`wasm errors in the browser log:\n${log.join('\n')}`);
    }
  });
});

test('tier picker works without JavaScript (form POST re-renders the subtotal)', { timeout: 60_000 }, async () => {
  await withPage(browser, 'tier picker without javascript', { javaScriptEnabled: false }, async (page) => {
    const eventPath = await firstEventPath(page);
    const res = await page.goto(eventPath);
    assert.equal(res?.status(), 200, `GET ${eventPath} should answer 200, got ${res?.status()}`);

    const form = page.locator(PICKER).first();
    assert.equal(await form.count(), 1, `no ${PICKER} on ${eventPath}`);
    assert.equal(
      await form.getAttribute('data-hydrated'),
      null,
      'with JavaScript disabled the island must not hydrate (is javaScriptEnabled: false honoured?)',
    );
    const method = (await form.getAttribute('method')) ?? '';
    assert.equal(method.toLowerCase(), 'post', `${PICKER} should have method="post", got "${method}"`);

    const { qty, price } = await firstTier(page);
    await qty.fill('2');

    const button = page.locator(`${PICKER} button[data-testid="update-subtotal"]`).first();
    assert.equal(await button.count(), 1, `no button[data-testid="update-subtotal"] inside ${PICKER}`);
    const [post] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && r.isNavigationRequest(), { timeout: 15_000 }),
      button.click(),
    ]);
    await page.waitForLoadState('load');
    const postPath = new URL(post.url()).pathname;
    assert.equal(postPath, eventPath, `the form should POST to the event page itself, posted to ${postPath}`);
    const finalRes = await post.response();
    assert.ok(finalRes, 'no response to the tier-picker POST');
    assert.ok(
      finalRes.status() < 400,
      `tier-picker POST answered ${finalRes.status()} (CSRF token missing from the form?)`,
    );

    const subtotal = page.locator(SUBTOTAL).first();
    await subtotal.waitFor({ state: 'attached', timeout: 10_000 }).catch(() => {
      throw new Error(`no ${SUBTOTAL} on the page after the POST`);
    });
    const got = await intAttr(subtotal, 'data-subtotal-minor', `${SUBTOTAL} after POST`);
    assert.equal(
      got,
      2 * price,
      `server-rendered data-subtotal-minor after posting quantity 2 at ${price} should be ${2 * price}, got ${got}`,
    );
  });
});
