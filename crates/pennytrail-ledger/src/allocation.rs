//! The allocation rule (DESIGN.md): per campaign, donations fill a line in log order and
//! disbursements drain it in log order. Donation d covers [received_before,
//! received_before + net); disbursement x covers [disbursed_before, disbursed_before +
//! amount); d funded x by exactly the overlap. Anyone can recompute this from the entries.

/// A half-open interval [start, start + len) on a campaign's money line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: i64,
    pub len: i64,
}

impl Span {
    pub fn end(&self) -> i64 {
        self.start + self.len
    }

    /// How much of this span lies inside `other`.
    pub fn overlap(&self, other: &Span) -> i64 {
        (self.end().min(other.end()) - self.start.max(other.start)).max(0)
    }
}

/// What is left of a donation after the first `disbursed_total` minor units of its
/// campaign were paid out: the part of its span past the disbursed line.
pub fn held(donation: &Span, disbursed_total: i64) -> i64 {
    donation.len
        - donation.overlap(&Span {
            start: 0,
            len: disbursed_total.max(0),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against a naive oracle that moves money one minor unit at a time: every
        /// donation's flows plus what it still holds equal its net, and every
        /// disbursement's sources sum to its amount.
        #[test]
        fn overlap_matches_unit_by_unit_allocation(
            nets in prop::collection::vec(0i64..40, 1..25),
            payouts in prop::collection::vec(1i64..50, 0..25),
        ) {
            let mut donations = Vec::new();
            let mut line = 0;
            for net in &nets {
                donations.push(Span { start: line, len: *net });
                line += net;
            }
            let mut disbursements = Vec::new();
            let mut drained = 0;
            for amount in payouts {
                if drained + amount > line { break; }
                disbursements.push(Span { start: drained, len: amount });
                drained += amount;
            }
            // Oracle: unit u belongs to the donation whose span holds it and went to the
            // disbursement whose span holds it.
            let mut oracle = vec![vec![0i64; disbursements.len()]; donations.len()];
            for unit in 0..drained {
                let d = donations.iter().position(|s| s.start <= unit && unit < s.end()).unwrap();
                let x = disbursements.iter().position(|s| s.start <= unit && unit < s.end()).unwrap();
                oracle[d][x] += 1;
            }
            for (d, donation) in donations.iter().enumerate() {
                let flows: Vec<i64> = disbursements.iter().map(|x| donation.overlap(x)).collect();
                prop_assert_eq!(&flows, &oracle[d]);
                prop_assert_eq!(flows.iter().sum::<i64>() + held(donation, drained), donation.len);
            }
            for (x, disbursement) in disbursements.iter().enumerate() {
                let sources: i64 = donations.iter().map(|d| d.overlap(disbursement)).sum();
                prop_assert_eq!(sources, disbursement.len);
                prop_assert_eq!(sources, oracle.iter().map(|row| row[x]).sum::<i64>());
            }
        }
    }
}
