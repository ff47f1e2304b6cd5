# Ukurasa wa kampeni moja.

campaign-crumb = kampeni
campaign-about = Kampeni <code>{ $id }</code> kwa { $currency }, ilifunguliwa tarehe { $date }.
campaign-money = Fedha
campaign-received = Kilichopokelewa
campaign-received-note = { $donations }, ikijumuisha ada za { $fees }
campaign-received-none = Bado hakuna mchango
campaign-paid-out = Kilicholipwa
campaign-held = Kilichobaki
campaign-held-note = kilichopokelewa baada ya kutoa ada, bado hakijalipwa
confirmed-heading = Kilichothibitishwa na wanufaika
confirmed-nothing-paid = Bado hakuna kilicholipwa, kwa hiyo hakuna chochote cha wanufaika kuthibitisha.
confirmed-none = Bado hakuna mnufaika aliyethibitisha wala kupinga malipo yoyote.
confirmed-acknowledged = Wanufaika walithibitisha, kwa sahihi zao wenyewe, malipo ya jumla ya <strong>{ $amount }</strong> ({ $share } ya kiasi chote kilicholipwa, { $payouts }).
confirmed-disputed = Walipinga { $amount } ({ $share }, { $payouts }), wakisema kilichowafikia ni { $arrived }.
confirmed-open = Kiasi cha { $amount } bado hakijathibitishwa wala kupingwa.
confirmed-caveat = Uthibitisho una uzito sawa tu na uhakika wa chanzo cha ufunguo wa mnufaika, kama shirika la hisani lilivyoeleza.
flows-heading = Fedha zilikokwenda
flows-caption = Kutoka kwa kila kilichopokelewa (kushoto) hadi kwa kila mnufaika aliyetajwa, gharama za uendeshaji, marejesho ya fedha, ada za muamala na kile ambacho bado kimebaki (kulia); upana wa kila ukanda unalingana na kiasi chake.
sankey-source = Michango iliyopokelewa
sankey-fees = Ada za muamala
sankey-held = Kilichobaki, bado hakijalipwa
sankey-unlisted = Wanufaika wengine
sankey-group-other = { $group } zaidi
group-person = { $count ->
    [one] mtu { $count }
   *[other] watu { $count }
}
group-organization = { $count ->
    [one] shirika { $count }
   *[other] mashirika { $count }
}
group-supplier = { $count ->
    [one] msambazaji { $count }
   *[other] wasambazaji { $count }
}
group-overhead = { $count ->
    [one] kipengele { $count } cha gharama za uendeshaji
   *[other] vipengele { $count } vya gharama za uendeshaji
}
group-refunds = { $count ->
    [one] kipengele { $count } cha marejesho ya fedha
   *[other] vipengele { $count } vya marejesho ya fedha
}
group-other = { $count ->
    [one] mnufaika { $count }
   *[other] wanufaika { $count }
}
stated-heading = Wanufaika waliotajwa
stated-about = Shirika la hisani liliwataja hawa kabla ya kuwalipa; daftari linakataa malipo kwa mtu mwingine yeyote.
stated-none = Bado hakuna mnufaika aliyetajwa kwa kampeni hii.
col-beneficiary = Mnufaika
col-kind = Aina
col-paid = Kilicholipwa
col-payouts = Malipo
latest-heading = Malipo ya hivi karibuni
latest-none = Bado hakuna malipo.
col-payout = Malipo
col-to = Kwa
col-amount = Kiasi
col-when = Tarehe
col-says = Mnufaika anasema
payout-logged = yaliandikwa kwenye daftari tarehe { $date }
says-received = yamepokelewa
says-disputed = yamepingwa: kilichofika ni { $amount }
says-nothing = hayajathibitishwa
campaign-data = Data za kampeni hii
campaign-data-flows = (mchango upi ulilipia malipo yapi)
