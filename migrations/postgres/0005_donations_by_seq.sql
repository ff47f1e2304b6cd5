-- Donations are keyed by their place in the log within their org instead of by id. A
-- new donation's key then lands at its org's end of the index, not at a random place
-- among the ids. A donation is found by its id through record_ids, which holds every
-- id once (and so keeps ids unique).
ALTER TABLE donations DROP CONSTRAINT donations_pkey;
ALTER TABLE donations ADD PRIMARY KEY (org, seq);
