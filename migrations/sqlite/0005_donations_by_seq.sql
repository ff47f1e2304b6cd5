-- Donations are kept in log order within their org instead of in id order. A new
-- donation then lands at its org's end of the table, not at a random place among the
-- ids: under single-donation load that random place was a page of its own in every
-- commit, as many pages as donations. A donation is found by its id through
-- record_ids, which holds every id once (and so keeps ids unique).
CREATE TABLE donations_by_seq (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    campaign TEXT NOT NULL,
    seq INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    fee INTEGER NOT NULL,
    net INTEGER NOT NULL,
    received_before INTEGER NOT NULL,
    donor_commitment TEXT,
    PRIMARY KEY (org, seq)
) WITHOUT ROWID;
INSERT INTO donations_by_seq (org, id, campaign, seq, amount, fee, net, received_before, donor_commitment)
    SELECT org, id, campaign, seq, amount, fee, net, received_before, donor_commitment FROM donations;
DROP TABLE donations;
ALTER TABLE donations_by_seq RENAME TO donations;
CREATE INDEX donations_on_line ON donations (org, campaign, received_before);
CREATE INDEX donations_by_donor ON donations (org, donor_commitment) WHERE donor_commitment IS NOT NULL;
