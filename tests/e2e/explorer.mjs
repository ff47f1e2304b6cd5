// End-to-end tests of the explorer in a real headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core), against a running pennytrail seeded with `pennytrail demo`.
// tests/integration/explorer.rs starts the service, seeds it and runs this script; by hand:
//
//   PENNYTRAIL_E2E_BASE_URL=http://127.0.0.1:8080 node tests/e2e/explorer.mjs
//
// What it proves (each check is named in the output):
// - the home page lists the charities; the campaign page draws the Sankey diagram with
//   its bands (overhead, fees and held included) and pages raise no script or CSP errors;
// - the donation lookup is verified by the browser itself: with no pinned key nothing is
//   called verified; once the key is pinned every step says "verified";
// - tampering in transit is caught and named: a flipped byte in a receipt's proof hash
//   ("root mismatch at size N"), in the checkpoint signature ("signature invalid for
//   key …") or in an entry's bytes;
// - a pinned key that differs from the server's raises the warning banner;
// - the remembered checkpoint flags a rollback (a bigger size remembered) and a fork (same
//   size, other root; or a consistency proof that fails), and accepts a log that grew
//   consistently (a real RFC 6962 consistency proof verified in the browser);
// - the donor-reference lookup works without putting the reference in a URL;
// - pages read without JavaScript, and fit a phone (390x844) without sideways scrolling;
// - every page in English, French and Swahili says its language, fits a 390-pixel phone
//   and has no WCAG 2.2 A/AA violation axe-core can find;
// - the same verify.js, run in Node, accepts the receipts the Rust service produced.
// Screenshots go to target/e2e-screenshots/ (or $PENNYTRAIL_E2E_SCREENSHOTS).

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as verify from '../../src/explorer/assets/verify.js';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = process.env.PENNYTRAIL_E2E_BASE_URL;
const SHOTS = resolve(process.env.PENNYTRAIL_E2E_SCREENSHOTS || join(here, '..', '..', 'target', 'e2e-screenshots'));
const CHROMIUM = process.env.PENNYTRAIL_E2E_CHROMIUM || '/usr/bin/chromium';
/** The demo's first charity and campaign (src/demo.rs) and its number of donations. */
const ORG = 'clean-water-ke';
const CAMPAIGN = 'wells-2026';
const DEMO_DONATIONS = Number(process.env.PENNYTRAIL_E2E_DONATIONS || 200);
const PINNED_KEY = 'pennytrail.pinned-key';
const PINNED_POLICY = 'pennytrail.pinned-policy';
const SEEN_PREFIX = 'pennytrail.checkpoint.';
const TIMEOUT_MS = 30_000;
/** axe-core, injected into each page to find WCAG violations. */
const AXE = join(dirname(fileURLToPath(import.meta.url)), 'node_modules', 'axe-core', 'axe.min.js');

if (!BASE) {
  console.error('set PENNYTRAIL_E2E_BASE_URL to the service under test, e.g. http://127.0.0.1:8080');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

const results = [];
const screenshots = [];

async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

async function shot(page, name, fullPage = true) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  screenshots.push(path);
}

async function getJson(path) {
  const response = await fetch(BASE + path);
  assert(response.ok, `GET ${path} answered ${response.status}`);
  return response.json();
}

/** Flips one bit of the byte at `at` in a base64 string, keeping it valid base64. */
function flipBase64(text, at) {
  const bytes = verify.b64decode(text);
  bytes[at] ^= 0x01;
  return verify.b64encode(bytes);
}

/** A checkpoint note with one bit of its signature flipped (past the 4-byte key id). */
function tamperSignature(note) {
  return note.replace(/(\n\u2014 \S+ )(\S+)\n$/, (_, head, sig) => `${head}${flipBase64(sig, 10)}\n`);
}

/** The demo donation funding the most payouts: the richest trace to check and show. */
async function richestDonation() {
  let best = null;
  for (let d = 0; d < DEMO_DONATIONS; d++) {
    const id = `don-${String(d).padStart(6, '0')}`;
    const trace = await getJson(`/v1/orgs/${ORG}/donations/${id}/trace`);
    if (!best || trace.flows.length > best.flows) best = { id, flows: trace.flows.length };
  }
  return best;
}

const richest = await richestDonation();
const DONATION = richest.id;
const LOOKUP = `/lookup?org=${ORG}&donation=${DONATION}`;
console.log(`donation under test: ${ORG}/${DONATION}, funding ${richest.flows} payouts`);
if (richest.flows < 2) throw new Error('the demo data has no donation funding two payouts');
const log = await getJson('/v1/log');
const serverKey = log.verifier_key;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });

