-- The ledger's state, kept in step with the entries by the sequencer in the same
-- transaction: what the money rules read (campaign totals, stated beneficiaries) and
-- what donors' range lookups need (each donation's and disbursement's position on its
-- campaign's money line). Everything here can be rebuilt from the entries.

CREATE TABLE beneficiaries (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (org, id)
);

-- Running totals per campaign, in its currency's minor units.
CREATE TABLE campaigns (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    currency TEXT NOT NULL,
    seq BIGINT NOT NULL,
    received BIGINT NOT NULL,
    fees BIGINT NOT NULL,
    net BIGINT NOT NULL,
    disbursed BIGINT NOT NULL,
    donations_count BIGINT NOT NULL,
    disbursements_count BIGINT NOT NULL,
    PRIMARY KEY (org, id),
    CHECK (disbursed <= net AND net <= received AND fees <= received)
);

-- Beneficiaries stated for a campaign, and what each received from it.
CREATE TABLE campaign_beneficiaries (
    org TEXT NOT NULL,
    campaign TEXT NOT NULL,
    beneficiary TEXT NOT NULL,
    stated_at BIGINT NOT NULL,
    disbursed BIGINT NOT NULL,
    disbursements_count BIGINT NOT NULL,
    PRIMARY KEY (org, campaign, beneficiary)
);

-- Donation d covers [received_before, received_before + net) of its campaign's line.
CREATE TABLE donations (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    campaign TEXT NOT NULL,
    seq BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    net BIGINT NOT NULL,
    received_before BIGINT NOT NULL,
    donor_commitment TEXT,
    PRIMARY KEY (org, id)
);
CREATE INDEX donations_on_line ON donations (org, campaign, received_before);
CREATE INDEX donations_by_donor ON donations (org, donor_commitment) WHERE donor_commitment IS NOT NULL;

-- Disbursement x covers [disbursed_before, disbursed_before + amount) of the line.
CREATE TABLE disbursements (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    campaign TEXT NOT NULL,
    beneficiary TEXT NOT NULL,
    seq BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    disbursed_before BIGINT NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX disbursements_on_line ON disbursements (org, campaign, disbursed_before);
CREATE INDEX disbursements_by_beneficiary ON disbursements (org, beneficiary, seq);

-- Corrections of non-money fields, found by the entry they correct.
CREATE TABLE corrections (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    corrects BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX corrections_by_target ON corrections (corrects, seq);

-- Tokens are looked up by their hash when an org writes.
CREATE UNIQUE INDEX org_tokens_by_hash ON org_tokens (token_hash);

-- Identities of process-wide secrets (never the secrets): every process sharing the
-- database must use the same donor secret, or lookups by donor reference break.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
