//! The RFC 6962 Merkle tree, stored as Go's sumdb/tlog "stored hashes": every complete
//! subtree's hash is stored once, at a dense index, about two per entry. A proof then
//! costs O(log n) hash reads and a restart reads O(log n) hashes instead of rehashing.
//!
//! Proof functions come in two halves so callers can do their reads in one batch: first
//! `*_indexes` lists the stored-hash indexes a proof needs, then the proof is assembled
//! from the hashes read at those indexes. The algorithms follow golang.org/x/mod/sumdb/tlog,
//! whose output is byte-compatible with RFC 6962 / RFC 9162 §2.1 audit and consistency paths.

use super::hash::{Hash, empty_root, node_hash};

/// Why a proof could not be built or did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MerkleError {
    #[error("leaf {index} is not inside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("consistency proof from size {old} to {new} is not defined")]
    BadSizes { old: u64, new: u64 },
    #[error("expected {expected} stored hashes, got {got}")]
    WrongHashCount { expected: usize, got: usize },
    #[error("inclusion proof does not lead to the tree root")]
    InvalidInclusionProof,
    #[error("consistency proof does not link the two tree roots")]
    InvalidConsistencyProof,
}

/// Index at which the hash of the subtree at `level` and position `n` is stored
/// (level 0 = leaves). Same numbering as Go's `tlog.StoredHashIndex`.
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    let mut n = n;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut i = 0u64;
    while n > 0 {
        i += n;
        n >>= 1;
    }
    i + u64::from(level)
}

/// Number of stored hashes for a tree of `size` leaves.
pub fn stored_hash_count(size: u64) -> u64 {
    if size == 0 {
        return 0;
    }
    let mut count = stored_hash_index(0, size - 1) + 1;
    let mut i = size - 1;
    while i & 1 != 0 {
        count += 1;
        i >>= 1;
    }
    count
}

/// The right edge of a tree: the hashes of its maximal complete subtrees, largest first.
/// Appending a leaf needs only this edge, so the sequencer keeps it in memory
/// (at most 64 hashes) and never reads the tree to append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// (level, hash) of each maximal complete subtree, left to right.
    subtrees: Vec<(u32, Hash)>,
}

impl Frontier {
    pub fn empty() -> Frontier {
        Frontier::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Stored-hash indexes of the frontier of a tree of `size` leaves, left to right.
    pub fn indexes(size: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                out.push(stored_hash_index(level, start >> level));
                start += 1u64 << level;
            }
        }
        out
    }

    /// The frontier's hashes with their stored-hash indexes, left to right.
    pub fn stored(&self) -> impl Iterator<Item = (u64, Hash)> + '_ {
        Frontier::indexes(self.size)
            .into_iter()
            .zip(self.subtrees.iter().map(|(_, hash)| *hash))
    }

    /// Rebuilds the frontier from the hashes stored at [`Frontier::indexes`]`(size)`.
    pub fn from_stored(size: u64, hashes: &[Hash]) -> Result<Frontier, MerkleError> {
        let levels: Vec<u32> = (0..64u32)
            .rev()
            .filter(|level| size & (1u64 << level) != 0)
            .collect();
        if levels.len() != hashes.len() {
            return Err(MerkleError::WrongHashCount {
                expected: levels.len(),
                got: hashes.len(),
            });
        }
        Ok(Frontier {
            size,
            subtrees: levels.into_iter().zip(hashes.iter().copied()).collect(),
        })
    }

    /// Appends one leaf and returns the stored hashes it creates, as
    /// `(first index, hashes)`: the leaf hash, then one hash per subtree it completes.
    pub fn append(&mut self, leaf: Hash) -> (u64, Vec<Hash>) {
        let first_index = stored_hash_index(0, self.size);
        let mut created = vec![leaf];
        let mut carry = (0u32, leaf);
        while let Some(&(level, left)) = self.subtrees.last() {
            if level != carry.0 {
                break;
            }
            self.subtrees.pop();
            carry = (level + 1, node_hash(&left, &carry.1));
            created.push(carry.1);
        }
        self.subtrees.push(carry);
        self.size += 1;
        (first_index, created)
    }

    /// RFC 6962 root: the frontier's subtrees combined right to left.
    pub fn root(&self) -> Hash {
        let mut iter = self.subtrees.iter().rev();
        let Some(&(_, mut root)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            root = node_hash(left, &root);
        }
        root
    }
}

