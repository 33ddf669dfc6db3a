// Accounts II in Chromium:
//   1. passwordless sign-in on the sign-in page, with the code read from the emailed .eml file;
//   2. the same inline on an event page, without leaving it;
//   3. "Sign in with Google" against the fake OpenID provider that scripts/e2e.sh starts
//      (ADMIT_GOOGLE_ISSUER_URL), landing signed in.
//
//   ADMIT_E2E_MAIL_DIR   the server's $ADMIT_DATA_DIR/mail (scripts/e2e.sh sets it)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { waitForServer, launchBrowser, withPage, firstEventPath } from '../helpers.mjs';

const MAIL_DIR = process.env.ADMIT_E2E_MAIL_DIR;
const CONTEXT = { locale: 'en-US' };

let browser;
before(async () => {
  await waitForServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

function mailFiles() {
  assert.ok(MAIL_DIR, 'ADMIT_E2E_MAIL_DIR is not set (scripts/e2e.sh sets it)');
  try {
    return readdirSync(MAIL_DIR).filter((f) => f.endsWith('.eml'));
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
}

/** The sign-in code in the newest mail to `email` that was not in `seen` (its subject carries it). */
async function waitForSignInCode(email, seen, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = mailFiles()
      .filter((f) => !seen.has(f))
      .map((f) => path.join(MAIL_DIR, f))
      .map((file) => ({ file, mtime: statSync(file).mtimeMs, raw: readFileSync(file, 'utf8') }))
      .filter((m) => new RegExp(`^To: .*${email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'mi').test(m.raw))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { raw } of fresh) {
      const found = raw.match(/^Subject: Your admit sign-in code: (\d{6})/m);
      if (found) return found[1];
    }
    if (Date.now() > deadline) {
      throw new Error(`no sign-in code mailed to ${email} within ${timeoutMs / 1000}s in ${MAIL_DIR}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function visible(locator, what) {
  await locator.first().waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
    throw new Error(what);
  });
}

async function signedInAs(page, email) {
  await page.goto('/account');
  assert.equal(new URL(page.url()).pathname, '/account', `signed in, /account should open (got ${page.url()})`);
  const shown = (await page.locator('[data-testid="account-email"]').first().textContent())?.trim();
  assert.equal(shown, email, 'the account page shows the signed-in address');
}

test('passwordless sign-in with the emailed code, from the sign-in page', { timeout: 90_000 }, async () => {
  const email = 'attendee2@admit.test';
  await withPage(browser, 'passwordless sign-in', CONTEXT, async (page) => {
    await page.goto('/signin');
    const form = page.locator('form[data-testid="code-request-form"]');
    await visible(form, '/signin should offer form[data-testid="code-request-form"]');
    const seen = new Set(mailFiles());
    await form.locator('input[name="email"]').fill(email);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/signin/code', { timeout: 15_000 }),
      form.locator('button[type="submit"]').click(),
    ]);
    const code = await waitForSignInCode(email, seen);
    const codeForm = page.locator('form[data-testid="code-sign-in-form"]');
    await codeForm.locator('input[name="code"]').fill(code);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/account', { timeout: 15_000 }),
      codeForm.locator('button[type="submit"]').click(),
    ]);
    await signedInAs(page, email);
  });
});

test('a buyer signs in on the event page with an emailed code and stays there', { timeout: 90_000 }, async () => {
  const email = 'attendee1@admit.test';
  await withPage(browser, 'inline sign-in on the event page', CONTEXT, async (page) => {
    const eventPath = await firstEventPath(page);
    await page.goto(eventPath);
    const emailForm = page.locator('form[data-testid="buyer-email-form"]');
    await visible(emailForm, `${eventPath} should offer a signed-out buyer form[data-testid="buyer-email-form"]`);
    const seen = new Set(mailFiles());
    await emailForm.locator('input[name="email"]').fill(email);
    await Promise.all([page.waitForLoadState('load'), emailForm.locator('button[type="submit"]').click()]);
    const codeForm = page.locator('form[data-testid="buyer-code-form"]');
    await visible(codeForm, 'after sending, the event page should show form[data-testid="buyer-code-form"]');
    assert.equal(new URL(page.url()).pathname, eventPath, 'still on the event page');
    const code = await waitForSignInCode(email, seen);
    await codeForm.locator('input[name="code"]').fill(code);
    await Promise.all([
      page.waitForURL((u) => u.pathname === eventPath && u.searchParams.get('notice') === 'signed_in', { timeout: 15_000 }),
      codeForm.locator('button[type="submit"]').click(),
    ]);
    await visible(page.locator('a[data-testid="nav-account"]'), 'signed in, the header shows the account link');
    assert.equal(await page.locator('form[data-testid="buyer-email-form"]').count(), 0, 'no sign-in form once signed in');
    await signedInAs(page, email);
  });
});

test('Google sign-in against the fake provider lands signed in', { timeout: 90_000 }, async () => {
  const email = `e2e-google-${Date.now()}@gmail.example`;
  await withPage(browser, 'google sign-in', CONTEXT, async (page) => {
    await page.goto('/signin?next=%2Faccount');
    const button = page.locator('a[data-testid="google-sign-in"]');
    await visible(button, '/signin should show a[data-testid="google-sign-in"] (is ADMIT_GOOGLE_CLIENT_ID set?)');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/authorize', { timeout: 15_000 }),
      button.first().click(),
    ]);
    const issuer = process.env.ADMIT_GOOGLE_ISSUER_URL;
    if (issuer) assert.equal(new URL(page.url()).origin, new URL(issuer).origin, 'the browser is at the provider');
    await page.locator('input[name="email"]').fill(email);
    await page.locator('input[name="name"]').fill('E2E Googler');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/account', { timeout: 20_000 }),
      page.locator('#continue').click(),
    ]);
    await signedInAs(page, email);
    const name = (await page.locator('[data-testid="account-name"]').first().textContent())?.trim();
    assert.equal(name, 'E2E Googler', 'the new account is named as at Google');
    await visible(page.locator('[data-testid="verified"]'), 'a Google-verified address counts as verified');
  });
});
