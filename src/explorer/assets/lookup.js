// The lookup page's in-browser verification: fetch the trace and the entries from the
// API (not from the page's text), verify them with verify.js against the key the
// visitor pinned (kept in localStorage), warn loudly when the server's key differs, and
// remember the last checkpoint verified so a log that shrinks or forks is flagged.
// Everything shown is set with textContent: no server string becomes markup.

import * as v from './verify.js';

const PINNED_KEY = 'pennytrail.pinned-key';
const PINNED_POLICY = 'pennytrail.pinned-policy';
const SEEN_PREFIX = 'pennytrail.checkpoint.';
/** Entries fetched at once (a trace page has at most 101 steps). */
const FETCH_CONCURRENCY = 6;

const panel = document.getElementById('verification');

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
    row.append(element('th', '', `Entry ${seq} (new since this page was loaded)`), element('td'), element('td'));
    cell = element('td', 'step-status');
    cell.dataset.seq = String(seq);
    cell.dataset.label = 'Check';
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
  cell.textContent = ok ? '✔ verified' : `✘ failed: ${reason}`;
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
    banner(status, 'good', 'log-history', 'First checkpoint remembered',
      ` This browser will flag it if this log ever shows fewer than ${checkpoint.size} entries or a different history.`);
    return 'first';
  }
  const seenSize = BigInt(seen.size);
  if (seenSize > checkpoint.size) {
    banner(status, 'danger', 'log-history', 'ROLLBACK: the log shrank',
      ` You saw this log at ${seenSize} entries before; this server now shows a signed checkpoint of ` +
        `${checkpoint.size}. A log never shrinks: this server shows an old state, or a different log.`);
    return 'rollback';
  }
  if (seenSize === checkpoint.size) {
    if (seen.root !== root) {
      banner(status, 'danger', 'log-history', 'FORK: two different logs of the same size',
        ` At ${seenSize} entries you saw root ${seen.root}; this server signs root ${root}. ` +
          'The log has shown different histories to different people.');
      return 'fork';
    }
    banner(status, 'good', 'log-history', 'Same checkpoint as your last visit', '');
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
    banner(status, 'danger', 'log-history', 'FORK: the log is not consistent with what you saw before',
      ` ${e.message}`);
    return 'fork';
  }
  remember();
  banner(status, 'good', 'log-history', 'The log grew consistently',
    ` From ${seenSize} ${seenSize === 1n ? 'entry' : 'entries'} (your last visit) to ${checkpoint.size}, ` +
      'proven to extend what you saw.');
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
    const box = banner(keyStatus, 'warn', 'no-pinned-key', 'No key pinned: nothing here is verified yet.',
      ' Paste the log key the charity publishes on its own website or in a signed report, and pin it. ' +
        'Or pin the key this server states — but only after comparing it with one of those: a key sent by ' +
        'the same server proves nothing about that server.');
    box.append(element('code', 'key', ` Server's key: ${serverKey}`));
    const pinServer = element('button', '', "Pin the server's key (I compared it)");
    pinServer.type = 'button';
    pinServer.id = 'pin-server-key';
    pinServer.addEventListener('click', () => {
      localStorage.setItem(PINNED_KEY, serverKey);
      location.reload();
    });
    box.append(element('br'), pinServer);
    pinForm.open = true;
    markAllSteps('not verified: no key pinned');
    summary.textContent = 'Not verified: pin a key first.';
    panel.dataset.result = 'no-key';
    return;
  }

  let vkey;
  try {
    vkey = await v.parseVerifierKey(pinned);
  } catch (e) {
    banner(keyStatus, 'danger', 'bad-pinned-key', 'The pinned key is not a valid log key.', ` ${e.message}`);
    pinForm.open = true;
    markAllSteps('not verified: the pinned key is invalid');
    summary.textContent = 'Not verified: fix the pinned key.';
    panel.dataset.result = 'bad-key';
    return;
  }
  if (vkey.text !== serverKey.trim()) {
    pinForm.open = true;
    banner(keyStatus, 'danger', 'key-mismatch', "WARNING: this server's log key is not the key you pinned.",
      ` Pinned: ${vkey.text} — this server states: ${serverKey}. Either the log changed its key (check the ` +
        "charity's own announcement) or this server is not the log you trust. Everything below is checked " +
        'against your pinned key.');
  } else {
    banner(keyStatus, 'good', 'key-match', "The pinned key is this server's key.",
      ` Receipts are checked against ${vkey.name}+${vkey.keyId.toString(16).padStart(8, '0')}.`);
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
      banner(witnessStatus, 'danger', 'bad-pinned-policy', 'The pinned witness policy is not valid.', ` ${e.message}`);
      markAllSteps('not verified: the pinned witness policy is invalid');
      summary.textContent = 'Not verified: fix or forget the pinned witness policy.';
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
    banner(witnessStatus, 'warn', 'no-pinned-policy', 'No witness policy pinned: witnesses are not checked.',
      ' The log signature alone cannot show that everyone sees this same log. Pin the witness policy the ' +
        'charity publishes to have your browser check that witnesses you trust cosigned it.');
  } else if (result.witnesses) {
    banner(witnessStatus, 'good', 'witnessed', 'Witnessed as your policy requires.',
      result.witnesses.length
        ? ` Cosigned by ${result.witnesses.join(', ')}: they saw no other history of this log.`
        : ' Your policy requires no cosignature (quorum none).');
  } else {
    banner(witnessStatus, 'danger', 'not-witnessed', 'NOT WITNESSED as your policy requires.',
      ` ${result.checkpointError}`);
  }
  for (const step of result.steps) showStep(step.seq, step.ok, step.reason);
  const failed = result.steps.filter((s) => !s.ok).length;
  if (failed === 0) {
    summary.textContent = `All ${result.steps.length} steps verified by your browser: each entry is in ` +
      `the log of ${result.checkpoint.size} entries whose checkpoint your pinned key signed.`;
    summary.className = 'ok';
    panel.dataset.result = 'verified';
  } else {
    summary.textContent = `${failed} of ${result.steps.length} steps FAILED verification (see each step).`;
    summary.className = 'bad';
    panel.dataset.result = 'failed';
  }
  if (result.checkpoint) panel.dataset.history = await checkHistory(result.checkpoint, logStatus);
}

if (panel) {
  run()
    .catch((e) => {
      const status = document.getElementById('key-status');
      banner(status, 'danger', 'verify-error', 'Verification could not run.', ` ${e.message}`);
      panel.dataset.result = 'error';
    })
    .finally(() => {
      panel.dataset.state = 'done';
    });
}