/**
 * A fresh browser context (its own localStorage) whose pages start with `storage` set,
 * once, before any page script runs. Collects script errors and CSP violations.
 */
async function context({ storage = {}, viewport = { width: 1280, height: 900 }, javaScriptEnabled = true, mobile = false, bypassCSP = false } = {}) {
  const ctx = await browser.newContext({
    viewport,
    javaScriptEnabled,
    isMobile: mobile,
    hasTouch: mobile,
    deviceScaleFactor: mobile ? 2 : 1,
    bypassCSP,
  });
  ctx.setDefaultTimeout(TIMEOUT_MS);
  await ctx.addInitScript((entries) => {
    if (sessionStorage.getItem('e2e-seeded')) return;
    sessionStorage.setItem('e2e-seeded', '1');
    for (const [k, val] of Object.entries(entries)) localStorage.setItem(k, val);
  }, storage);
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
  });
  return { ctx, page, errors };
}

/** Opens a lookup page and waits until its verification has finished. */
async function verifiedLookup(page, path = LOOKUP) {
  await page.goto(BASE + path);
  return verificationState(page);
}

/** What the page's verification found, once it has finished. */
async function verificationState(page) {
  await page.waitForSelector('#verification[data-state="done"]');
  return page.evaluate(() => ({
    result: document.getElementById('verification').dataset.result,
    history: document.getElementById('verification').dataset.history,
    steps: Array.from(document.querySelectorAll('.step-status'), (c) => ({
      seq: c.dataset.seq,
      result: c.dataset.result,
      text: c.textContent,
    })),
    summary: document.getElementById('verify-summary').textContent,
  }));
}

const pinned = { [PINNED_KEY]: serverKey };

await check('home page lists the three demo charities', async () => {
  const { ctx, page, errors } = await context();
  await page.goto(`${BASE}/`);
  const names = await page.locator('#org-list .org-name').allTextContents();
  assert(names.length === 3, `3 charities, got ${names.length}`);
  assert((await page.locator('#log-key').textContent()) === serverKey, 'home shows the verifier key');
  await shot(page, 'home');
  assert(errors.length === 0, errors.join('; '));
  await ctx.close();
});

await check('campaign page renders the Sankey diagram with overhead, fees and held', async () => {
  const { ctx, page, errors } = await context();
  await page.goto(`${BASE}/orgs/${ORG}/campaigns/${CAMPAIGN}`);
  const svg = page.locator('svg.sankey');
  await svg.waitFor();
  const links = await svg.locator('path.link').count();
  const nodes = await svg.locator('rect.node').count();
  assert(links >= 5, `at least 5 bands, got ${links}`);
  assert(nodes === links + 1, `one node per band plus the source, got ${nodes} nodes for ${links} links`);
  for (const key of ['overhead', 'fees', 'held']) {
    const link = svg.locator(`path.link[data-key="${key}"]`);
    assert((await link.count()) === 1, `a band for ${key}`);
    const box = await link.boundingBox();
    assert(box && box.height > 0 && box.width > 100, `the ${key} band is drawn (${JSON.stringify(box)})`);
  }
  assert((await svg.locator('path.link.kind-overhead').count()) === 1, 'overhead has its own colour');
  const fill = await svg.locator('path.link.kind-overhead').evaluate((el) => getComputedStyle(el).fill);
  assert(fill === 'rgb(188, 76, 0)', `overhead is drawn in its colour, got ${fill}`);
  assert((await page.locator('#total-received').textContent()).startsWith('KSh\u00a0'), 'amounts in KES, as KSh');
  await shot(page, 'campaign-sankey');
  assert(errors.length === 0, errors.join('; '));
  await ctx.close();
});

await check('charity page shows the signed report as verified', async () => {
  const { ctx, page, errors } = await context();
  await page.goto(`${BASE}/orgs/${ORG}`);
  const status = await page.locator('.report-status').allTextContents();
  assert(status.length === 1 && status[0] === 'verified', `one verified report, got ${status}`);
  await shot(page, 'charity');
  assert(errors.length === 0, errors.join('; '));
  await ctx.close();
});