/// Largest power of two strictly less than `n` (n ≥ 2), with its log₂.
fn max_pow2_below(n: u64) -> (u64, u32) {
    let mut level = 0u32;
    // Above 2^63 the answer is 2^63: stop there, before `1 << 64` overflows (a size
    // that large only comes from a checkpoint a misbehaving log signed).
    while level < 63 && (1u64 << (level + 1)) < n {
        level += 1;
    }
    (1u64 << level, level)
}

/// Indexes of the maximal complete subtrees covering leaves `[lo, hi)`, left to right.
fn subtree_indexes(mut lo: u64, hi: u64, need: &mut Vec<u64>) {
    while lo < hi {
        let (k, level) = max_pow2_below(hi - lo + 1);
        debug_assert_eq!(lo & (k - 1), 0, "subtree must be aligned");
        need.push(stored_hash_index(level, lo >> level));
        lo += k;
    }
}

/// Combines the stored hashes of the maximal subtrees of `[lo, hi)` into its hash,
/// consuming them from the front of `hashes`.
fn subtree_hash(mut lo: u64, hi: u64, hashes: &mut &[Hash]) -> Result<Hash, MerkleError> {
    let mut count = 0usize;
    while lo < hi {
        let (k, _) = max_pow2_below(hi - lo + 1);
        count += 1;
        lo += k;
    }
    if hashes.len() < count || count == 0 {
        return Err(MerkleError::WrongHashCount {
            expected: count,
            got: hashes.len(),
        });
    }
    let (parts, rest) = hashes.split_at(count);
    *hashes = rest;
    let mut h = parts[count - 1];
    for left in parts[..count - 1].iter().rev() {
        h = node_hash(left, &h);
    }
    Ok(h)
}

/// Stored-hash indexes needed to prove leaf `index` is in the tree of `size` leaves.
pub fn inclusion_proof_indexes(size: u64, index: u64) -> Result<Vec<u64>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut need = Vec::new();
    leaf_proof_indexes(0, size, index, &mut need);
    Ok(need)
}

fn leaf_proof_indexes(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) {
    if lo + 1 == hi {
        return;
    }
    let (k, _) = max_pow2_below(hi - lo);
    if n < lo + k {
        leaf_proof_indexes(lo, lo + k, n, need);
        subtree_indexes(lo + k, hi, need);
    } else {
        subtree_indexes(lo, lo + k, need);
        leaf_proof_indexes(lo + k, hi, n, need);
    }
}

/// Builds the audit path (leaf to root order) from the hashes read at
/// [`inclusion_proof_indexes`].
pub fn inclusion_proof(size: u64, index: u64, hashes: &[Hash]) -> Result<Vec<Hash>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut rest = hashes;
    let proof = leaf_proof(0, size, index, &mut rest)?;
    if !rest.is_empty() {
        return Err(MerkleError::WrongHashCount {
            expected: hashes.len() - rest.len(),
            got: hashes.len(),
        });
    }
    Ok(proof)
}

