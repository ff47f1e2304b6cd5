//! A donor's receipt file: one download that proves a donation is in the log, checked
//! offline by `pennytrail-verify receipt FILE --key KEY`. It holds the entry's exact
//! bytes, one LF, then the C2SP tlog-proof
//! ([`crate::log::receipt::receipt_file`]), against the latest checkpoint; on a
//! witnessed log, against the latest checkpoint the witness quorum cosigned that
//! includes the entry, so the receipt is the same for everyone who checks it.

use super::ReadError;
use super::donations::find_donation;
use super::entries::receipt;
use super::witnessed::latest_witnessed;
use crate::log::policy::Policy;
use crate::log::receipt::receipt_file;
use crate::store::{Store, StoreError};

/// The receipt file of donation `id` of `org`, and the file name to save it under.
///
/// # Errors
/// No such donation; on a witnessed log, no witnessed checkpoint includes it yet; a store
/// failure.
pub async fn donation_receipt(
    store: &Store,
    policy: Option<&Policy>,
    org: &str,
    id: &str,
) -> Result<(Vec<u8>, String), ReadError> {
    let seq = find_donation(store, org, id).await?.seq;
    let checkpoint = match policy {
        Some(policy) => latest_witnessed(store, policy, seq + 1)
            .await?
            .ok_or_else(|| {
                ReadError::NotWitnessedYet(format!(
                    "the witnesses have not yet cosigned a checkpoint that includes donation \
                     {id:?} (entry {seq}); its receipt is ready within seconds, retry shortly"
                ))
            })?
            .into_stored(),
        None => store.latest_checkpoint().await?,
    };
    let bytes = store
        .entry(seq)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("entry {seq} of donation {id:?} is missing")))?;
    let proof = receipt(store, seq, &checkpoint).await?;
    Ok((
        receipt_file(&bytes, &proof),
        format!("pennytrail-receipt-{org}-{id}.txt"),
    ))
}
