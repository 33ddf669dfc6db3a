// XSS: a corpus of hostile strings goes into event titles, descriptions,
// venues, terms and tier names through the organizer API; in Chromium a
// sentinel function must never fire on any page that shows them, and no
// element may carry an event-handler attribute or a javascript: link.
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

const S = '__xss_hit';
// At least 50 vectors: script tags, handlers, SVG, javascript: URLs,
// entity-encoded and mixed-case forms, attribute and tag breakouts.
const VECTORS = [
  `<script>${S}(1)</script>`,
  `<ScRiPt>${S}(2)</ScRiPt>`,
  `<img src=x onerror=${S}(3)>`,
  `<img src="x" onerror="${S}(4)">`,
  `<svg onload=${S}(5)>`,
  `<svg><script>${S}(6)</script></svg>`,
  `<svg><animate onbegin=${S}(7) attributeName=x dur=1s>`,
  `<body onload=${S}(8)>`,
  `<iframe src="javascript:${S}(9)"></iframe>`,
  `<iframe srcdoc="<script>parent.${S}(10)</script>"></iframe>`,
  `<a href="javascript:${S}(11)">click</a>`,
  `<a href="JaVaScRiPt:${S}(12)">click</a>`,
  `<a href="jav&#x61;script:${S}(13)">click</a>`,
  `<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;${S}(14)">x</a>`,
  `[md link](javascript:${S}(15))`,
  `[md link 2](JAVASCRIPT:${S}(16))`,
  `![img](x" onerror="${S}(17))`,
  `<details open ontoggle=${S}(18)>`,
  `<input autofocus onfocus=${S}(19)>`,
  `<select autofocus onfocus=${S}(20)>`,
  `<textarea autofocus onfocus=${S}(21)>`,
  `<video><source onerror=${S}(22)>`,
  `<audio src=x onerror=${S}(23)>`,
  `<marquee onstart=${S}(24)>`,
  `<object data="javascript:${S}(25)">`,
  `<embed src="javascript:${S}(26)">`,
  `<form action="javascript:${S}(27)"><button>go</button></form>`,
  `<math><mtext><table><mglyph><style><img src=x onerror=${S}(28)>`,
  `"><script>${S}(29)</script>`,
  `'><img src=x onerror=${S}(30)>`,
  `</title><script>${S}(31)</script>`,
  `</textarea><script>${S}(32)</script>`,
  `</style><script>${S}(33)</script>`,
  `<!--<img src="--><img src=x onerror=${S}(34)//">`,
  `<div style="background:url(javascript:${S}(35))">`,
  `<meta http-equiv="refresh" content="0;url=javascript:${S}(36)">`,
  `<base href="javascript:${S}(37)//">`,
  `<link rel=import href="data:text/html,<script>${S}(38)</script>">`,
  `&lt;script&gt;${S}(39)&lt;/script&gt;`,
  `&#60;img src=x onerror=${S}(40)&#62;`,
  `\\u003cimg src=x onerror=${S}(41)\\u003e`,
  `<img src=x onerror=&#${S.charCodeAt(0)};${S.slice(1)}(42)>`,
  `<svg><a xlink:href="javascript:${S}(43)"><text y=20>x</text></a></svg>`,
  `<svg><use href="data:image/svg+xml,<svg id=x xmlns='http://www.w3.org/2000/svg'><image href=1 onerror=${S}(44) /></svg>#x">`,
  `<img src=x:x onerror=${S}(45)>`,
  `<isindex type=image src=1 onerror=${S}(46)>`,
  `<keygen autofocus onfocus=${S}(47)>`,
  `<x onclick=${S}(48)>click me</x>`,
  `<table background="javascript:${S}(49)">`,
  `<img src="data:image/svg+xml,<svg onload=${S}(50)>">`,
  `{{constructor.constructor('${S}(51)')()}}`,
  `\${${S}(52)}`,
];

// Every page: the sentinel records any call; a hostile string that ran
// would call it (or alert).
async function guard(page) {
  await page.addInitScript((name) => {
    window.__xss_hits = [];
    window[name] = (n) => window.__xss_hits.push(n);
    window.alert = (m) => window.__xss_hits.push(`alert:${m}`);
  }, S);
}