await check('without a pinned key nothing is called verified; pinning the key verifies every step', async () => {
  const { ctx, page, errors } = await context();
  let state = await verifiedLookup(page);
  assert(state.result === 'no-key', `no-key state, got ${state.result}`);
  assert(await page.locator('#no-pinned-key').isVisible(), 'the no-key banner shows');
  assert(state.steps.length === richest.flows + 1 && state.steps.every((s) => s.result === 'unverified'),
    `every step unverified: ${JSON.stringify(state.steps)}`);
  await shot(page, 'lookup-no-key');
  await Promise.all([page.waitForNavigation(), page.locator('#pin-server-key').click()]);
  state = await verificationState(page);
  assert(state.result === 'verified', `verified, got ${state.result}: ${JSON.stringify(state.steps)}`);
  assert(state.steps.length === richest.flows + 1, `${richest.flows + 1} steps`);
  assert(state.steps.every((s) => s.result === 'verified' && s.text === '✔ verified'), 'every step verified');
  assert(state.history === 'first', `first checkpoint remembered, got ${state.history}`);
  assert(await page.locator('#key-match').isVisible(), 'the key-match banner shows');
  await shot(page, 'lookup-verified');
  assert(errors.length === 0, errors.join('; '));
  await ctx.close();
});

await check('a pasted key is pinned through the form and verifies; forgetting it unverifies', async () => {
  const { ctx, page } = await context();
  await page.goto(BASE + LOOKUP);
  await page.waitForSelector('#verification[data-state="done"]');
  await page.fill('#pinned-key', `  ${serverKey}\n`);
  await Promise.all([page.waitForNavigation(), page.click('#pin-save')]);
  const state = await verificationState(page);
  assert(state.result === 'verified', `verified, got ${state.result}`);
  assert((await page.evaluate((k) => localStorage.getItem(k), PINNED_KEY)) === serverKey, 'stored trimmed');
  await page.locator('#pin summary').click();
  await Promise.all([page.waitForNavigation(), page.click('#pin-forget')]);
  assert((await verificationState(page)).result === 'no-key', 'forgetting the key unverifies');
  await ctx.close();
});

await check('a pinned witness policy is checked: quorum none passes, a quorum of an absent witness fails every step', async () => {
  // This log has no witnesses; a real witness key from the shared vectors stands in for one.
  const [witnessKey] = JSON.parse(readFileSync(join(here, 'witness-vectors.json'), 'utf8')).witness_keys;
  const { ctx, page, errors } = await context({ storage: pinned });
  await page.goto(BASE + LOOKUP);
  await page.waitForSelector('#verification[data-state="done"]');
  assert(await page.locator('#no-pinned-policy').isVisible(), 'the no-policy banner shows');
  assert((await page.locator('#witnessed').textContent()).includes('not witnessed'), 'the page says the log is not witnessed');
  await page.locator('#pin summary').click();
  await page.fill('#pinned-policy', `log ${serverKey}\nwitness W1 ${witnessKey}\nquorum none\n`);
  await Promise.all([page.waitForNavigation(), page.click('#pin-save')]);
  let state = await verificationState(page);
  assert(state.result === 'verified', `verified under quorum none, got ${state.result}`);
  assert((await page.locator('#witness-status').textContent()).includes('requires no cosignature'), 'quorum none said');
  await page.evaluate(([k, v]) => localStorage.setItem(k, v), [PINNED_POLICY, `log ${serverKey}\nwitness W1 ${witnessKey}\nquorum W1\n`]);
  await page.reload();
  state = await verificationState(page);
  assert(state.result === 'failed', `failed under quorum W1, got ${state.result}`);
  assert(state.steps.every((s) => s.result === 'failed' && s.text.includes('NOT WITNESSED')), JSON.stringify(state.steps));
  assert(await page.locator('#not-witnessed').isVisible(), 'the not-witnessed banner shows');
  await shot(page, 'lookup-not-witnessed');
  await page.evaluate((k) => localStorage.setItem(k, 'quorum W9\n'), PINNED_POLICY);
  await page.reload();
  state = await verificationState(page);
  assert(state.result === 'bad-policy', `a bad policy is refused, got ${state.result}`);
  assert((await page.locator('#bad-pinned-policy').textContent()).includes('policy line 1'), 'names the line');
  assert(errors.length === 0, errors.join('; '));
  await ctx.close();
});

