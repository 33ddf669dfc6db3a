// Accounts end to end, three people in three browser contexts:
//   1. a new user signs up, verifies with the mailed code, signs out and in again,
//      and applies to become an organizer;
//   2. the seeded admin approves the application;
//   3. the new organizer reaches the dashboard and invites door staff; the staff member
//      follows the mailed link, signs up with the invited address, verifies and accepts.
//
// Mail is read from the `.eml` files the server writes in development:
//   ADMIT_E2E_MAIL_DIR   the server's $ADMIT_DATA_DIR/mail (scripts/e2e.sh sets it)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { waitForServer, launchBrowser, withPage, BASE_URL } from '../helpers.mjs';

const MAIL_DIR = process.env.ADMIT_E2E_MAIL_DIR;
const ADMIN = { email: 'admin@admit.test', password: 'Admit!2026' };
const PASSWORD = 'Str0ng!pass';
const CONTEXT = { locale: 'en-US' };

let browser;
before(async () => {
  await waitForServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// ---------------------------------------------------------------------------------------------
// Reading the captured mail (raw RFC 5322 files; parts may be quoted-printable or base64).

/** Splits a message or MIME part into unfolded, lower-cased headers and the raw body. */
function splitEntity(raw) {
  const m = raw.match(/\r?\n\r?\n/);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function decodeQuotedPrintable(s) {
  const bytes = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words in headers (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`). */
function decodeHeader(value = '') {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, _charset, enc, text) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}

/** Decoded text of every leaf part (text and HTML), joined. */
function decodeBody({ headers, body }) {
  const type = headers['content-type'] || 'text/plain';
  if (/^multipart\//i.test(type)) {
    const boundary = type.match(/boundary="?([^";]+)"?/i)?.[1];
    if (!boundary) return body;
    const esc = boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const parts = body.split(new RegExp(`^--${esc}(?:--)?[ \\t]*\\r?$`, 'm')).slice(1, -1);
    return parts.map((p) => decodeBody(splitEntity(p.replace(/^\r?\n/, '')))).join('\n');
  }
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

function parseMail(raw) {
  const entity = splitEntity(raw);
  const to = (decodeHeader(entity.headers.to).match(/[^\s<>,;"']+@[^\s<>,;"']+/g) || []).map((a) =>
    a.toLowerCase(),
  );
  return { to, subject: decodeHeader(entity.headers.subject), text: decodeBody(entity) };
}

/** Names of the `.eml` files now in the mail directory. */
function mailFiles() {
  assert.ok(
    MAIL_DIR,
    'ADMIT_E2E_MAIL_DIR is not set: point it at the server\'s $ADMIT_DATA_DIR/mail (scripts/e2e.sh does)',
  );
  try {
    return readdirSync(MAIL_DIR).filter((f) => f.endsWith('.eml'));
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Waits (up to `timeoutMs`) for the newest mail to `to` that was not among `seen` and whose
 * subject or text matches `pattern`; returns the match and the message.
 */
async function waitForMail(to, seen, pattern, what, timeoutMs = 15_000) {
  const want = to.toLowerCase();
  const deadline = Date.now() + timeoutMs;
  let toAddress = [];
  for (;;) {
    const fresh = mailFiles()
      .filter((f) => !seen.has(f))
      .map((f) => {
        const file = path.join(MAIL_DIR, f);
        try {
          return { file, mtime: statSync(file).mtimeMs, mail: parseMail(readFileSync(file, 'utf8')) };
        } catch {
          return null; // being written
        }
      })
      .filter((m) => m && m.mail.to.includes(want))
      .sort((a, b) => b.mtime - a.mtime);
    toAddress = fresh;
    for (const { file, mail } of fresh) {
      const found = mail.subject.match(pattern) || mail.text.match(pattern);
      if (found) return { found, mail, file };
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(
    `no ${what} mailed to ${to} within ${timeoutMs / 1000}s in ${MAIL_DIR}` +
      (toAddress.length
        ? `; new mail to that address: ${toAddress.map((m) => `"${m.mail.subject}" (${m.file})`).join(', ')}`
        : '; no new mail to that address at all (is the outbox worker running?)'),
  );
}

const snapshot = () => new Set(mailFiles());

async function waitForCode(email, seen) {
  const { found } = await waitForMail(email, seen, /\b(\d{6})\b/, 'verification code');
  return found[1];
}

// ---------------------------------------------------------------------------------------------
// Pages.

/**
 * Fills a form, submits it with its submit button (or `button`), and waits for the redirect
 * that `ok(url)` accepts. A `?error=` redirect or anything else fails with the shown error.
 */
async function submitForm(page, formSel, fields, ok, what, button) {
  const form = page.locator(formSel).first();
  await form.waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
    throw new Error(`${what}: no ${formSel} on ${page.url()}`);
  });
  for (const [name, value] of Object.entries(fields)) {
    const input = form.locator(`[name="${name}"]`).first();
    assert.equal(await input.count(), 1, `${what}: ${formSel} has no field name="${name}"`);
    await input.fill(value);
  }
  const submit = button ?? form.locator('button[type="submit"]').first();
  const before = page.url();
  await Promise.all([
    page
      .waitForURL((u) => u.toString() !== before && (ok(u) || u.searchParams.has('error')), { timeout: 20_000 })
      .catch(() => {}),
    submit.click(),
  ]);
  await page.waitForLoadState('load');
  const now = new URL(page.url());
  if (!ok(now)) {
    const shown = page.locator('[data-testid="form-error"]');
    const error = (await shown.count()) ? (await shown.first().innerText()).trim() : null;
    throw new Error(
      `${what}: after submitting ${formSel} the browser is at ${now.pathname}${now.search}` +
        (error ? `, showing the error "${error}"` : ' (no [data-testid="form-error"] shown)'),
    );
  }
  return now;
}

async function expectVisible(locator, what) {
  await locator.first().waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
    throw new Error(what);
  });
}

async function goto(page, p) {
  const res = await page.goto(p);
  assert.ok(res && res.status() < 400, `GET ${p} answered ${res?.status()}`);
  return res;
}

const norm = (t) => (t ?? '').replace(/\s+/g, ' ').trim();

async function signUp(page, { name, email }) {
  const seen = snapshot();
  await submitForm(
    page,
    'form[data-testid="signup-form"]',
    { name, email, password: PASSWORD },
    (u) => u.pathname === '/verify',
    `sign-up of ${email}`,
  );
  const code = await waitForCode(email, seen);
  await submitForm(
    page,
    'form[data-testid="verify-form"]',
    { code },
    (u) => u.pathname === '/account' && u.searchParams.get('notice') === 'verified',
    `verifying ${email} with the mailed code ${code}`,
  );
  await expectVisible(
    page.locator('[data-testid="verified"]'),
    `after verifying, /account shows no [data-testid="verified"] for ${email}`,
  );
  assert.equal(
    norm(await page.locator('[data-testid="account-email"]').first().textContent()),
    email,
    'the account page should show the new address in [data-testid="account-email"]',
  );
}

async function signIn(page, { email, password }, next) {
  await goto(page, next ? `/signin?next=${encodeURIComponent(next)}` : '/signin');
  const target = next ?? '/account';
  return submitForm(
    page,
    'form[data-testid="signin-form"]',
    { email, password },
    (u) => u.pathname === target,
    `sign-in of ${email}`,
  );
}

function orgSection(page, orgName) {
  return page.locator('section[data-testid="dashboard-org"]', { hasText: orgName });
}

// ---------------------------------------------------------------------------------------------

test(
  'sign up, verify, sign in, apply as organizer, admin approval, staff invitation and acceptance',
  { timeout: 240_000 },
  async () => {
    const stamp = `${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
    const owner = { name: 'E2E Owner', email: `e2e-${stamp}@example.com`, password: PASSWORD };
    const staff = { name: 'E2E Staff', email: `e2e-staff-${stamp}@example.com`, password: PASSWORD };
    const orgName = `E2E Events ${stamp}`;
    mailFiles(); // fail early and clearly without ADMIT_E2E_MAIL_DIR

    await withPage(browser, 'accounts owner', CONTEXT, async (page) => {
      // 1. Sign up, verify with the mailed code.
      await goto(page, '/signup');
      await signUp(page, owner);

      // Sign out, then back in.
      const signOut = page.locator('button[data-testid="sign-out"]');
      await expectVisible(signOut, 'signed in, the header should show button[data-testid="sign-out"]');
      await Promise.all([page.waitForURL((u) => u.pathname === '/', { timeout: 15_000 }), signOut.first().click()]);
      await expectVisible(
        page.locator('a[data-testid="nav-signin"]'),
        'after signing out, the header should show a[data-testid="nav-signin"]',
      );
      assert.equal(await signOut.count(), 0, 'after signing out, the sign-out button should be gone');
      const blocked = await page.goto('/account');
      assert.equal(
        new URL(page.url()).pathname,
        '/signin',
        `signed out, /account should send to /signin, got ${page.url()} (HTTP ${blocked?.status()})`,
      );

      await signIn(page, owner);
      assert.equal(
        norm(await page.locator('[data-testid="account-email"]').first().textContent()),
        owner.email,
        'after signing in, /account should show the signed-in address',
      );
      await expectVisible(page.locator('[data-testid="verified"]'), 'after signing in, the account should still be verified');

      // 2. Apply as an organizer.
      const apply = page.locator('a[href="/organizer/apply"]');
      await expectVisible(apply, '/account should link to /organizer/apply ("Become an organizer")');
      await Promise.all([page.waitForURL((u) => u.pathname === '/organizer/apply'), apply.first().click()]);
      await submitForm(
        page,
        'form[data-testid="apply-form"]',
        { name: orgName, contact_email: owner.email, description: 'Concerts and workshops, end-to-end test.' },
        (u) => u.pathname === '/account' && u.searchParams.get('notice') === 'applied',
        'organizer application',
      );
      await expectVisible(page.locator('[data-testid="notice"]'), 'after applying, /account should show a notice');
      await expectVisible(
        page.locator('[data-testid="membership"]', { hasText: orgName }),
        `after applying, /account should list the pending organization "${orgName}" in [data-testid="membership"]`,
      );
      assert.equal(
        await page.locator('a[data-testid="dashboard-link"]').count(),
        0,
        'before approval there should be no a[data-testid="dashboard-link"]',
      );

      // 3. The admin approves it (second context).
      await withPage(browser, 'accounts admin', CONTEXT, async (admin) => {
        await signIn(admin, ADMIN, '/admin');
        const application = admin.locator('section[data-testid="application"]', { hasText: orgName });
        await expectVisible(application, `/admin should list the application of "${orgName}"`);
        await submitForm(
          admin,
          `section[data-testid="application"]:has-text(${JSON.stringify(orgName)}) form`,
          { reason: 'Looks good (e2e).' },
          (u) => u.pathname === '/admin' && u.searchParams.get('notice') === 'decided',
          `approving "${orgName}"`,
          application.locator('button[data-testid="approve"]').first(),
        );
        assert.equal(
          await admin.locator('section[data-testid="application"]', { hasText: orgName }).count(),
          0,
          `after approval, "${orgName}" should no longer be pending on /admin`,
        );
      });

      // 4. Back as the owner: the dashboard is reachable and shows the organization.
      await goto(page, '/account');
      const dashboardLink = page.locator('a[data-testid="dashboard-link"]');
      await expectVisible(dashboardLink, 'after approval, /account should show a[data-testid="dashboard-link"]');
      await Promise.all([page.waitForURL((u) => u.pathname === '/organizer'), dashboardLink.first().click()]);
      await expectVisible(page.locator('[data-testid="dashboard-title"]'), '/organizer shows no [data-testid="dashboard-title"]');
      await expectVisible(orgSection(page, orgName), `/organizer should show a section[data-testid="dashboard-org"] for "${orgName}"`);

      // 5. Invite door staff.
      const seen = snapshot();
      const inviteForm = `section[data-testid="dashboard-org"]:has-text(${JSON.stringify(orgName)}) form[data-testid="invite-form"]`;
      await submitForm(
        page,
        inviteForm,
        { email: staff.email },
        (u) => u.pathname === '/organizer' && u.searchParams.get('notice') === 'invited',
        `inviting ${staff.email}`,
      );
      const { found } = await waitForMail(
        staff.email,
        seen,
        /https?:\/\/[^\s<>"']+\/invitations\/[A-Za-z0-9._~%-]+/,
        'staff invitation link',
      );
      const inviteUrl = new URL(found[0]);
      assert.equal(
        inviteUrl.origin,
        new URL(BASE_URL).origin,
        `the invitation link ${found[0]} should point at the public URL ${BASE_URL}`,
      );
      const invitePath = inviteUrl.pathname;

      // 6. The staff member (third context) signs up through the invitation and accepts it.
      await withPage(browser, 'accounts staff', CONTEXT, async (guest) => {
        await goto(guest, invitePath);
        const signinLink = guest.locator(`a[href^="/signin?next="]`);
        const signupLink = guest.locator(`a[href^="/signup?email="]`);
        await expectVisible(signupLink, `signed out, ${invitePath} should link to /signup?email=<invitee>`);
        assert.ok((await signinLink.count()) > 0, `signed out, ${invitePath} should link to /signin?next=...`);
        const next = new URL((await signinLink.first().getAttribute('href')) ?? '', BASE_URL).searchParams.get('next');
        assert.equal(next, invitePath, 'the sign-in link should come back to the invitation');

        await Promise.all([guest.waitForURL((u) => u.pathname === '/signup'), signupLink.first().click()]);
        const emailInput = guest.locator('form[data-testid="signup-form"] input[name="email"]');
        assert.equal(
          await emailInput.inputValue(),
          staff.email,
          'the sign-up link from the invitation should prefill the invited address',
        );
        await signUp(guest, staff);

        await goto(guest, invitePath);
        const accept = guest.locator('button[data-testid="accept-invitation"]');
        await expectVisible(accept, `signed in as ${staff.email}, ${invitePath} should show button[data-testid="accept-invitation"]`);
        await Promise.all([
          guest
            .waitForURL((u) => u.pathname === '/organizer' || u.searchParams.has('error'), { timeout: 20_000 })
            .catch(() => {}),
          accept.first().click(),
        ]);
        const at = new URL(guest.url());
        const error = guest.locator('[data-testid="form-error"]');
        assert.ok(
          at.pathname === '/organizer' && at.searchParams.get('notice') === 'joined',
          `accepting should land on /organizer?notice=joined, got ${at.pathname}${at.search}` +
            ((await error.count()) ? ` with error "${norm(await error.first().textContent())}"` : ''),
        );
        await expectVisible(
          orgSection(guest, orgName),
          `after accepting, the staff member's /organizer should show "${orgName}"`,
        );
        assert.equal(
          await orgSection(guest, orgName).locator('form[data-testid="invite-form"]').count(),
          0,
          'door staff should not get the owner\'s invite form',
        );
      });
    });
  },
);