async function assertClean(page, where) {
  await page.waitForTimeout(300);
  const hits = await page.evaluate(() => window.__xss_hits ?? []);
  assert.deepEqual(hits, [], `the XSS sentinel fired on ${where}: ${JSON.stringify(hits)}`);
  const bad = await page.evaluate(() => {
    const found = [];
    for (const el of document.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        const v = attr.value.trim().toLowerCase();
        if (attr.name.startsWith('on') || ((attr.name === 'href' || attr.name === 'src' || attr.name === 'action') && v.startsWith('javascript:'))) {
          found.push(`<${el.tagName.toLowerCase()} ${attr.name}="${attr.value}">`);
        }
      }
    }
    return found;
  });
  assert.deepEqual(bad, [], `dangerous attributes on ${where}`);
}

test('a corpus of 50+ XSS vectors never runs on any page', { timeout: 240_000 }, async () => {
  assert.ok(VECTORS.length >= 50, `only ${VECTORS.length} vectors`);
  await withPage(browser, 'xss corpus', {}, async (page) => {
    await guard(page);
    const api = page.context().request;
    let r = await api.post('/api/v1/auth/login', { data: { email: 'owner@jakarta-live.test', password: 'Admit!2026' } });
    assert.equal(r.status(), 200, 'owner signs in');
    const dash = await page.goto('/organizer');
    assert.equal(dash.status(), 200);
    const orgId = await page.locator('[data-testid="new-event"]').first().getAttribute('href').then((h) => new URL(h, 'http://x').searchParams.get('org'));

    const ids = [];
    for (let i = 0; i < VECTORS.length; i += 5) {
      const v = (k) => VECTORS[(i + k) % VECTORS.length];
      r = await api.post('/api/v1/events', {
        data: {
          org_id: orgId,
          title: `XSS ${i} ${v(0)}`,
          description: VECTORS.join('\n\n'),
          category: 'other',
          venue: v(1),
          city: 'Jakarta',
          address: v(4),
          starts_at: '2030-06-01T19:00',
          ends_at: '2030-06-01T21:00',
          time_zone: 'Asia/Jakarta',
          currency: 'IDR',
          terms: `${v(3)} ${v(4)}`,
        },
      });
      assert.equal(r.status(), 201, `event ${i} created: ${await r.text()}`);
      const id = (await r.json()).id;
      ids.push(id);
      const q = await (await api.post(`/api/v1/events/${id}/quotas`, { data: { name: v(2).slice(0, 100), size: 10 } })).json();
      r = await api.post(`/api/v1/events/${id}/tiers`, { data: { name: v(2).slice(0, 100), description: v(3), price_minor: 1000, quota_ids: [q.id] } });
      assert.equal(r.status(), 201, `tier of event ${i}: ${await r.text()}`);
      r = await api.put(`/api/v1/events/${id}`, {
        data: {
          title: `XSS ${i} ${v(0)}`, description: VECTORS.join('\n\n'), category: 'other', venue: v(1), city: 'Jakarta',
          address: v(4), starts_at: '2030-06-01T19:00', ends_at: '2030-06-01T21:00', time_zone: 'Asia/Jakarta',
          currency: 'IDR', terms: `${v(3)} ${v(4)}`, status: 'published',
        },
      });
      assert.equal(r.status(), 204, `event ${i} published: ${await r.text()}`);
    }

    // Listings and search show every title.
    for (const p of ['/events?q=xss', '/events?q=xss&page=2', '/', '/organizer']) {
      await page.goto(p);
      await assertClean(page, p);
    }
    // Each event page (title in <title>, description, venue, terms, tier names).
    const links = await page.goto('/events?q=xss').then(() => page.locator('[data-testid="event-card"]').evaluateAll((as) => as.map((a) => a.getAttribute('href'))));
    assert.ok(links.length >= 10, `search found ${links.length} XSS events`);
    for (const href of links) {
      await page.goto(href);
      await assertClean(page, href);
      assert.ok((await page.title()).startsWith('XSS '), `the title shows as text on ${href}`);
    }
    // The organizer's management pages show the raw values in form fields.
    for (const id of ids.slice(0, 3)) {
      await page.goto(`/organizer/events/${id}`);
      await assertClean(page, `/organizer/events/${id}`);
    }
  });
});