let tamperedSeq = null;
await check('a receipt whose proof hash was flipped in transit fails with "root mismatch"', async () => {
  const { ctx, page } = await context({ storage: pinned });
  await page.route('**/v1/orgs/*/donations/*/trace*', async (route) => {
    const response = await route.fetch();
    const trace = await response.json();
    tamperedSeq = trace.flows[0].seq;
    const lines = trace.receipts[String(tamperedSeq)].split('\n');
    lines[2] = flipBase64(lines[2], 0); // the first proof hash, after header and index
    trace.receipts[String(tamperedSeq)] = lines.join('\n');
    await route.fulfill({ response, json: trace });
  });
  const state = await verifiedLookup(page);
  const bad = state.steps.find((s) => s.seq === String(tamperedSeq));
  assert(state.result === 'failed', `failed overall, got ${state.result}`);
  assert(bad.result === 'failed' && /root mismatch at size \d+/.test(bad.text), `names the reason: ${bad.text}`);
  assert(state.steps.filter((s) => s.result === 'verified').length === state.steps.length - 1,
    'only the tampered step fails');
  await page.locator(`.step-status[data-seq="${tamperedSeq}"]`).scrollIntoViewIfNeeded();
  await shot(page, 'lookup-tampered-proof');
  await ctx.close();
});

await check('a checkpoint signature flipped in transit fails every step with "signature invalid for key"', async () => {
  const { ctx, page } = await context({ storage: pinned });
  await page.route('**/v1/orgs/*/donations/*/trace*', async (route) => {
    const response = await route.fetch();
    const trace = await response.json();
    const forged = tamperSignature(trace.checkpoint);
    assert(forged !== trace.checkpoint, 'the signature was changed');
    for (const seq of Object.keys(trace.receipts)) {
      trace.receipts[seq] = trace.receipts[seq].replace(trace.checkpoint, forged);
    }
    trace.checkpoint = forged;
    await route.fulfill({ response, json: trace });
  });
  const state = await verifiedLookup(page);
  assert(state.result === 'failed', `failed, got ${state.result}`);
  assert(state.steps.every((s) => s.result === 'failed' && s.text.includes('signature invalid for key ')),
    JSON.stringify(state.steps));
  await shot(page, 'lookup-tampered-signature');
  await ctx.close();
});

await check("an entry's bytes changed in transit fail that step", async () => {
  const { ctx, page } = await context({ storage: pinned });
  const trace = await getJson(`/v1/orgs/${ORG}/donations/${DONATION}/trace`);
  await page.route(`**/v1/entries/${trace.seq}`, async (route) => {
    const response = await route.fetch();
    const text = await response.text();
    await route.fulfill({ response, body: text.replace(/"net":(\d+)/, (_, n) => `"net":${Number(n) + 100}`) });
  });
  const state = await verifiedLookup(page);
  const bad = state.steps.find((s) => s.seq === String(trace.seq));
  assert(bad.result === 'failed' && bad.text.includes('root mismatch'), bad.text);
  await ctx.close();
});

await check("a pinned key that is not the server's raises the warning", async () => {
  // A valid verifier key for the same origin, but another key pair.
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const id = (await verify.keyId(log.origin, pub)).toString(16).padStart(8, '0');
  const otherKey = `${log.origin}+${id}+${verify.b64encode(Uint8Array.of(1, ...pub))}`;
  await verify.parseVerifierKey(otherKey);
  const { ctx, page } = await context({ storage: { [PINNED_KEY]: otherKey } });
  const state = await verifiedLookup(page);
  const warning = page.locator('#key-mismatch');
  assert(await warning.isVisible(), 'the mismatch banner shows');
  assert((await warning.getAttribute('role')) === 'alert', 'announced as an alert');
  assert((await warning.textContent()).includes(serverKey), 'it names the server key');
  assert(state.steps.every((s) => s.result === 'failed' && s.text.includes('not signed by the pinned key')),
    JSON.stringify(state.steps));
  await shot(page, 'lookup-key-mismatch');
  await ctx.close();
});

const latest = verify.parseCheckpointBody((await (await fetch(`${BASE}/v1/checkpoint`)).text()).split('\n\n')[0] + '\n');

await check('a remembered bigger checkpoint is flagged as a ROLLBACK', async () => {
  const seen = JSON.stringify({ size: String(latest.size + 1000n), root: verify.b64encode(new Uint8Array(32)) });
  const { ctx, page } = await context({ storage: { ...pinned, [SEEN_PREFIX + log.origin]: seen } });
  const state = await verifiedLookup(page);
  assert(state.history === 'rollback', `rollback, got ${state.history}`);
  const banner = page.locator('#log-history');
  assert((await banner.textContent()).includes('ROLLBACK'), await banner.textContent());
  assert((await banner.getAttribute('role')) === 'alert', 'announced as an alert');
  assert((await page.evaluate((k) => localStorage.getItem(k), SEEN_PREFIX + log.origin)) === seen,
    'the remembered checkpoint is kept as evidence');
  await shot(page, 'lookup-rollback');
  await ctx.close();
});

