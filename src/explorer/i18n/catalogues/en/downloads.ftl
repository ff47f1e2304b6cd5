# The downloads page.

downloads-title = Downloads
bundle-heading = The whole log, verifiable offline
bundle-download = Download the export bundle ({ $file })
bundle-about = The bundle holds every entry and every CSV below at the latest signed checkpoint (now { $size } entries), with <code>checkpoint.txt</code> and a <code>datapackage.json</code> listing each file's SHA-256. To verify it, get the log's key from a source you trust (the charity's own site or a signed report — not only this server), then:
bundle-server-key = This server states its key as
bundle-checks = The verifier recomputes every hash, the Merkle root, the checkpoint signature, every derived CSV byte for byte and every money rule, and names the file, row and field of anything wrong. <code>--min-size</code> stops an old bundle passing for a current one.
csv-heading-org = CSV files of { $org }
csv-org-about = Only this charity's rows (<a href="/downloads">all charities</a>). A slice is for reading in a spreadsheet; to verify, use the whole bundle above or check single rows' entries against their receipts.
csv-heading = CSV files
csv-about = The bundle's files one by one, streamed at the latest checkpoint; byte for byte the files of a bundle of the same size. Text cells starting with <code>=</code>, <code>+</code>, <code>-</code> or <code>@</code> get a leading <code>'</code> so a spreadsheet never runs them.

# What each file of the bundle holds (one message per file, named table- and the file's name without .csv).
table-entries = every entry, with its exact bytes and hashes
table-orgs = the charities (name_effective and charity_number_effective: as corrected)
table-beneficiaries = the beneficiaries the charities registered (label_effective: as corrected)
table-campaigns = campaigns with their totals (title_effective and purpose_effective: as corrected)
table-stated_beneficiaries = who each campaign may pay, stated in advance
table-donations = donations
table-disbursements = payouts (purpose_effective: as corrected)
table-flows = which donation funded which payout, and by how much
table-corrections = corrections of non-money fields
table-org_keys = the charities' keys, as registered, stated by the operator and rotated
table-acknowledgements = the beneficiaries' signed acknowledgements and disputes of payouts
table-reports = the charities' signed reports
table-report_figures = every figure of every signed report
