// Language switch EN <-> ID through the locale forms, with and without JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitForServer, launchBrowser, withPage } from '../helpers.mjs';

let browser;
before(async () => {
  await waitForServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function switchTo(page, code) {
  const button = page.locator(`button[data-testid="locale-${code}"]`).first();
  assert.equal(await button.count(), 1, `no button[data-testid="locale-${code}"] on ${page.url()}`);
  await button.click();
  const want = code === 'en' ? /^en(-|$)/i : new RegExp(`^${code}(-|$)`, 'i');
  // Poll through the form POST's navigation (or an in-place switch by an island).
  const deadline = Date.now() + 15_000;
  let lang = null;
  while (Date.now() < deadline) {
    lang = await page.locator('html').getAttribute('lang', { timeout: 5_000 }).catch(() => null);
    if (lang && want.test(lang)) break;
    await page.waitForTimeout(200);
  }
  await page.waitForLoadState('load');
  assert.match(lang ?? '', want, `after clicking locale-${code}, <html lang> should be "${code}", got "${lang}"`);
}

for (const [label, options] of [
  ['JavaScript on', {}],
  ['JavaScript off', { javaScriptEnabled: false }],
]) {
  test(`locale buttons switch <html lang> to id and back to en (${label})`, { timeout: 60_000 }, async () => {
    await withPage(browser, `locale switch ${label}`, options, async (page) => {
      const res = await page.goto('/');
      assert.equal(res?.status(), 200, `GET / should answer 200, got ${res?.status()}`);
      await switchTo(page, 'id');
      await switchTo(page, 'en');
    });
  });
}
