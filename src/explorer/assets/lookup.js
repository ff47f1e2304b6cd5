// The lookup page's in-browser verification: fetch the trace and the entries from the
// API (not from the page's text), verify them with verify.js against the key the
// visitor pinned (kept in localStorage), warn loudly when the server's key differs, and
// remember the last checkpoint verified so a log that shrinks or forks is flagged.
// Everything shown is set with textContent: no server string becomes markup. Its words
// come from the page (data-messages: the catalogue's js- messages in the reader's
// language); the technical detail of a failure (verify.js) stays in English.

import * as v from './verify.js';

const PINNED_KEY = 'pennytrail.pinned-key';
const PINNED_POLICY = 'pennytrail.pinned-policy';
const SEEN_PREFIX = 'pennytrail.checkpoint.';
/** Entries fetched at once (a trace page has at most 101 steps). */
const FETCH_CONCURRENCY = 6;

const panel = document.getElementById('verification');
/** The page's messages in the reader's language (the catalogue's `js-…`), `{name}` to fill. */
const MESSAGES = JSON.parse((panel && panel.dataset.messages) || '{}');

/** Message `id` with each `{name}` replaced by `vars[name]`; the id itself if missing. */
function msg(id, vars = {}) {
  let text = MESSAGES[id] ?? id;
  for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value));
  return text;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A banner in `container`: level is good, warn or danger; danger banners are alerts. */
function banner(container, level, id, title, detail) {
  const box = element('div', `banner ${level}`);
  box.id = id;
  if (level === 'danger') box.setAttribute('role', 'alert');
  box.append(element('strong', '', title));
  if (detail) box.append(element('span', '', detail));
  container.append(box);
  return box;
}

