//! What the cap rule costs where every payout is checked in memory (`pennytrail check`,
//! the verifier, the monitor): 1,000,000 payouts of 1 cent to 100,000 people, picked at
//! random, applied through the ledger's rules to a campaign without caps and to one with
//! every cap, in the same run, three rounds each. Run: `cargo bench --bench caps`.
//! The service's side (the sequencer, reading what each person was paid from the store)
//! is `benches/perf.sh caps`.

use std::time::{Duration, Instant};

use pennytrail_ledger::records::{
    Beneficiary, BeneficiaryInput, Campaign, CampaignInput, Disbursement, DisbursementInput,
    Donation, DonationInput, Record, Statement, StatementInput,
};
use pennytrail_ledger::rules::apply;
use pennytrail_ledger::state::LedgerMemory;
use pennytrail_log::time::UnixMillis;

const PEOPLE: usize = 100_000;
const PAYOUTS: usize = 1_000_000;
/// Payouts spread over 30 days, so day and month periods both grow.
const DAY_MS: i64 = 86_400_000;
const START: UnixMillis = UnixMillis(1_764_547_200_000); // 2025-12-01

/// A ledger with `PEOPLE` people stated for campaign `k`, funded; its next seq.
fn funded(capped: bool) -> (LedgerMemory, u64) {
    let mut state = LedgerMemory::new("bench.example/log");
    let mut seq = 0;
    let mut push = |state: &mut LedgerMemory, record: Record| {
        apply(state, "o", seq, START, &record).expect("setup is lawful");
        seq += 1;
    };
    push(
        &mut state,
        Record::Org(
            pennytrail_ledger::org::OrgRegistration::parse(
                pennytrail_ledger::org::OrgRegistrationInput {
                    id: "o".into(),
                    name: "O".into(),
                    country: "NL".into(),
                    charity_number: None,
                    public_key: None,
                },
            )
            .unwrap(),
        ),
    );
    for p in 0..PEOPLE {
        push(
            &mut state,
            Record::Beneficiary(
                Beneficiary::parse(BeneficiaryInput {
                    id: format!("p{p}"),
                    label: "Participant".into(),
                    kind: "person".into(),
                    country: "NL".into(),
                    public_key: None,
                })
                .unwrap(),
            ),
        );
    }
    let cap = |v: i64| capped.then_some(v);
    push(
        &mut state,
        Record::Campaign(
            Campaign::parse(CampaignInput {
                id: "k".into(),
                title: "T".into(),
                purpose: "P".into(),
                currency: "EUR".into(),
                beneficiaries: vec![],
                max_per_person_per_day: cap(1_000_000),
                max_per_person_per_month: cap(10_000_000),
                max_payouts_per_person_per_day: cap(1_000),
            })
            .unwrap(),
        ),
    );
    let ids: Vec<String> = (0..PEOPLE).map(|p| format!("p{p}")).collect();
    for chunk in ids.chunks(100) {
        push(
            &mut state,
            Record::Statement(
                Statement::parse(
                    "k",
                    StatementInput {
                        beneficiaries: chunk.to_vec(),
                    },
                )
                .unwrap(),
            ),
        );
    }
    push(
        &mut state,
        Record::Donation(
            Donation::parse(
                DonationInput {
                    id: "fund".into(),
                    campaign: "k".into(),
                    amount: 1_000_000_000,
                    fee: 0,
                    currency: None,
                    channel: "card".into(),
                    donor_ref: None,
                    donor_commitment: None,
                    occurred_at: None,
                },
                |_| unreachable!(),
            )
            .unwrap(),
        ),
    );
    (state, seq)
}

/// Applies the payouts; returns the time they took.
fn pay(capped: bool, payouts: &[Record]) -> Duration {
    let (mut state, first) = funded(capped);
    let started = Instant::now();
    for (i, payout) in payouts.iter().enumerate() {
        let time = UnixMillis(START.0 + (i as i64 * 30 * DAY_MS) / PAYOUTS as i64);
        apply(&mut state, "o", first + i as u64, time, payout).expect("within the caps");
    }
    started.elapsed()
}

fn main() {
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let payouts: Vec<Record> = (0..PAYOUTS)
        .map(|i| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            Record::Disbursement(
                Disbursement::parse(DisbursementInput {
                    id: format!("x{i}"),
                    campaign: "k".into(),
                    beneficiary: format!("p{}", (rng >> 33) % PEOPLE as u64),
                    amount: 1,
                    purpose: "Reward".into(),
                    evidence_sha256: None,
                    occurred_at: None,
                })
                .unwrap(),
            )
        })
        .collect();
    let per_payout = |d: Duration| d.as_nanos() / PAYOUTS as u128;
    println!("{PAYOUTS} payouts to {PEOPLE} people over 30 days, applied in memory:");
    let (mut plain, mut capped) = (Vec::new(), Vec::new());
    for round in 1..=3 {
        let a = pay(false, &payouts);
        let b = pay(true, &payouts);
        println!(
            "  round {round}: no caps {} ns/payout, every cap {} ns/payout",
            per_payout(a),
            per_payout(b)
        );
        plain.push(per_payout(a));
        capped.push(per_payout(b));
    }
    plain.sort();
    capped.sort();
    println!(
        "median: no caps {} ns/payout, every cap {} ns/payout: the cap check costs {} ns per payout",
        plain[1],
        capped[1],
        capped[1] as i128 - plain[1] as i128
    );
}
