-- Published caps on payouts to people (issue "Incentive programmes whose rules anyone can
-- check"): the limits a campaign opened with, and what each person received from a capped
-- campaign per UTC day (period YYYY-MM-DD) and month (YYYY-MM), counted at the payout's
-- occurred_at or else its time. Like the other ledger tables, rebuilt from the entries.
ALTER TABLE campaigns ADD COLUMN max_per_person_per_day INTEGER;
ALTER TABLE campaigns ADD COLUMN max_per_person_per_month INTEGER;
ALTER TABLE campaigns ADD COLUMN max_payouts_per_person_per_day INTEGER;

CREATE TABLE person_payouts (
    org TEXT NOT NULL,
    campaign TEXT NOT NULL,
    beneficiary TEXT NOT NULL,
    period TEXT NOT NULL,
    paid INTEGER NOT NULL,
    payouts INTEGER NOT NULL,
    PRIMARY KEY (org, campaign, beneficiary, period)
) WITHOUT ROWID;