await check('a remembered checkpoint of the same size with another root is flagged as a FORK', async () => {
  const seen = JSON.stringify({ size: String(latest.size), root: verify.b64encode(new Uint8Array(32)) });
  const { ctx, page } = await context({ storage: { ...pinned, [SEEN_PREFIX + log.origin]: seen } });
  const state = await verifiedLookup(page);
  assert(state.history === 'fork', `fork, got ${state.history}`);
  assert((await page.locator('#log-history').textContent()).includes('FORK'), 'FORK shown');
  await ctx.close();
});

// A genuine older checkpoint: the one of size 1, signed when the demo registered its
// first charity (each write batch has its own stored checkpoint).
const receiptOfFirst = verify.parseReceipt(await (await fetch(`${BASE}/v1/entries/0/proof?size=1`)).text());
const old = verify.parseCheckpointBody(receiptOfFirst.checkpointNote.split('\n\n')[0] + '\n');
const oldSeen = JSON.stringify({ size: String(old.size), root: verify.b64encode(old.root) });

await check('a log that grew since the remembered checkpoint is proven consistent in the browser', async () => {
  const { ctx, page } = await context({ storage: { ...pinned, [SEEN_PREFIX + log.origin]: oldSeen } });
  let proofs = 0;
  page.on('request', (r) => {
    if (r.url().includes('/v1/proofs/consistency?from=1&to=')) proofs += 1;
  });
  const state = await verifiedLookup(page);
  assert(state.history === 'grew', `grew, got ${state.history}`);
  assert(proofs === 1, `one consistency proof fetched, got ${proofs}`);
  const remembered = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), SEEN_PREFIX + log.origin));
  assert(remembered.size === String(latest.size), `now remembers size ${latest.size}: ${remembered.size}`);
  await shot(page, 'lookup-grew');
  await ctx.close();
});

await check('a consistency proof tampered in transit is flagged as a FORK', async () => {
  const { ctx, page } = await context({ storage: { ...pinned, [SEEN_PREFIX + log.origin]: oldSeen } });
  await page.route('**/v1/proofs/consistency*', async (route) => {
    const response = await route.fetch();
    const proof = await response.json();
    assert(proof.hashes.length > 1, 'a non-trivial proof');
    proof.hashes[1] = flipBase64(proof.hashes[1], 5);
    await route.fulfill({ response, json: proof });
  });
  const state = await verifiedLookup(page);
  assert(state.history === 'fork', `fork, got ${state.history}`);
  assert(state.result === 'verified', 'the receipts themselves still verify');
  await shot(page, 'lookup-fork');
  await ctx.close();
});

await check('the donor-reference lookup finds donations without the reference in any URL', async () => {
  const { ctx, page } = await context();
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(`${BASE}/lookup`);
  await page.selectOption('#ref-org', ORG);
  await page.fill('#donor_ref', 'donor-0@example.org');
  await Promise.all([page.waitForNavigation(), page.click('form[method="post"] button[type="submit"]')]);
  const links = await page.locator('#donor-results a').allTextContents();
  // The demo gives every tenth donation a reference: don-000000 has donor-0@example.org.
  assert(links.length === 1 && links[0].includes('don-000000'), `finds don-000000: ${links}`);
  assert(urls.every((u) => !u.includes('donor-0')), `no URL carries the reference: ${urls}`);
  assert(!(await page.content()).includes('donor-0@example.org'), 'the page does not echo it');
  await shot(page, 'donor-lookup');
  await ctx.close();
});

await check('pages read without JavaScript: totals, diagram and the trace table', async () => {
  const { ctx, page } = await context({ javaScriptEnabled: false });
  await page.goto(`${BASE}/orgs/${ORG}/campaigns/${CAMPAIGN}`);
  assert((await page.locator('svg.sankey path.link').count()) >= 5, 'the diagram is server-side');
  await page.goto(BASE + LOOKUP);
  assert((await page.locator('#trace tbody tr').count()) === richest.flows + 1, 'the trace is listed');
  assert((await page.locator('.step-status').first().textContent()) === 'not checked', 'and not called verified');
  await shot(page, 'lookup-without-javascript');
  await ctx.close();
});

