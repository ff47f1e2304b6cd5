//! What a passed verification prints: the log verified, its charities and money, and
//! for the monitor how this run's checkpoint follows the one verified before.

use std::path::Path;

use pennytrail_bundle::monitor::Continuity;
use pennytrail_bundle::verify::VerifyReport;
use pennytrail_ledger::money::format_in;
use pennytrail_log::checkpoint::Checkpoint;

use crate::outln;

/// The summary of a verified log: entries and root, counts, and per currency what was
/// received and where it went.
///
/// # Errors
/// When stdout is gone ([`crate::output::OutputClosed`]).
pub fn print_summary(report: &VerifyReport) -> anyhow::Result<()> {
    let s = &report.summary;
    outln!(
        "ok: {} entries of {} verified against its signed checkpoint (root {})",
        s.entries,
        report.checkpoint.origin,
        report.checkpoint.root.to_base64()
    );
    outln!(
        "   {} charities, {} campaigns, {} donations, {} disbursements",
        s.orgs,
        s.campaigns,
        s.donations,
        s.disbursements
    );
    outln!(
        "   {} signed reports, every figure recomputed; {} disbursements acknowledged and {} disputed by their beneficiaries' own signatures",
        s.reports,
        s.acknowledged,
        s.disputed
    );
    for (currency, t) in &s.by_currency {
        // Shares in tenths of a percent, computed in integers.
        let share = |part: i128| if t.net > 0 { part * 1000 / t.net } else { 0 };
        let money = |minor: i128| format_in(currency, minor);
        let disbursed = share(t.disbursed);
        outln!(
            "   {currency}: received {} (fees {}, net {}), disbursed {} = {}.{}% of net, all to stated beneficiaries",
            money(t.received),
            money(t.fees),
            money(t.net),
            money(t.disbursed),
            disbursed / 10,
            disbursed % 10
        );
        for (kind, amount) in &t.by_kind {
            let k = share(*amount);
            outln!(
                "      to {kind}: {} ({}.{}% of net)",
                money(*amount),
                k / 10,
                k % 10
            );
        }
    }
    Ok(())
}

/// The monitor's line on how this run's checkpoint follows the one verified before.
///
/// # Errors
/// When stdout is gone ([`crate::output::OutputClosed`]).
pub fn print_continuity(
    checkpoint: &Checkpoint,
    continuity: &Continuity,
    state: &Path,
) -> anyhow::Result<()> {
    match continuity {
        Continuity::FirstRun => outln!(
            "   first run: no earlier checkpoint to compare with; size {} remembered in {} for the next run",
            checkpoint.size,
            state.display()
        ),
        Continuity::Unchanged => outln!(
            "   unchanged since the last run: the same size {} and root as remembered in {}",
            checkpoint.size,
            state.display()
        ),
        Continuity::Extended {
            from_size,
            from_root,
        } => outln!(
            "   consistent with the last run: the log grew from {from_size} entries (root {}) to {}, proven by a consistency proof and by re-deriving the old root; {} updated",
            from_root.to_base64(),
            checkpoint.size,
            state.display()
        ),
    }
    Ok(())
}
