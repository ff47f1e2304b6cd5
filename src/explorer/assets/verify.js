// pennytrail's verifier for the browser: pure functions (no DOM, no network) that check a
// donation's trace the way `pennytrail verify-receipt` does, with WebCrypto only.
//
// The formats mirror src/log (the one source of the rules; DESIGN.md describes them):
// - leaf hash = SHA-256(0x00 || entry bytes); node hash = SHA-256(0x01 || left || right)
//   (RFC 6962 §2.1), inclusion and consistency proofs per RFC 6962 / RFC 9162 §2.1,
//   walked exactly like src/log/merkle.rs (run_inclusion, run_consistency);
// - a checkpoint is a C2SP signed note `<origin>\n<size>\n<base64 root>\n`, signed with
//   Ed25519 by the key named after the origin (src/log/note.rs, src/log/checkpoint.rs);
// - a receipt is a C2SP tlog-proof (src/log/receipt.rs).
// Every function throws a VerifyError saying exactly what failed. The module runs in a
// browser and in Node >= 20 (tests/e2e/verify.test.mjs), both through globalThis.crypto.

/** What failed, in words for the person reading the page. */
export class VerifyError extends Error {}

const RECEIPT_HEADER = 'c2sp.org/tlog-proof@v1';
const MAX_PROOF_HASHES = 64;
const MAX_NOTE_BYTES = 64 * 1024;
const MAX_SIGNATURES = 100;
const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 ';
const encoder = new TextEncoder();

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new VerifyError(
      'this browser offers no WebCrypto here (pages must be served over HTTPS, or from localhost)');
  }
  return s;
}

// ---------- bytes ----------

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard, padded base64 only; a non-canonical spelling is refused, as in Rust. */
export function b64decode(text, what = 'value') {
  if (typeof text !== 'string' || !B64.test(text)) {
    throw new VerifyError(`${what} is not base64`);
  }
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (b64encode(out) !== text) throw new VerifyError(`${what} is not canonical base64`);
  return out;
}

export function b64encode(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

/** RFC 6962 leaf hash of an entry's exact bytes. */
export async function leafHash(entryBytes) {
  return sha256(concat(Uint8Array.of(0x00), entryBytes));
}

export async function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(0x01), left, right));
}

/** A decimal without sign or leading zeros (C2SP sizes and indexes), as a BigInt. */
export function parseCanonicalU64(text, what) {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text) || BigInt(text) > 0xffffffffffffffffn) {
    throw new VerifyError(`${what} ${JSON.stringify(text)} is not a decimal without leading zeros`);
  }
  return BigInt(text);
}

// ---------- keys and signed notes (src/log/note.rs) ----------

function isValidName(name) {
  return name.length > 0 && !name.includes('+') && !/\s/u.test(name);
}

/** Key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), big-endian. */
export async function keyId(name, publicKey) {
  const h = await sha256(concat(encoder.encode(name), Uint8Array.of(0x0a, ALG_ED25519), publicKey));
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

/** Parses a C2SP verifier key `<name>+<8 hex id>+<base64(0x01 || key)>` and checks its id. */
export async function parseVerifierKey(text) {
  const trimmed = String(text).trim();
  const first = trimmed.indexOf('+');
  const second = first < 0 ? -1 : trimmed.indexOf('+', first + 1);
  if (first < 0 || second < 0) {
    throw new VerifyError('the key is not a verifier key: expected <name>+<id>+<key>');
  }
  const name = trimmed.slice(0, first);
  const idText = trimmed.slice(first + 1, second);
  const keyText = trimmed.slice(second + 1);
  if (!isValidName(name)) throw new VerifyError(`the key's name ${JSON.stringify(name)} is invalid`);
  if (!/^[0-9a-fA-F]{8}$/.test(idText)) throw new VerifyError("the key's id is not 8 hex digits");
  const raw = b64decode(keyText, "the key's public part");
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) {
    throw new VerifyError('the key must be 0x01 followed by a 32-byte Ed25519 public key');
  }
  const publicKey = raw.slice(1);
  const stated = parseInt(idText, 16) >>> 0;
  const actual = await keyId(name, publicKey);
  if (stated !== actual) {
    throw new VerifyError(
      `the key's id ${idText} does not match the key (expected ${actual.toString(16).padStart(8, '0')})`);
  }
  return { name, keyId: actual, publicKey, text: trimmed };
}

