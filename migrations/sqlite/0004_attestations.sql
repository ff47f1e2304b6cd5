-- Beneficiaries' acknowledgements and disputes, found by their disbursement (one per
-- disbursement), for the share of a campaign's payouts its beneficiaries confirmed.
-- Like every ledger table, this is rebuilt from the entries.
CREATE TABLE acknowledgements (
    org TEXT NOT NULL,
    disbursement TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('received', 'disputed')),
    amount_received INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (org, disbursement)
) WITHOUT ROWID;
