// Unit tests of the explorer's in-browser verifier (src/explorer/assets/verify.js), run by
// Node's own test runner (`node --test tests/e2e/verify.test.mjs`; tests/integration/explorer.rs runs
// it). They prove, without a browser:
// - signed notes open exactly as Go's golang.org/x/mod/sumdb/note says (the known-answer
//   vectors in tests/interop/vectors.json, which the Rust code is held to as well), and
//   verifier keys parse or are refused as Go's do;
// - leaf hashes match Go's tlog.RecordHash known answer;
// - inclusion and consistency proofs built from the RFC 6962 definitions (PATH and PROOF,
//   §2.1.1-2.1.2, written out independently below) verify for every index and size up to
//   40 leaves, and every single flipped bit, wrong index or wrong size is refused;
// - receipts, checkpoint bodies and entries are parsed as strictly as in Rust.
// The receipts the Rust service itself produces are verified by tests/e2e/explorer.mjs.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as v from '../../src/explorer/assets/verify.js';

const vectors = JSON.parse(readFileSync(new URL('../interop/vectors.json', import.meta.url), 'utf8'));
const enc = new TextEncoder();

test('verifier keys parse as in Go, and a wrong id or shape is refused', async () => {
  for (const example of vectors.verifier_key_examples) {
    if (!example.verifier_key) continue;
    if (example.valid) {
      const key = await v.parseVerifierKey(example.verifier_key);
      assert.equal(key.text, example.verifier_key);
    } else {
      await assert.rejects(v.parseVerifierKey(example.verifier_key), v.VerifyError);
    }
  }
  const good = vectors.verifier_key_examples[0].verifier_key;
  const [name, id, key] = good.split('+');
  for (const bad of [`${name}+${id.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}+${key}`,
    `${name}+${id}`, `+${id}+${key}`, `${name} x+${id}+${key}`, `${name}+${id}+${key}x`]) {
    await assert.rejects(v.parseVerifierKey(bad), v.VerifyError, bad);
  }
});

test("signed notes open as Go's note.Open says (vectors.json)", async () => {
  let opened = 0;
  let refused = 0;
  for (const example of vectors.note_examples) {
    // A verifier list with duplicates is ambiguous in Go; a single pinned key has no list.
    if (example.operation !== 'open' || example.id === 'open_duplicated_verifier') continue;
    if (example.verifier_keys.length === 0) continue;
    let note;
    try {
      note = example.signed_note ?? new TextDecoder('utf-8', { fatal: true })
        .decode(Uint8Array.from(Buffer.from(example.signed_note_hex, 'hex')));
    } catch {
      assert.equal(example.valid, false, `${example.id}: only invalid notes are not UTF-8`);
      refused += 1;
      continue;
    }
    const keys = await Promise.all(example.verifier_keys.map((k) => v.parseVerifierKey(k)));
    if (example.valid) {
      const results = await Promise.allSettled(keys.map((k) => v.openNote(note, k)));
      const texts = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
      assert.ok(texts.length > 0, `${example.id}: some key opens it`);
      for (const text of texts) {
        assert.equal(text, note.slice(0, note.lastIndexOf('\n\n') + 1), example.id);
        if (example.expect_text) assert.equal(text, example.expect_text, example.id);
      }
      opened += 1;
    } else {
      for (const key of keys) {
        await assert.rejects(v.openNote(note, key), (e) => {
          assert.ok(e instanceof v.VerifyError, `${example.id}: ${e}`);
          if (example.expect_error.startsWith('invalid signature')) {
            assert.match(e.message, /^signature invalid for key PeterNeumann\+c74f20a3$/);
          }
          return true;
        }, example.id);
      }
      refused += 1;
    }
  }
  assert.ok(opened >= 4 && refused >= 8, `opened ${opened}, refused ${refused}`);
});

test("leaf hashes match Go's tlog.RecordHash", async () => {
  const known = vectors.tlog_known_answers.find((k) => k.id === 'record_hash_hello_world');
  assert.equal(v.b64encode(await v.leafHash(enc.encode(known.record))), known.record_hash_base64);
});

// ---- RFC 6962 §2.1, written out from the RFC, independently of verify.js ----

