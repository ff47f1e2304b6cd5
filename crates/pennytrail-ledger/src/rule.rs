//! The name of every rule a record can break, one spelling each: what a refusal's `rule`
//! says, what the verifiers print, and what the docs list.

/// Declares the rules with their names.
macro_rules! rules {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal,)+) => {
        /// A rule of the log or the ledger.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Rule {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Rule {
            /// Every rule, in the order declared.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),+];

            /// The rule's stable name (`overspend`, `unstated-beneficiary`, …).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Rule::$variant => $name,)+
                }
            }
        }
    };
}

rules! {
    /// An entry names an org that is not registered.
    UnknownOrg = "unknown-org",
    /// A campaign does not exist.
    UnknownCampaign = "unknown-campaign",
    /// A beneficiary is not registered.
    UnknownBeneficiary = "unknown-beneficiary",
    /// An acknowledgement names a disbursement that does not exist.
    UnknownDisbursement = "unknown-disbursement",
    /// A disbursement goes to a beneficiary not stated for the campaign before it.
    UnstatedBeneficiary = "unstated-beneficiary",
    /// A beneficiary is stated for a campaign twice.
    AlreadyStated = "already-stated",
    /// A donation's currency differs from its campaign's.
    CurrencyMismatch = "currency-mismatch",
    /// A disbursement exceeds what the campaign holds.
    Overspend = "overspend",
    /// A running total would pass 2^53 - 1.
    TotalOverflow = "total-overflow",
    /// A donation's fee exceeds its amount.
    InvalidFee = "invalid-fee",
    /// A correction names an entry that does not exist or belongs to another org.
    CorrectionTarget = "correction-target",
    /// A correction touches a field that cannot be corrected.
    UncorrectableField = "uncorrectable-field",
    /// An id is used by an earlier entry of the same org and record type.
    DuplicateId = "duplicate-id",
    /// A signature does not verify under the key it must be made with.
    BadSignature = "bad-signature",
    /// A report or key rotation of an org that has no key.
    NoOrgKey = "no-org-key",
    /// An acknowledgement of a payout to a beneficiary that has no key.
    NoBeneficiaryKey = "no-beneficiary-key",
    /// A key rotation to a key the org used before.
    KeyReused = "key-reused",
    /// A first key stated for an org that already has one (rotation is the way then).
    OrgKeyExists = "org-key-exists",
    /// A key rotation to the key the org already has.
    SameKey = "same-key",
    /// An acknowledgement by another beneficiary than the payout's.
    WrongBeneficiary = "wrong-beneficiary",
    /// An acknowledgement's amount does not fit its status.
    AckAmount = "ack-amount",
    /// A report covers entries that did not exist when it was logged.
    ReportRange = "report-range",
    /// A report states a figure other than the log implies.
    ReportFigure = "report-figure",
    /// A payout to a person would pass a limit its campaign published.
    CapExceeded = "cap-exceeded",
    /// A payout's `occurred_at` is later than its entry's `time`.
    OccurredAfterTime = "occurred-after-time",
    /// A logged entry's field is not one a request could have given.
    InvalidField = "invalid-field",
    /// A logged entry's derived field (`net`, `received_before`, …) is not what the log implies.
    WrongDerivedField = "wrong-derived-field",
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
