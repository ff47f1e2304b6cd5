# Vinavyotumiwa na kila ukurasa: muundo wa ukurasa, tarehe, kiasi, aina za wanufaika.

site-skip = Ruka hadi maudhui
nav-main = Menyu kuu
nav-lookup = Tafuta mchango
nav-downloads = Vipakuliwa
nav-api = API
nav-language = Lugha
page-title-suffix = pennytrail
footer = Kila takwimu hapa inatoka kwenye daftari la umma lililotiwa sahihi, ambalo huongezewa tu na halifutwi. Linathibitisha kile ambacho shirika la hisani <em>lilitangaza</em>, na kwamba kila mtu anaona taarifa zilezile — si kwamba taarifa ni ya kweli. <a href="/downloads">Pakua kila kitu</a> ukague mwenyewe.
crumb-log = Daftari

# { $day } { $month } { $year }, saa { $time } UTC: "7 Desemba 2026, saa 01:48 UTC"
date-time = { $day } { $month } { $year }, saa { $time } UTC
month-1 = Januari
month-2 = Februari
month-3 = Machi
month-4 = Aprili
month-5 = Mei
month-6 = Juni
month-7 = Julai
month-8 = Agosti
month-9 = Septemba
month-10 = Oktoba
month-11 = Novemba
month-12 = Desemba

amount-unknown-currency = vipande vidogo { $units } vya { $code }
entry-number = ingizo { $seq }
id-label = kitambulisho

# Aina ya mnufaika, kama mtu anavyoisoma.
kind-person = mtu
kind-organization = shirika
kind-supplier = msambazaji
kind-overhead = gharama za uendeshaji
kind-refunds = marejesho ya fedha
kind-other = mnufaika

donations-count = { $count ->
    [one] mchango { $count }
   *[other] michango { $count }
}
payouts-count = { $count ->
    [one] malipo { $count }
   *[other] malipo { $count }
}