async function sha(...parts) {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

/** k: the largest power of two smaller than n. */
function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const MAX_LEAVES = 40;
const data = Array.from({ length: MAX_LEAVES + 1 }, (_, i) => enc.encode(`entry ${i}`));
const mthCache = new Map();

/** MTH(D[lo:hi]), memoised: the RFC's recursion over the leaves `data[lo..hi)`. */
async function mth(lo, hi) {
  const key = `${lo}:${hi}`;
  if (!mthCache.has(key)) {
    let hash;
    if (hi === lo) hash = await sha();
    else if (hi - lo === 1) hash = await sha(Uint8Array.of(0), data[lo]);
    else {
      const k = split(hi - lo);
      hash = await sha(Uint8Array.of(1), await mth(lo, lo + k), await mth(lo + k, hi));
    }
    mthCache.set(key, hash);
  }
  return mthCache.get(key);
}

/** PATH(m, D[lo:hi]): the audit path of leaf lo + m, its sibling first. */
async function path(m, lo, hi) {
  if (hi - lo <= 1) return [];
  const k = split(hi - lo);
  if (m < k) return [...(await path(m, lo, lo + k)), await mth(lo + k, hi)];
  return [...(await path(m - k, lo + k, hi)), await mth(lo, lo + k)];
}

/** SUBPROOF(m, D[lo:hi], b); PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). */
async function subproof(m, lo, hi, b) {
  if (m === hi - lo) return b ? [] : [await mth(lo, hi)];
  const k = split(hi - lo);
  if (m <= k) return [...(await subproof(m, lo, lo + k, b)), await mth(lo + k, hi)];
  return [...(await subproof(m - k, lo + k, hi, false)), await mth(lo, lo + k)];
}

function flipped(proof, i, bit) {
  const copy = proof.map((h) => h.slice());
  copy[i][bit >> 3] ^= 1 << (bit & 7);
  return copy;
}

test('inclusion proofs verify for every index and size, and every tampering is refused', async () => {
  let checked = 0;
  for (let n = 1; n <= MAX_LEAVES; n++) {
    const root = await mth(0, n);
    for (let m = 0; m < n; m++) {
      const leaf = await v.leafHash(data[m]);
      const proof = await path(m, 0, n);
      await v.verifyInclusion(proof, BigInt(n), root, BigInt(m), leaf);
      for (let i = 0; i < proof.length; i++) {
        await assert.rejects(v.verifyInclusion(flipped(proof, i, (m * 7 + i) % 256), BigInt(n), root, BigInt(m), leaf),
          /root mismatch at size/);
      }
      await assert.rejects(v.verifyInclusion(proof, BigInt(n), root, BigInt(m), await v.leafHash(enc.encode('x'))),
        /root mismatch/);
      if (n > 1) {
        await assert.rejects(v.verifyInclusion(proof, BigInt(n), root, BigInt((m + 1) % n), leaf), v.VerifyError);
      }
      // Against the next tree's root (the size comes from the signed checkpoint, so a
      // proof is only ever checked against the root signed for that size).
      await assert.rejects(v.verifyInclusion(proof, BigInt(n + 1), await mth(0, n + 1), BigInt(m), leaf),
        v.VerifyError);
      await assert.rejects(v.verifyInclusion(proof, BigInt(n), root, BigInt(n), leaf), /not in a tree of size/);
      checked += 1;
    }
  }
  assert.equal(checked, (MAX_LEAVES * (MAX_LEAVES + 1)) / 2);
});

test('consistency proofs verify for every pair of sizes, and every tampering is refused', async () => {
  const roots = [];
  for (let n = 0; n <= MAX_LEAVES; n++) roots.push(await mth(0, n));
  let checked = 0;
  for (let n = 1; n <= MAX_LEAVES; n++) {
    for (let m = 0; m <= n; m++) {
      const proof = m === 0 ? [] : await subproof(m, 0, n, true);
      await v.verifyConsistency(proof, BigInt(m), roots[m], BigInt(n), roots[n]);
      for (let i = 0; i < proof.length; i++) {
        await assert.rejects(v.verifyConsistency(flipped(proof, i, (n + i) % 256), BigInt(m), roots[m], BigInt(n), roots[n]),
          v.VerifyError);
      }
      if (m > 0 && m < n) {
        await assert.rejects(v.verifyConsistency(proof, BigInt(m), roots[m - 1], BigInt(n), roots[n]), v.VerifyError);
        await assert.rejects(v.verifyConsistency(proof, BigInt(m), roots[m], BigInt(n), roots[n - 1]), v.VerifyError);
        await assert.rejects(v.verifyConsistency(proof.slice(1), BigInt(m), roots[m], BigInt(n), roots[n]), v.VerifyError);
      }
      checked += 1;
    }
  }
  await assert.rejects(v.verifyConsistency([], 2n, roots[2], 1n, roots[1]), /goes backwards/);
  await assert.rejects(v.verifyConsistency([], 3n, roots[3], 3n, roots[2]), v.VerifyError);
  assert.equal(checked, (MAX_LEAVES * (MAX_LEAVES + 3)) / 2);
});

test('receipts, checkpoint bodies and entries parse strictly', () => {
  const hash = v.b64encode(new Uint8Array(32).fill(7));
  const note = 'o\n1\n' + hash + '\n\n\u2014 o AAAAAAA=\n';
  const receipt = `c2sp.org/tlog-proof@v1\nindex 3\n${hash}\n${hash}\n\n${note}`;
  const parsed = v.parseReceipt(receipt);
  assert.equal(parsed.index, 3n);
  assert.equal(parsed.proof.length, 2);
  assert.equal(parsed.checkpointNote, note);
  assert.equal(v.parseReceipt(receipt.replace('index', 'extra AAAA\nindex')).index, 3n);
  for (const bad of [
    receipt.replace('index 3', 'index 03'),
    receipt.replace('@v1', '@v2'),
    receipt.replace(/\n/g, '\r\n'),
    receipt.replace('\n\n', '\n'),
    receipt.replace(hash, hash.slice(0, -2) + 'd='), // non-zero padding bits: not canonical
    receipt.replace(hash, 'AAAA'),
  ]) {
    assert.throws(() => v.parseReceipt(bad), v.VerifyError, JSON.stringify(bad));
  }
  assert.equal(v.parseCheckpointBody(`o\n10\n${hash}\n`).size, 10n);
  for (const bad of [`o\n010\n${hash}\n`, `o\n1\n${hash}\nextra\n`, `o\n1\n${hash}`, `o o\n1\n${hash}\n`, 'o\n1\nAAAA\n']) {
    assert.throws(() => v.parseCheckpointBody(bad), v.VerifyError, JSON.stringify(bad));
  }
  assert.deepEqual(v.parseEntry(enc.encode('{"a":[1,"x\\n"],"b":-2}')), { a: [1, 'x\n'], b: -2 });
  for (const bad of ['{"b":1,"a":2}', '{"a": 1}', '{"a":1.5}', '{"a":1,"a":1}', '{"a":"\\u0041"}', '[1]', '{"a":-0}']) {
    assert.throws(() => v.parseEntry(enc.encode(bad)), v.VerifyError, bad);
  }
  assert.equal(v.overlap(0, 10, 5, 10), 5);
  assert.equal(v.overlap(0, 10, 10, 5), 0);
});

// Witness cosignatures and policies, held to what Rust says of the same notes
// (tests/e2e/witness-vectors.json, written and checked by pennytrail-log's policy tests).
const witnessVectors = JSON.parse(readFileSync(new URL('./witness-vectors.json', import.meta.url), 'utf8'));

test('witness policies and cosignatures are judged as in Rust (witness-vectors.json)', async () => {
  const vkey = await v.parseVerifierKey(witnessVectors.log_key);
  assert.equal(witnessVectors.cases.length, 16);
  for (const c of witnessVectors.cases) {
    const policy = await v.parsePolicy(c.policy);
    assert.ok(policy.logs.some((log) => log.text === vkey.text), c.what);
    await v.openCheckpoint(c.note, vkey);
    if (c.ok) {
      assert.deepEqual(await v.requireQuorum(policy, c.note), c.cosigned, c.what);
    } else {
      await assert.rejects(v.requireQuorum(policy, c.note), v.VerifyError, c.what);
    }
  }
  for (const key of witnessVectors.witness_keys) {
    assert.equal((await v.parseCosignerKey(key)).text, key);
    await assert.rejects(v.parseVerifierKey(key), v.VerifyError, 'a witness key is not a log key');
    await assert.rejects(v.parseCosignerKey(key.replace(/\+([0-9a-f])/, (m, c) => `+${c === '0' ? '1' : '0'}`)),
      v.VerifyError, 'a wrong key id');
  }
});

test('a missing witness is named, and bad policies name their line', async () => {
  const both = witnessVectors.cases.find((c) => c.what === 'quorum both, note w1');
  const policy = await v.parsePolicy(both.policy);
  await assert.rejects(v.requireQuorum(policy, both.note), /NOT WITNESSED: 1 of 2 witnesses .*missing: W2/);
  const [w1] = witnessVectors.witness_keys;
  for (const [text, says] of [
    ['log x\nquorum none\n', /policy line 1: the log key/],
    [`witness W1 ${w1}\nquorum W2\n`, /policy line 2: quorum W2: not a witness or group defined above/],
    [`witness W1 ${w1}\ngroup g 2 W1\nquorum g\n`, /policy line 2: group g: the threshold/],
    [`witness W1 ${w1}\ngroup g any W1 W1\nquorum g\n`, /policy line 2: a member is listed twice/],
    [`witness none ${w1}\nquorum none\n`, /policy line 1: none is reserved/],
    [`witness W1 ${w1}\nquorum none\nquorum W1\n`, /policy line 3: a second quorum line/],
    [`witness W1 ${w1}\n`, /no quorum line/],
    ['frobnicate\nquorum none\n', /policy line 1: unknown line type/],
  ]) {
    await assert.rejects(v.parsePolicy(text), says, text);
  }
});
