//! Criterion benches for the log's hot pure functions: leaf hash, tree update (frontier
//! append), inclusion proof from stored hashes, checkpoint sign and verify, canonical
//! encoding and parsing of an entry. Run: `cargo bench --bench log`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pennytrail::log::canonical;
use pennytrail::log::checkpoint::Checkpoint;
use pennytrail::log::hash::{Hash, leaf_hash};
use pennytrail::log::merkle::{
    Frontier, inclusion_proof, inclusion_proof_indexes, stored_hash_count, verify_inclusion,
};
use pennytrail::log::note::NoteSigner;
use serde_json::{Map, Value, json};

/// A typical donation entry (~300 bytes canonical), as the sequencer writes it.
fn donation_entry() -> Map<String, Value> {
    let value = json!({
        "v": 1,
        "seq": 123_456_789,
        "time": "2026-11-24T01:02:03.456Z",
        "prev": "a179f3cc1d6efc1a02984afd2392855565d6e5c2bea6f2318c9de9ad2c0b55e0",
        "kind": "donation.received",
        "org": "school-meals-nl",
        "campaign": "lunch-2026",
        "donation": "d-2026-11-24-000123456",
        "amount": 50,
        "fee": 2,
        "currency": "EUR",
        "channel": "card",
        "donor": "5aad7e80d383345c21b6742978e33e846821ac7a60c3e41ccdc89d8d4cd605ef",
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// Every stored hash of a tree of `size` leaves, indexed as the store keeps them.
fn stored_tree(size: u64) -> Vec<Hash> {
    let mut stored = vec![Hash([0; 32]); stored_hash_count(size) as usize];
    let mut frontier = Frontier::empty();
    for i in 0..size {
        let (first, created) = frontier.append(leaf_hash(&i.to_be_bytes()));
        for (k, h) in created.into_iter().enumerate() {
            stored[first as usize + k] = h;
        }
    }
    stored
}

fn hashing(c: &mut Criterion) {
    let entry = canonical::encode(&donation_entry()).unwrap();
    let mut group = c.benchmark_group("hash");
    group.throughput(Throughput::Elements(1));
    group.bench_function("leaf_hash (300-byte entry)", |b| {
        b.iter(|| leaf_hash(black_box(&entry)))
    });
    let mut frontier = Frontier::empty();
    let leaf = leaf_hash(&entry);
    group.bench_function("frontier append (tree update)", |b| {
        b.iter(|| frontier.append(black_box(leaf)))
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    const SIZE: u64 = 1 << 20;
    let stored = stored_tree(SIZE);
    let root = {
        let mut f = Frontier::empty();
        for i in 0..SIZE {
            f.append(leaf_hash(&i.to_be_bytes()));
        }
        f.root()
    };
    let mut group = c.benchmark_group("proof");
    group.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    group.bench_function("inclusion proof, 1M-leaf tree", |b| {
        b.iter(|| {
            n = (n + 7919) % SIZE;
            let indexes = inclusion_proof_indexes(SIZE, n).unwrap();
            let hashes: Vec<Hash> = indexes.iter().map(|i| stored[*i as usize]).collect();
            inclusion_proof(SIZE, n, &hashes).unwrap()
        })
    });
    let index = 123_457;
    let indexes = inclusion_proof_indexes(SIZE, index).unwrap();
    let hashes: Vec<Hash> = indexes.iter().map(|i| stored[*i as usize]).collect();
    let proof = inclusion_proof(SIZE, index, &hashes).unwrap();
    let leaf = leaf_hash(&index.to_be_bytes());
    group.bench_function("verify inclusion, 1M-leaf tree", |b| {
        b.iter(|| verify_inclusion(black_box(&proof), SIZE, &root, index, &leaf).unwrap())
    });
    group.finish();
}

fn checkpoints(c: &mut Criterion) {
    let signer = NoteSigner::from_seed("bench.pennytrail.example/log", [7; 32]).unwrap();
    let checkpoint = Checkpoint {
        origin: "bench.pennytrail.example/log".into(),
        size: 10_000_000,
        root: leaf_hash(b"root"),
    };
    let note = checkpoint.sign(&signer).unwrap();
    let mut group = c.benchmark_group("checkpoint");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign", |b| b.iter(|| checkpoint.sign(&signer).unwrap()));
    group.bench_function("open (parse and verify)", |b| {
        b.iter(|| Checkpoint::open(black_box(&note), signer.verifier()).unwrap())
    });
    group.finish();
}

fn canonical_encoding(c: &mut Criterion) {
    let entry = donation_entry();
    let bytes = canonical::encode(&entry).unwrap();
    let mut group = c.benchmark_group("canonical");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("encode donation entry", |b| {
        b.iter(|| canonical::encode(black_box(&entry)).unwrap())
    });
    group.bench_function("parse and check donation entry", |b| {
        b.iter(|| canonical::parse_canonical(black_box(&bytes)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, hashing, proofs, checkpoints, canonical_encoding);
criterion_main!(benches);