function keyLabel(vkey) {
  return `${vkey.name}+${vkey.keyId.toString(16).padStart(8, '0')}`;
}

async function ed25519Verify(publicKey, signature, message) {
  try {
    const key = await subtle().importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    return await subtle().verify({ name: 'Ed25519' }, key, signature, message);
  } catch (e) {
    if (e instanceof VerifyError) throw e;
    return false;
  }
}

/**
 * Opens a signed note with the pinned key: the note must carry a valid signature by it
 * (signatures by other keys are ignored, as C2SP allows). Returns the signed text.
 */
export async function openNote(note, vkey) {
  if (encoder.encode(note).length > MAX_NOTE_BYTES) throw new VerifyError('the note is larger than 64 KiB');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new VerifyError('control character in the note');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new VerifyError('the note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const sigs = note.slice(split + 2);
  if (sigs.length === 0 || !sigs.endsWith('\n')) {
    throw new VerifyError("the note's signature block must end with a newline");
  }
  let verified = false;
  const lines = sigs.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new VerifyError('the note has too many signatures');
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) throw new VerifyError('a signature line does not start with an em dash');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw new VerifyError('a signature line needs a name and a signature');
    const name = rest.slice(0, space);
    const sig = b64decode(rest.slice(space + 1), 'a signature');
    if (!isValidName(name) || sig.length < 5) throw new VerifyError('bad signature line');
    const id = ((sig[0] << 24) | (sig[1] << 16) | (sig[2] << 8) | sig[3]) >>> 0;
    if (name !== vkey.name || id !== vkey.keyId) continue;
    const signature = sig.slice(4);
    if (signature.length !== 64 || !(await ed25519Verify(vkey.publicKey, signature, encoder.encode(text)))) {
      throw new VerifyError(`signature invalid for key ${keyLabel(vkey)}`);
    }
    verified = true;
  }
  if (!verified) throw new VerifyError(`the checkpoint is not signed by the pinned key ${keyLabel(vkey)}`);
  return text;
}

// ---------- witnesses (src/log/cosignature.rs, src/log/policy.rs) ----------

const ALG_COSIGNATURE_V1 = 0x04;
const MAX_POLICY_BYTES = 64 * 1024;
const MAX_POLICY_DEFINITIONS = 256;

