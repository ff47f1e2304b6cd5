# Shared by every page: the shell, dates, amounts, kinds of beneficiary.

site-skip = Skip to content
nav-main = Main
nav-lookup = Find a donation
nav-downloads = Downloads
nav-api = API
nav-language = Language
page-title-suffix = pennytrail
footer = Every figure here comes from a public, append-only, signed log. It proves what the charity <em>stated</em> and that everyone sees the same statements — not that a statement is true. <a href="/downloads">Download everything</a> and check it yourself.
crumb-log = Log

# { $day } { $month } { $year }, { $time } UTC: "7 December 2026, 01:48 UTC"
date-time = { $day } { $month } { $year }, { $time } UTC
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

amount-unknown-currency = { $units } minor units of { $code }
entry-number = entry { $seq }
id-label = id

# A beneficiary's kind, as a person reads it.
kind-person = person
kind-organization = organisation
kind-supplier = supplier
kind-overhead = overhead
kind-refunds = refunds
kind-other = beneficiary

donations-count = { $count ->
    [one] { $count } donation
   *[other] { $count } donations
}
payouts-count = { $count ->
    [one] { $count } payout
   *[other] { $count } payouts
}