async function fetchOk(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) {
    let detail = `${response.status}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // Not a problem+json answer: the status says enough.
    }
    throw new Error(`GET ${url} failed: ${detail}`);
  }
  return response;
}

async function getJson(url) {
  return (await fetchOk(url)).json();
}

async function eachLimited(items, limit, work) {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await work(queue.shift());
  });
  await Promise.all(workers);
}

function stepCell(seq) {
  let cell = document.querySelector(`.step-status[data-seq="${seq}"]`);
  if (!cell) {
    // A step the page did not list (a payout made after the page was rendered).
    const row = element('tr');
    row.dataset.seq = String(seq);
    row.append(element('th', '', msg('js-step-new', { seq })), element('td'), element('td'));
    cell = element('td', 'step-status');
    cell.dataset.seq = String(seq);
    cell.dataset.label = msg('js-check');
    row.append(cell);
    document.querySelector('#trace tbody').append(row);
  }
  return cell;
}

function showStep(seq, ok, reason) {
  const cell = stepCell(seq);
  cell.classList.remove('verified', 'failed');
  cell.classList.add(ok ? 'verified' : 'failed');
  cell.dataset.result = ok ? 'verified' : 'failed';
  cell.textContent = ok ? msg('js-step-verified') : msg('js-step-failed', { reason });
}

function markAllSteps(text) {
  for (const cell of document.querySelectorAll('.step-status')) {
    cell.classList.remove('verified', 'failed');
    cell.dataset.result = 'unverified';
    cell.textContent = text;
  }
}

function setupPinForm() {
  const form = document.getElementById('pin');
  const input = document.getElementById('pinned-key');
  const policyInput = document.getElementById('pinned-policy');
  form.hidden = false;
  input.value = localStorage.getItem(PINNED_KEY) || '';
  policyInput.value = localStorage.getItem(PINNED_POLICY) || '';
  document.getElementById('pin-save').addEventListener('click', () => {
    const key = input.value.trim();
    if (key) localStorage.setItem(PINNED_KEY, key);
    else localStorage.removeItem(PINNED_KEY);
    const policy = policyInput.value.trim();
    if (policy) localStorage.setItem(PINNED_POLICY, `${policy}\n`);
    else localStorage.removeItem(PINNED_POLICY);
    location.reload();
  });
  document.getElementById('pin-forget').addEventListener('click', () => {
    localStorage.removeItem(PINNED_KEY);
    localStorage.removeItem(PINNED_POLICY);
    location.reload();
  });
  return form;
}

/** Compares the verified checkpoint with the last one this browser verified for the log. */
async function checkHistory(checkpoint, status) {
  const storageKey = SEEN_PREFIX + checkpoint.origin;
  const root = v.b64encode(checkpoint.root);
  const remember = () =>
    localStorage.setItem(storageKey, JSON.stringify({ size: String(checkpoint.size), root }));
  let seen = null;
  try {
    seen = JSON.parse(localStorage.getItem(storageKey) || 'null');
  } catch {
    seen = null;
  }
  if (!seen || typeof seen.size !== 'string' || typeof seen.root !== 'string') {
    remember();
    banner(status, 'good', 'log-history', msg('js-history-first'),
      ` ${msg('js-history-first-detail', { size: checkpoint.size })}`);
    return 'first';
  }
  const seenSize = BigInt(seen.size);
  if (seenSize > checkpoint.size) {
    banner(status, 'danger', 'log-history', msg('js-rollback'),
      ` ${msg('js-rollback-detail', { seen: seenSize, size: checkpoint.size })}`);
    return 'rollback';
  }
  if (seenSize === checkpoint.size) {
    if (seen.root !== root) {
      banner(status, 'danger', 'log-history', msg('js-fork-root'),
        ` ${msg('js-fork-root-detail', { seen: seenSize, root_seen: seen.root, root })}`);
      return 'fork';
    }
    banner(status, 'good', 'log-history', msg('js-history-same'), '');
    return 'same';
  }
  try {
    const proof = await getJson(`/v1/proofs/consistency?from=${seenSize}&to=${checkpoint.size}`);
    if (String(proof.from) !== String(seenSize) || String(proof.to) !== String(checkpoint.size)) {
      throw new v.VerifyError('the server answered a consistency proof for other sizes');
    }
    const hashes = proof.hashes.map((h, i) => v.b64decode(h, `consistency proof hash ${i}`));
    await v.verifyConsistency(hashes, seenSize, v.b64decode(seen.root, 'remembered root'),
      checkpoint.size, checkpoint.root);
  } catch (e) {
    banner(status, 'danger', 'log-history', msg('js-fork-proof'), ` ${e.message}`);
    return 'fork';
  }
  remember();
  const grew = seenSize === 1n ? 'js-grew-detail-one' : 'js-grew-detail-other';
  banner(status, 'good', 'log-history', msg('js-grew'), ` ${msg(grew, { seen: seenSize, size: checkpoint.size })}`);
  return 'grew';
}

async function run() {
  const keyStatus = document.getElementById('key-status');
  const logStatus = document.getElementById('log-status');
  const summary = document.getElementById('verify-summary');
  panel.dataset.state = 'running';
  const pinForm = setupPinForm();
  const pinned = localStorage.getItem(PINNED_KEY);
  const log = await getJson('/v1/log');
  const serverKey = String(log.verifier_key);

  if (!pinned) {
    const box = banner(keyStatus, 'warn', 'no-pinned-key', msg('js-no-key'), ` ${msg('js-no-key-detail')}`);
    box.append(element('code', 'key', ` ${msg('js-server-key', { key: serverKey })}`));
    const pinServer = element('button', '', msg('js-pin-server'));
    pinServer.type = 'button';
    pinServer.id = 'pin-server-key';
    pinServer.addEventListener('click', () => {
      localStorage.setItem(PINNED_KEY, serverKey);
      location.reload();
    });
    box.append(element('br'), pinServer);
    pinForm.open = true;
    markAllSteps(msg('js-steps-no-key'));
    summary.textContent = msg('js-summary-no-key');
    panel.dataset.result = 'no-key';
    return;
  }

  let vkey;
  try {
    vkey = await v.parseVerifierKey(pinned);
  } catch (e) {
    banner(keyStatus, 'danger', 'bad-pinned-key', msg('js-bad-key'), ` ${e.message}`);
    pinForm.open = true;
    markAllSteps(msg('js-steps-bad-key'));
    summary.textContent = msg('js-summary-bad-key');
    panel.dataset.result = 'bad-key';
    return;
  }
  if (vkey.text !== serverKey.trim()) {
    pinForm.open = true;
    banner(keyStatus, 'danger', 'key-mismatch', msg('js-key-mismatch'),
      ` ${msg('js-key-mismatch-detail', { pinned: vkey.text, server: serverKey })}`);
  } else {
    const keyName = `${vkey.name}+${vkey.keyId.toString(16).padStart(8, '0')}`;
    banner(keyStatus, 'good', 'key-match', msg('js-key-match'), ` ${msg('js-key-match-detail', { key: keyName })}`);
  }

  // A witness policy the visitor pinned: the checkpoint must carry its quorum.
  const witnessStatus = document.getElementById('witness-status');
  const pinnedPolicy = localStorage.getItem(PINNED_POLICY);
  let policy = null;
  if (pinnedPolicy) {
    try {
      policy = await v.parsePolicy(pinnedPolicy);
    } catch (e) {
      pinForm.open = true;
      banner(witnessStatus, 'danger', 'bad-pinned-policy', msg('js-bad-policy'), ` ${e.message}`);
      markAllSteps(msg('js-steps-bad-policy'));
      summary.textContent = msg('js-summary-bad-policy');
      panel.dataset.result = 'bad-policy';
      return;
    }
  }

  const org = encodeURIComponent(panel.dataset.org);
  const donation = encodeURIComponent(panel.dataset.donation);
  const after = panel.dataset.after ? `?after=${encodeURIComponent(panel.dataset.after)}` : '';
  const trace = await getJson(`/v1/orgs/${org}/donations/${donation}/trace${after}`);
  const seqs = [trace.seq, ...trace.flows.map((f) => f.seq)];
  const entries = new Map();
  await eachLimited(seqs, FETCH_CONCURRENCY, async (seq) => {
    try {
      entries.set(seq, new Uint8Array(await (await fetchOk(`/v1/entries/${seq}`)).arrayBuffer()));
    } catch {
      // Reported by the step as "could not be fetched".
    }
  });
  const result = await v.verifyTrace(trace, entries, vkey, policy);
  if (!policy) {
    banner(witnessStatus, 'warn', 'no-pinned-policy', msg('js-no-policy'), ` ${msg('js-no-policy-detail')}`);
  } else if (result.witnesses) {
    banner(witnessStatus, 'good', 'witnessed', msg('js-witnessed'),
      result.witnesses.length
        ? ` ${msg('js-witnessed-by', { witnesses: result.witnesses.join(', ') })}`
        : ` ${msg('js-witnessed-none-required')}`);
  } else {
    banner(witnessStatus, 'danger', 'not-witnessed', msg('js-not-witnessed'), ` ${result.checkpointError}`);
  }
  for (const step of result.steps) showStep(step.seq, step.ok, step.reason);
  const failed = result.steps.filter((s) => !s.ok).length;
  if (failed === 0) {
    const verified = result.steps.length === 1 ? 'js-summary-verified-one' : 'js-summary-verified-other';
    summary.textContent = msg(verified, { steps: result.steps.length, size: result.checkpoint.size });
    summary.className = 'ok';
    panel.dataset.result = 'verified';
  } else {
    summary.textContent = msg('js-summary-failed', { failed, steps: result.steps.length });
    summary.className = 'bad';
    panel.dataset.result = 'failed';
  }
  if (result.checkpoint) panel.dataset.history = await checkHistory(result.checkpoint, logStatus);
}

if (panel) {
  run()
    .catch((e) => {
      const status = document.getElementById('key-status');
      banner(status, 'danger', 'verify-error', msg('js-could-not-run'), ` ${e.message}`);
      panel.dataset.result = 'error';
    })
    .finally(() => {
      panel.dataset.state = 'done';
    });
}
