# Ukurasa wa vipakuliwa.

downloads-title = Vipakuliwa
bundle-heading = Daftari zima, linaloweza kukaguliwa bila mtandao
bundle-download = Pakua kifurushi kizima cha data ({ $file })
bundle-about = Kifurushi kina kila ingizo na kila faili la CSV lililo hapa chini, kufikia kituo cha ukaguzi cha mwisho kilichotiwa sahihi (sasa maingizo { $size }), pamoja na <code>checkpoint.txt</code> na <code>datapackage.json</code> inayoorodhesha SHA-256 ya kila faili. Ili kukihakiki, pata ufunguo wa daftari kutoka chanzo unachokiamini (tovuti ya shirika la hisani lenyewe au ripoti iliyotiwa sahihi — si seva hii pekee), kisha:
bundle-server-key = Seva hii inasema ufunguo wake ni
bundle-checks = Programu ya uhakiki inakokotoa upya kila hashi, mzizi wa Merkle, sahihi ya kituo cha ukaguzi, kila CSV inayotokana na data baiti kwa baiti na kila kanuni ya fedha, na inataja faili, safu na sehemu ya kosa lolote. <code>--min-size</code> inazuia kifurushi cha zamani kukubalika kama cha sasa.
csv-heading-org = Faili za CSV za { $org }
csv-org-about = Safu za shirika hili la hisani pekee (<a href="/downloads">mashirika yote</a>). Sehemu hii ni ya kusoma kwenye lahajedwali; ili kuhakiki, tumia kifurushi kizima hapo juu au linganisha maingizo ya safu moja moja na risiti zake.
csv-heading = Faili za CSV
csv-about = Faili za kifurushi moja baada ya nyingine, zinazotolewa kufikia kituo cha ukaguzi cha mwisho; baiti kwa baiti ni sawa na faili za kifurushi chenye ukubwa uleule. Visanduku vya maandishi vinavyoanza na <code>=</code>, <code>+</code>, <code>-</code> au <code>@</code> huwekewa <code>'</code> mwanzoni ili lahajedwali lisiviendeshe kamwe.

# Kilichomo katika kila faili la kifurushi (ujumbe mmoja kwa kila faili, unaoitwa table- na jina la faili bila .csv).
table-entries = kila ingizo, pamoja na baiti zake halisi na hashi zake
table-orgs = mashirika ya hisani (name_effective na charity_number_effective: baada ya marekebisho)
table-beneficiaries = wanufaika waliosajiliwa na mashirika ya hisani (label_effective: baada ya marekebisho)
table-campaigns = kampeni pamoja na jumla zake (title_effective na purpose_effective: baada ya marekebisho)
table-stated_beneficiaries = nani kila kampeni inaruhusiwa kumlipa, kama ilivyotajwa mapema
table-donations = michango
table-disbursements = malipo (purpose_effective: baada ya marekebisho)
table-flows = mchango upi ulilipia malipo yapi, na kwa kiasi gani
table-corrections = marekebisho ya sehemu zisizohusu fedha
table-org_keys = funguo za mashirika ya hisani, kama zilivyosajiliwa, kutajwa na mwendeshaji na kubadilishwa
table-acknowledgements = uthibitisho na mapingamizi ya malipo, yaliyotiwa sahihi na wanufaika
table-reports = ripoti zilizotiwa sahihi za mashirika ya hisani
table-report_figures = kila takwimu ya kila ripoti iliyotiwa sahihi
