# What the visitor's browser says while it checks a donation's receipts (assets/lookup.js).
# The browser fills in each { $name } itself; these messages take no plural forms, so a
# count that needs one has a message per form (-one, -other).

js-check = Check
js-step-new = Entry { $seq } (new since this page was loaded)
js-step-verified = ✔ verified
js-step-failed = ✘ failed: { $reason }
js-history-first = First checkpoint remembered
js-history-first-detail = This browser will flag it if this log ever shows fewer than { $size } entries or a different history.
js-rollback = ROLLBACK: the log shrank
js-rollback-detail = You saw this log at { $seen } entries before; this server now shows a signed checkpoint of { $size }. A log never shrinks: this server shows an old state, or a different log.
js-fork-root = FORK: two different logs of the same size
js-fork-root-detail = At { $seen } entries you saw root { $root_seen }; this server signs root { $root }. The log has shown different histories to different people.
js-history-same = Same checkpoint as your last visit
js-fork-proof = FORK: the log is not consistent with what you saw before
js-grew = The log grew consistently
js-grew-detail-one = From { $seen } entry (your last visit) to { $size }, proven to extend what you saw.
js-grew-detail-other = From { $seen } entries (your last visit) to { $size }, proven to extend what you saw.
js-no-key = No key pinned: nothing here is verified yet.
js-no-key-detail = Paste the log key the charity publishes on its own website or in a signed report, and pin it. Or pin the key this server states — but only after comparing it with one of those: a key sent by the same server proves nothing about that server.
js-server-key = Server's key: { $key }
js-pin-server = Pin the server's key (I compared it)
js-steps-no-key = not verified: no key pinned
js-summary-no-key = Not verified: pin a key first.
js-bad-key = The pinned key is not a valid log key.
js-steps-bad-key = not verified: the pinned key is invalid
js-summary-bad-key = Not verified: fix the pinned key.
js-key-mismatch = WARNING: this server's log key is not the key you pinned.
js-key-mismatch-detail = Pinned: { $pinned } — this server states: { $server }. Either the log changed its key (check the charity's own announcement) or this server is not the log you trust. Everything below is checked against your pinned key.
js-key-match = The pinned key is this server's key.
js-key-match-detail = Receipts are checked against { $key }.
js-bad-policy = The pinned witness policy is not valid.
js-steps-bad-policy = not verified: the pinned witness policy is invalid
js-summary-bad-policy = Not verified: fix or forget the pinned witness policy.
js-no-policy = No witness policy pinned: witnesses are not checked.
js-no-policy-detail = The log signature alone cannot show that everyone sees this same log. Pin the witness policy the charity publishes to have your browser check that witnesses you trust cosigned it.
js-witnessed = Witnessed as your policy requires.
js-witnessed-by = Cosigned by { $witnesses }: they saw no other history of this log.
js-witnessed-none-required = Your policy requires no cosignature (quorum none).
js-not-witnessed = NOT WITNESSED as your policy requires.
js-summary-verified-one = The one step was verified by your browser: the entry is in the log of { $size } entries whose checkpoint your pinned key signed.
js-summary-verified-other = All { $steps } steps verified by your browser: each entry is in the log of { $size } entries whose checkpoint your pinned key signed.
js-summary-failed = { $failed } of { $steps } steps FAILED verification (see each step).
js-could-not-run = Verification could not run.