await check('phone viewport (390x844): no sideways scrolling; screenshots', async () => {
  const { ctx, page, errors } = await context({ storage: pinned, viewport: { width: 390, height: 844 }, mobile: true });
  for (const [name, path] of [
    ['phone-home', '/'],
    ['phone-campaign', `/orgs/${ORG}/campaigns/${CAMPAIGN}`],
    ['phone-lookup', LOOKUP],
  ]) {
    await page.goto(BASE + path);
    if (path === LOOKUP) await page.waitForSelector('#verification[data-state="done"]');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 390, `${path} is ${width}px wide`);
    await shot(page, name);
  }
  assert(errors.length === 0, errors.join('; '));
  await ctx.close();
});

await check('every page in English, French and Swahili on a 390-pixel phone: no sideways scrolling, 0 WCAG 2.2 AA violations (axe-core)', async () => {
  const pages = [
    ['home', '/'],
    ['charity', `/orgs/${ORG}`],
    ['campaign', `/orgs/${ORG}/campaigns/${CAMPAIGN}`],
    ['find', '/lookup'],
    ['donation', LOOKUP],
    ['downloads', '/downloads'],
  ];
  const heading = { en: 'Where it went', fr: null, sw: null };
  for (const lang of ['en', 'fr', 'sw']) {
    // axe is injected as a script of the test's own, which the pages' CSP would refuse.
    const { ctx, page, errors } = await context({ storage: pinned, viewport: { width: 390, height: 844 }, mobile: true, bypassCSP: true });
    await ctx.addCookies([{ name: 'lang', value: lang, url: BASE }]);
    for (const [name, path] of pages) {
      await page.goto(BASE + path);
      if (path === LOOKUP) await page.waitForSelector('#verification[data-state="done"]');
      const said = await page.evaluate(() => document.documentElement.lang);
      assert(said === lang, `${path} in ${lang} says lang=${said}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 390, `${lang} ${path} is ${width}px wide`);
      await page.addScriptTag({ path: AXE });
      const found = await page.evaluate(async () => {
        const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
        return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
      });
      assert(found.length === 0, `${lang} ${path}: ${found.join('; ')}`);
      if (path === LOOKUP) {
        const text = await page.locator('#trace-head').textContent();
        if (heading[lang]) assert(text === heading[lang], `${lang}: ${text}`);
        else assert(text !== heading.en, `${lang} donation page is translated: ${text}`);
        // The browser's own words too: the summary and each step's result.
        const summary = await page.locator('#verify-summary').textContent();
        const step = await page.locator('.step-status').first().textContent();
        assert(step.startsWith('✔'), `${lang}: the step is verified: ${step}`);
        if (lang === 'en') assert(summary.startsWith('All ') && step === '✔ verified', `${summary} / ${step}`);
        else assert(!summary.startsWith('All ') && step !== '✔ verified', `${lang} verification speaks ${lang}: ${summary} / ${step}`);
        await shot(page, `phone-donation-${lang}`);
      }
    }
    assert(errors.length === 0, errors.join('; '));
    await ctx.close();
  }
});

await browser.close();

await check('Node runs the same verify.js on the Rust-made receipts of 3 charities', async () => {
  const vkey = await verify.parseVerifierKey(serverKey);
  let steps = 0;
  for (const org of ['clean-water-ke', 'school-meals-nl', 'winter-shelter-uk']) {
    for (const donation of ['don-000000', DONATION, `don-${String(DEMO_DONATIONS - 1).padStart(6, '0')}`]) {
      const trace = await getJson(`/v1/orgs/${org}/donations/${donation}/trace`);
      const entries = new Map();
      for (const seq of [trace.seq, ...trace.flows.map((f) => f.seq)]) {
        entries.set(seq, new Uint8Array(await (await fetch(`${BASE}/v1/entries/${seq}`)).arrayBuffer()));
      }
      const result = await verify.verifyTrace(trace, entries, vkey);
      assert(result.steps.every((s) => s.ok), `${org}/${donation}: ${JSON.stringify(result.steps)}`);
      steps += result.steps.length;
    }
  }
  console.log(`     (${steps} steps verified in Node)`);
});

for (const path of screenshots) console.log(`screenshot: ${path}`);
const failed = results.filter((r) => !r.ok);
console.log(`e2e: ${results.length - failed.length} of ${results.length} checks passed`);
process.exit(failed.length === 0 ? 0 : 1);
