# The home page: what the log is, the charities, finding a donation.

home-title = Public log
home-heading = A public log of donations and payouts
home-lead = Charities record every donation they receive and every payout they make in this append-only, signed log. Look up your donation to see where it went — your browser checks the proof itself.
home-find = Find my donation
form-charity = Charity
form-charity-choose = Choose a charity
form-charity-search = Charity (type to search by name)
form-donation = Donation id (on your receipt)
home-charities = Charities
home-no-charity = No charity is registered yet.
home-first-charities = Showing the first { $count } charities; <a href="/v1/orgs">the API lists them all</a>.
home-this-log = This log
home-origin = Origin (the log's name)
home-entries = Entries
home-key = Verifier key
home-key-note = A key this server shows proves nothing by itself: compare it with the key the charity publishes on its own site or in its reports, then pin it on the <a href="/lookup">lookup page</a>.
home-checkpoint = Latest signed checkpoint