/** Key id of a witness key: the first 4 bytes of SHA-256(name || 0x0A || 0x04 || key). */
async function cosignerKeyId(name, publicKey) {
  const h = await sha256(concat(encoder.encode(name), Uint8Array.of(0x0a, ALG_COSIGNATURE_V1), publicKey));
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

/** Parses a witness's verifier key `<name>+<8 hex id>+<base64(0x04 || key)>` (C2SP tlog-cosignature). */
export async function parseCosignerKey(text) {
  const trimmed = String(text).trim();
  const parts = trimmed.split('+');
  if (parts.length !== 3) throw new VerifyError('a witness key must be <name>+<id>+<key>');
  const [name, idText, keyText] = parts;
  if (!isValidName(name)) throw new VerifyError(`the witness key's name ${JSON.stringify(name)} is invalid`);
  if (!/^[0-9a-fA-F]{8}$/.test(idText)) throw new VerifyError("the witness key's id is not 8 hex digits");
  const raw = b64decode(keyText, "the witness key's public part");
  if (raw.length !== 33 || raw[0] !== ALG_COSIGNATURE_V1) {
    throw new VerifyError('a witness key must be 0x04 followed by a 32-byte Ed25519 public key');
  }
  const publicKey = raw.slice(1);
  const actual = await cosignerKeyId(name, publicKey);
  if ((parseInt(idText, 16) >>> 0) !== actual) {
    throw new VerifyError(`the witness key's id ${idText} does not match the key`);
  }
  return { name, keyId: actual, publicKey, text: trimmed };
}

/**
 * Parses a C2SP tlog-policy file: `log <vkey> [url]`, `witness <name> <vkey> [url]`,
 * `group <name> all|any|<k> <member>...`, `quorum <name>|none`, as src/log/policy.rs does.
 * Every error names its line.
 */
export async function parsePolicy(text) {
  if (encoder.encode(text).length > MAX_POLICY_BYTES) throw new VerifyError('the policy is larger than 64 KiB');
  const policy = { logs: [], witnesses: [], groups: [], quorum: null };
  const names = new Map();
  let quorumLine = 0;
  const lines = String(text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const bad = (reason) => new VerifyError(`policy line ${i + 1}: ${reason}`);
    if (/[\u0000-\u0008\u000a-\u001f]/.test(lines[i])) throw bad('control character');
    const trimmed = lines[i].replace(/^[ \t]+|[ \t]+$/g, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const items = trimmed.split(/[ \t]+/);
    if (policy.logs.length + policy.witnesses.length + policy.groups.length >= MAX_POLICY_DEFINITIONS) {
      throw bad(`more than ${MAX_POLICY_DEFINITIONS} definitions`);
    }
    const define = (name) => {
      if (name === 'none') throw bad('none is reserved (quorum none)');
      if (names.has(name)) throw bad(`${name} is defined twice`);
    };
    const [keyword, ...rest] = items;
    if (keyword === 'log' && (rest.length === 1 || rest.length === 2)) {
      let key;
      try {
        key = await parseVerifierKey(rest[0]);
      } catch (e) {
        throw bad(`the log key: ${e.message}`);
      }
      policy.logs.push(key);
    } else if (keyword === 'witness' && (rest.length === 2 || rest.length === 3)) {
      const [name, vkey] = rest;
      define(name);
      let key;
      try {
        key = await parseCosignerKey(vkey);
      } catch (e) {
        throw bad(`the key of witness ${name}: ${e.message}`);
      }
      names.set(name, { witness: policy.witnesses.length });
      policy.witnesses.push({ name, key });
    } else if (keyword === 'group' && rest.length >= 3) {
      const [name, thresholdText, ...members] = rest;
      define(name);
      if (new Set(members).size !== members.length) throw bad(`a member is listed twice in group ${name}`);
      const resolved = members.map((m) => {
        if (!names.has(m)) throw bad(`group ${name}: ${m} is not a witness or group defined above`);
        return names.get(m);
      });
      let threshold;
      if (thresholdText === 'all') threshold = members.length;
      else if (thresholdText === 'any') threshold = 1;
      else if (/^[1-9][0-9]*$/.test(thresholdText) && Number(thresholdText) <= members.length) {
        threshold = Number(thresholdText);
      } else {
        throw bad(`group ${name}: the threshold must be all, any or a number from 1 to ${members.length}`);
      }
      names.set(name, { group: policy.groups.length });
      policy.groups.push({ name, threshold, members: resolved });
    } else if (keyword === 'quorum' && rest.length === 1) {
      if (quorumLine) throw bad(`a second quorum line (the first is line ${quorumLine})`);
      quorumLine = i + 1;
      if (rest[0] !== 'none') {
        if (!names.has(rest[0])) throw bad(`quorum ${rest[0]}: not a witness or group defined above`);
        policy.quorum = names.get(rest[0]);
      }
    } else if (['log', 'witness', 'group', 'quorum'].includes(keyword)) {
      throw bad(`a ${keyword} line has the wrong number of items`);
    } else {
      throw bad(`unknown line type ${JSON.stringify(keyword)}`);
    }
  }
  if (!quorumLine) throw new VerifyError('the policy has no quorum line (use `quorum none` for none)');
  return policy;
}

/**
 * The names of the policy's witnesses whose valid cosignature (cosignature/v1) `note`
 * carries. A line under a known witness's name and key id whose signature fails is an
 * error, as in Rust.
 */
export async function cosigners(policy, note) {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new VerifyError('the note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const found = new Set();
  for (const line of note.slice(split + 2).split('\n')) {
    if (!line.startsWith(SIG_PREFIX)) continue;
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) continue;
    const name = rest.slice(0, space);
    const sig = b64decode(rest.slice(space + 1), 'a signature');
    if (sig.length < 4) continue;
    const id = ((sig[0] << 24) | (sig[1] << 16) | (sig[2] << 8) | sig[3]) >>> 0;
    for (const witness of policy.witnesses) {
      if (witness.key.name !== name || witness.key.keyId !== id) continue;
      if (sig.length !== 4 + 8 + 64) throw new VerifyError(`the cosignature of witness ${witness.name} is malformed`);
      let timestamp = 0n;
      for (const b of sig.slice(4, 12)) timestamp = (timestamp << 8n) | BigInt(b);
      if (timestamp >= 1n << 63n) throw new VerifyError(`the cosignature of witness ${witness.name} is malformed`);
      const message = encoder.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);
      if (!(await ed25519Verify(witness.key.publicKey, sig.slice(12), message))) {
        throw new VerifyError(`the cosignature of witness ${witness.name} is invalid`);
      }
      found.add(witness.name);
    }
  }
  return found;
}

function memberMet(policy, member, cosigned) {
  if (member.witness !== undefined) return cosigned.has(policy.witnesses[member.witness].name);
  const group = policy.groups[member.group];
  return group.members.filter((m) => memberMet(policy, m, cosigned)).length >= group.threshold;
}

/**
 * Checks that `note` carries cosignatures meeting the policy's quorum. Returns the
 * names of the witnesses that cosigned; throws a VerifyError naming the missing ones.
 */
export async function requireQuorum(policy, note) {
  const cosigned = await cosigners(policy, note);
  const names = policy.witnesses.map((w) => w.name).filter((n) => cosigned.has(n));
  if (policy.quorum === null || memberMet(policy, policy.quorum, cosigned)) return names;
  const missing = policy.witnesses.map((w) => w.name).filter((n) => !cosigned.has(n));
  throw new VerifyError(
    `NOT WITNESSED: ${cosigned.size} of ${policy.witnesses.length} witnesses cosigned, too few for the ` +
      `policy's quorum; missing: ${missing.join(', ')}`);
}

// ---------- checkpoints and receipts (src/log/checkpoint.rs, receipt.rs) ----------

const ORIGIN = /^[A-Za-z0-9._/:-]{1,128}$/;

/** A checkpoint body: exactly `<origin>\n<size>\n<base64 root>\n`. */
export function parseCheckpointBody(body) {
  if (!body.endsWith('\n')) throw new VerifyError('the checkpoint body must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length !== 3) {
    throw new VerifyError('the checkpoint body must be exactly three lines: origin, size, root');
  }
  const [origin, sizeText, rootText] = lines;
  if (!ORIGIN.test(origin)) throw new VerifyError(`checkpoint origin ${JSON.stringify(origin)} is not valid`);
  const size = parseCanonicalU64(sizeText, 'checkpoint size');
  const root = b64decode(rootText, 'checkpoint root');
  if (root.length !== 32) throw new VerifyError('checkpoint root is not 32 bytes');
  return { origin, size, root };
}

/** Verifies a signed checkpoint with the pinned key, whose name must be the origin. */
export async function openCheckpoint(note, vkey) {
  const body = await openNote(note, vkey);
  const checkpoint = parseCheckpointBody(body);
  if (checkpoint.origin !== vkey.name) {
    throw new VerifyError(
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not the pinned key's name ${JSON.stringify(vkey.name)}`);
  }
  return { ...checkpoint, note };
}

/** Parses a C2SP tlog-proof receipt (not yet trusted). */
export function parseReceipt(text) {
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw new VerifyError('receipt: no blank line before the checkpoint');
  const head = text.slice(0, blank);
  const checkpointNote = text.slice(blank + 2);
  if (head.includes('\r')) throw new VerifyError('receipt: carriage return in proof');
  const lines = head.split('\n');
  let at = 0;
  if (lines[at++] !== RECEIPT_HEADER) throw new VerifyError(`receipt: first line must be ${RECEIPT_HEADER}`);
  if (lines[at] !== undefined && lines[at].startsWith('extra ')) at++;
  const indexLine = lines[at++];
  if (indexLine === undefined || !indexLine.startsWith('index ')) {
    throw new VerifyError('receipt: expected an index line');
  }
  const index = parseCanonicalU64(indexLine.slice('index '.length), 'receipt index');
  const proof = [];
  for (; at < lines.length; at++) {
    if (proof.length === MAX_PROOF_HASHES) throw new VerifyError('receipt: too many proof hashes');
    const hash = b64decode(lines[at], `receipt proof line ${at + 1}`);
    if (hash.length !== 32) throw new VerifyError(`receipt proof line ${at + 1} is not a SHA-256 hash`);
    proof.push(hash);
  }
  return { index, proof, checkpointNote };
}

// ---------- Merkle proofs (src/log/merkle.rs) ----------

/** Largest power of two strictly below n (n >= 2). */
function maxPow2Below(n) {
  let k = 1n;
  while (k * 2n < n) k *= 2n;
  return k;
}

async function runInclusion(proof, lo, hi, n, leaf) {
  if (lo + 1n === hi) return proof.length === 0 ? leaf : null;
  if (proof.length === 0) return null;
  const last = proof[proof.length - 1];
  const rest = proof.slice(0, -1);
  const k = maxPow2Below(hi - lo);
  if (n < lo + k) {
    const left = await runInclusion(rest, lo, lo + k, n, leaf);
    return left && nodeHash(left, last);
  }
  const right = await runInclusion(rest, lo + k, hi, n, leaf);
  return right && nodeHash(last, right);
}

/** Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`. */
export async function verifyInclusion(proof, size, root, index, leaf) {
  if (index >= size) throw new VerifyError(`entry ${index} is not in a tree of size ${size}`);
  const computed = await runInclusion(proof, 0n, size, index, leaf);
  if (computed === null) {
    throw new VerifyError(
      `the inclusion proof of entry ${index} has the wrong number of hashes (${proof.length}) for size ${size}`);
  }
  if (!bytesEqual(computed, root)) {
    throw new VerifyError(
      `root mismatch at size ${size}: the proof of entry ${index} leads to ${b64encode(computed)}, ` +
        `the signed checkpoint says ${b64encode(root)}`);
  }
}

async function runConsistency(proof, lo, hi, n, old) {
  if (n === hi) {
    if (lo === 0n) return proof.length === 0 ? [old, old] : null;
    return proof.length === 1 ? [proof[0], proof[0]] : null;
  }
  if (proof.length === 0) return null;
  const last = proof[proof.length - 1];
  const rest = proof.slice(0, -1);
  const k = maxPow2Below(hi - lo);
  if (n <= lo + k) {
    const inner = await runConsistency(rest, lo, lo + k, n, old);
    return inner && [inner[0], await nodeHash(inner[1], last)];
  }
  const inner = await runConsistency(rest, lo + k, hi, n, old);
  return inner && [await nodeHash(last, inner[0]), await nodeHash(last, inner[1])];
}

/** Checks that the tree (oldSize, oldRoot) is a prefix of (newSize, newRoot). */
export async function verifyConsistency(proof, oldSize, oldRoot, newSize, newRoot) {
  const what = `the consistency proof from size ${oldSize} to size ${newSize}`;
  if (oldSize > newSize) throw new VerifyError(`${what} goes backwards`);
  if (oldSize === 0n || oldSize === newSize) {
    if (proof.length === 0 && (oldSize === 0n || bytesEqual(oldRoot, newRoot))) return;
    throw new VerifyError(`${what} does not verify`);
  }
  const result = await runConsistency(proof, 0n, newSize, oldSize, oldRoot);
  if (result === null) throw new VerifyError(`${what} has the wrong number of hashes (${proof.length})`);
  if (!bytesEqual(result[0], oldRoot)) {
    throw new VerifyError(`${what} does not lead to the root you saw at size ${oldSize}`);
  }
  if (!bytesEqual(result[1], newRoot)) {
    throw new VerifyError(`${what} does not lead to the signed root at size ${newSize}`);
  }
}

// ---------- entries (src/log/canonical.rs) ----------

function canonical(value) {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) throw new VerifyError('the entry holds a non-integer number');
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
}

/** An entry's fields, after checking its bytes are the one canonical encoding of them. */
export function parseEntry(bytes) {
  let text;
  let value;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw new VerifyError('the entry is not UTF-8 JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new VerifyError('the entry is not a JSON object');
  }
  if (canonical(value) !== text) throw new VerifyError('the entry bytes are not in canonical form');
  return value;
}

// ---------- a donation's trace ----------

function expect(entry, field, wanted, seq) {
  if (entry[field] !== wanted) {
    throw new VerifyError(
      `entry ${seq} says ${field} ${JSON.stringify(entry[field])}, the trace says ${JSON.stringify(wanted)}`);
  }
}

/** The part of [aStart, aStart + aLen) inside [bStart, bStart + bLen): the allocation rule. */
export function overlap(aStart, aLen, bStart, bLen) {
  return Math.max(0, Math.min(aStart + aLen, bStart + bLen) - Math.max(aStart, bStart));
}

async function verifyStep(step, receiptText, entryBytes, checkpoint, trace, donationEntry) {
  if (receiptText === undefined) throw new VerifyError(`no receipt for entry ${step.seq}`);
  if (entryBytes === undefined) throw new VerifyError(`entry ${step.seq} could not be fetched`);
  const receipt = parseReceipt(receiptText);
  if (receipt.checkpointNote !== trace.checkpoint) {
    throw new VerifyError("the receipt's checkpoint is not the trace's signed checkpoint");
  }
  if (receipt.index !== BigInt(step.seq)) {
    throw new VerifyError(`the receipt is for entry ${receipt.index}, not entry ${step.seq}`);
  }
  await verifyInclusion(receipt.proof, checkpoint.size, checkpoint.root, receipt.index, await leafHash(entryBytes));
  // The entry is in the log; now check it says what the page says.
  const entry = parseEntry(entryBytes);
  expect(entry, 'seq', step.seq, step.seq);
  expect(entry, 'org', trace.org, step.seq);
  expect(entry, 'campaign', trace.campaign, step.seq);
  expect(entry, 'currency', trace.currency, step.seq);
  if (step.flow === undefined) {
    expect(entry, 'kind', 'donation.received', step.seq);
    expect(entry, 'donation', trace.donation, step.seq);
    expect(entry, 'net', trace.net, step.seq);
    return entry;
  }
  expect(entry, 'kind', 'disbursement.made', step.seq);
  expect(entry, 'disbursement', step.flow.disbursement, step.seq);
  expect(entry, 'beneficiary', step.flow.beneficiary, step.seq);
  if (!donationEntry) {
    throw new VerifyError("the amount cannot be checked: the donation's own entry did not verify");
  }
  const share = overlap(donationEntry.received_before, donationEntry.net, entry.disbursed_before, entry.amount);
  if (share !== step.flow.amount) {
    throw new VerifyError(
      `by the allocation rule this donation funded ${share} minor units of payout ` +
        `${entry.disbursement}, the trace says ${step.flow.amount}`);
  }
  return entry;
}

/**
 * Verifies every step of a trace (GET /v1/orgs/{org}/donations/{id}/trace): the signed
 * checkpoint against the pinned key, each receipt's inclusion proof for the entry's exact
 * bytes, and that each entry says what the trace says (including each amount, recomputed
 * with the allocation rule from the entries themselves).
 *
 * @param trace the trace JSON
 * @param entries Map of seq (number) to the entry's exact bytes (Uint8Array)
 * @param vkey a parsed verifier key (parseVerifierKey)
 * @param policy a parsed witness policy (parsePolicy) the checkpoint's cosignatures must meet, or null
 * @returns {{checkpoint, checkpointError, witnesses: string[]|null, steps: {seq, ok, reason}[]}}
 */
export async function verifyTrace(trace, entries, vkey, policy = null) {
  const steps = [{ seq: trace.seq }, ...trace.flows.map((flow) => ({ seq: flow.seq, flow }))];
  let checkpoint = null;
  let checkpointError = null;
  let witnesses = null;
  try {
    checkpoint = await openCheckpoint(trace.checkpoint, vkey);
    if (policy) {
      if (!policy.logs.some((log) => log.text === vkey.text)) {
        throw new VerifyError('the pinned witness policy does not list the pinned log key');
      }
      witnesses = await requireQuorum(policy, trace.checkpoint);
    }
  } catch (e) {
    checkpointError = e instanceof VerifyError ? e.message : String(e);
  }
  let donationEntry = null;
  const results = [];
  for (const step of steps) {
    if (checkpointError) {
      results.push({ seq: step.seq, ok: false, reason: checkpointError });
      continue;
    }
    try {
      const entry = await verifyStep(
        step, trace.receipts[String(step.seq)], entries.get(step.seq), checkpoint, trace, donationEntry);
      if (step.flow === undefined) donationEntry = entry;
      results.push({ seq: step.seq, ok: true, reason: null });
    } catch (e) {
      results.push({ seq: step.seq, ok: false, reason: e instanceof VerifyError ? e.message : String(e) });
    }
  }
  return { checkpoint, checkpointError, witnesses, steps: results };
}