fn leaf_proof(lo: u64, hi: u64, n: u64, hashes: &mut &[Hash]) -> Result<Vec<Hash>, MerkleError> {
    if lo + 1 == hi {
        return Ok(Vec::new());
    }
    let (k, _) = max_pow2_below(hi - lo);
    let (mut proof, sibling) = if n < lo + k {
        let p = leaf_proof(lo, lo + k, n, hashes)?;
        (p, subtree_hash(lo + k, hi, hashes)?)
    } else {
        let sibling = subtree_hash(lo, lo + k, hashes)?;
        (leaf_proof(lo + k, hi, n, hashes)?, sibling)
    };
    proof.push(sibling);
    Ok(proof)
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with root `root`.
pub fn verify_inclusion(
    proof: &[Hash],
    size: u64,
    root: &Hash,
    index: u64,
    leaf: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    match run_inclusion(proof, 0, size, index, leaf) {
        Some(computed) if computed == *root => Ok(()),
        _ => Err(MerkleError::InvalidInclusionProof),
    }
}

fn run_inclusion(proof: &[Hash], lo: u64, hi: u64, n: u64, leaf: &Hash) -> Option<Hash> {
    if lo + 1 == hi {
        return proof.is_empty().then_some(*leaf);
    }
    let (last, rest) = proof.split_last()?;
    let (k, _) = max_pow2_below(hi - lo);
    if n < lo + k {
        Some(node_hash(&run_inclusion(rest, lo, lo + k, n, leaf)?, last))
    } else {
        Some(node_hash(last, &run_inclusion(rest, lo + k, hi, n, leaf)?))
    }
}

/// Whether a consistency proof between these sizes is a non-empty list of hashes.
/// DESIGN.md: from = 0 or from = to gives `[]`; from > to is an error.
fn check_consistency_sizes(old: u64, new: u64) -> Result<bool, MerkleError> {
    if old > new {
        return Err(MerkleError::BadSizes { old, new });
    }
    Ok(old != 0 && old != new)
}

/// Stored-hash indexes needed to prove the tree of `old` leaves is a prefix of `new`.
pub fn consistency_proof_indexes(old: u64, new: u64) -> Result<Vec<u64>, MerkleError> {
    let mut need = Vec::new();
    if check_consistency_sizes(old, new)? {
        tree_proof_indexes(0, new, old, &mut need);
    }
    Ok(need)
}

fn tree_proof_indexes(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) {
    if n == hi {
        if lo != 0 {
            subtree_indexes(lo, hi, need);
        }
        return;
    }
    let (k, _) = max_pow2_below(hi - lo);
    if n <= lo + k {
        tree_proof_indexes(lo, lo + k, n, need);
        subtree_indexes(lo + k, hi, need);
    } else {
        subtree_indexes(lo, lo + k, need);
        tree_proof_indexes(lo + k, hi, n, need);
    }
}

/// Builds the consistency proof from the hashes read at [`consistency_proof_indexes`].
pub fn consistency_proof(old: u64, new: u64, hashes: &[Hash]) -> Result<Vec<Hash>, MerkleError> {
    if !check_consistency_sizes(old, new)? {
        return Ok(Vec::new());
    }
    let mut rest = hashes;
    let proof = tree_proof(0, new, old, &mut rest)?;
    if !rest.is_empty() {
        return Err(MerkleError::WrongHashCount {
            expected: hashes.len() - rest.len(),
            got: hashes.len(),
        });
    }
    Ok(proof)
}

fn tree_proof(lo: u64, hi: u64, n: u64, hashes: &mut &[Hash]) -> Result<Vec<Hash>, MerkleError> {
    if n == hi {
        if lo == 0 {
            return Ok(Vec::new());
        }
        return Ok(vec![subtree_hash(lo, hi, hashes)?]);
    }
    let (k, _) = max_pow2_below(hi - lo);
    let (mut proof, sibling) = if n <= lo + k {
        let p = tree_proof(lo, lo + k, n, hashes)?;
        (p, subtree_hash(lo + k, hi, hashes)?)
    } else {
        let sibling = subtree_hash(lo, lo + k, hashes)?;
        (tree_proof(lo + k, hi, n, hashes)?, sibling)
    };
    proof.push(sibling);
    Ok(proof)
}

/// Verifies that the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`).
pub fn verify_consistency(
    proof: &[Hash],
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
) -> Result<(), MerkleError> {
    if !check_consistency_sizes(old_size, new_size)? {
        let ok = proof.is_empty() && (old_size == 0 || old_root == new_root);
        return if ok {
            Ok(())
        } else {
            Err(MerkleError::InvalidConsistencyProof)
        };
    }
    match run_consistency(proof, 0, new_size, old_size, old_root) {
        Some((old, new)) if old == *old_root && new == *new_root => Ok(()),
        _ => Err(MerkleError::InvalidConsistencyProof),
    }
}

fn run_consistency(proof: &[Hash], lo: u64, hi: u64, n: u64, old: &Hash) -> Option<(Hash, Hash)> {
    if n == hi {
        if lo == 0 {
            return proof.is_empty().then_some((*old, *old));
        }
        return (proof.len() == 1).then(|| (proof[0], proof[0]));
    }
    let (last, rest) = proof.split_last()?;
    let (k, _) = max_pow2_below(hi - lo);
    if n <= lo + k {
        let (old_hash, tree_hash) = run_consistency(rest, lo, lo + k, n, old)?;
        Some((old_hash, node_hash(&tree_hash, last)))
    } else {
        let (old_hash, tree_hash) = run_consistency(rest, lo + k, hi, n, old)?;
        Some((node_hash(last, &old_hash), node_hash(last, &tree_hash)))
    }
}

/// Root of `[0, size)` straight from the stored hashes at [`Frontier::indexes`]`(size)`;
/// used to find the root of an older tree size without replaying the log.
pub fn root_from_stored(size: u64, hashes: &[Hash]) -> Result<Hash, MerkleError> {
    Ok(Frontier::from_stored(size, hashes)?.root())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use std::collections::HashMap;

    /// The RFC 6962 definition of the tree hash, computed recursively from the leaves:
    /// the oracle the stored-hash algorithms are checked against.
    pub fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let (k, _) = max_pow2_below(n as u64);
                let k = k as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    pub struct MemoryTree {
        pub frontier: Frontier,
        pub stored: HashMap<u64, Hash>,
        pub leaves: Vec<Hash>,
    }

    impl MemoryTree {
        pub fn new() -> Self {
            MemoryTree {
                frontier: Frontier::empty(),
                stored: HashMap::new(),
                leaves: Vec::new(),
            }
        }
        pub fn push(&mut self, leaf: Hash) {
            let (first, created) = self.frontier.append(leaf);
            for (i, h) in created.into_iter().enumerate() {
                assert!(self.stored.insert(first + i as u64, h).is_none());
            }
            self.leaves.push(leaf);
        }
        pub fn read(&self, indexes: &[u64]) -> Vec<Hash> {
            indexes.iter().map(|i| self.stored[i]).collect()
        }
    }

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(format!("leaf {i}").as_bytes()));
        }
        t
    }

    #[test]
    fn stored_hash_indexes_match_go_tlog() {
        // Values from the stored-hash numbering documented in Go's tlog.go.
        assert_eq!(stored_hash_index(0, 0), 0);
        assert_eq!(stored_hash_index(0, 1), 1);
        assert_eq!(stored_hash_index(1, 0), 2);
        assert_eq!(stored_hash_index(0, 2), 3);
        assert_eq!(stored_hash_index(0, 3), 4);
        assert_eq!(stored_hash_index(1, 1), 5);
        assert_eq!(stored_hash_index(2, 0), 6);
        assert_eq!(stored_hash_index(0, 4), 7);
        for n in 0..300u64 {
            assert_eq!(tree(n).stored.len() as u64, stored_hash_count(n));
        }
    }

    #[test]
    fn roots_and_proofs_agree_with_the_reference_for_every_size() {
        let big = tree(70);
        for size in 0..=70u64 {
            let leaves = &big.leaves[..size as usize];
            let root = reference_root(leaves);
            let frontier =
                Frontier::from_stored(size, &big.read(&Frontier::indexes(size))).unwrap();
            assert_eq!(frontier.root(), root, "size {size}");
            for index in 0..size {
                let need = inclusion_proof_indexes(size, index).unwrap();
                let proof = inclusion_proof(size, index, &big.read(&need)).unwrap();
                verify_inclusion(&proof, size, &root, index, &leaves[index as usize]).unwrap();
                let other = leaf_hash(b"not this leaf");
                assert!(verify_inclusion(&proof, size, &root, index, &other).is_err());
            }
            for old in 0..=size {
                let old_root = reference_root(&big.leaves[..old as usize]);
                let need = consistency_proof_indexes(old, size).unwrap();
                let proof = consistency_proof(old, size, &big.read(&need)).unwrap();
                verify_consistency(&proof, old, &old_root, size, &root).unwrap();
                if old > 0 && old < size {
                    let mut bad = proof.clone();
                    bad[0].0[0] ^= 1;
                    assert!(verify_consistency(&bad, old, &old_root, size, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn consistency_sizes_follow_the_design() {
        assert_eq!(consistency_proof_indexes(0, 5).unwrap(), Vec::<u64>::new());
        assert_eq!(consistency_proof_indexes(5, 5).unwrap(), Vec::<u64>::new());
        assert_eq!(
            consistency_proof_indexes(6, 5),
            Err(MerkleError::BadSizes { old: 6, new: 5 })
        );
        assert_eq!(
            inclusion_proof_indexes(5, 5),
            Err(MerkleError::IndexOutOfRange { index: 5, size: 5 })
        );
    }

    #[test]
    fn proofs_cost_logarithmic_reads() {
        let size = 1u64 << 40;
        for index in [0, 1, size / 3, size - 1] {
            assert!(inclusion_proof_indexes(size, index).unwrap().len() <= 41);
        }
        assert!(consistency_proof_indexes(size / 3, size).unwrap().len() <= 2 * 41);
    }
}
