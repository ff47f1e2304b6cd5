# Kile ambacho kivinjari cha mgeni kinasema kinapokagua risiti za mchango (assets/lookup.js).
# Kivinjari chenyewe hujaza kila { $name }; jumbe hizi hazina maumbo ya wingi, kwa hiyo
# idadi inayohitaji umbo fulani ina ujumbe kwa kila umbo (-one, -other).

js-check = Ukaguzi
js-step-new = Ingizo { $seq } (jipya tangu ukurasa huu ulipopakiwa)
js-step-verified = ✔ imehakikiwa
js-step-failed = ✘ imeshindwa: { $reason }
js-history-first = Kituo cha kwanza cha ukaguzi kimehifadhiwa
js-history-first-detail = Kivinjari hiki kitakuonya iwapo daftari hili litawahi kuonyesha maingizo machache kuliko { $size } au historia tofauti.
js-rollback = KURUDI NYUMA: daftari limepungua
js-rollback-detail = Awali uliona daftari hili likiwa na maingizo { $seen }; sasa seva hii inaonyesha kituo cha ukaguzi kilichotiwa sahihi cha maingizo { $size }. Daftari halipungui kamwe: seva hii inaonyesha hali ya zamani, au daftari jingine.
js-fork-root = MGAWANYIKO: madaftari mawili tofauti yenye idadi sawa ya maingizo
js-fork-root-detail = Katika maingizo { $seen } uliona mzizi { $root_seen }; seva hii inatia sahihi mzizi { $root }. Daftari limewaonyesha watu tofauti historia tofauti.
js-history-same = Kituo cha ukaguzi ni kilekile cha ziara yako ya mwisho
js-fork-proof = MGAWANYIKO: daftari haliendani na kile ulichoona awali
js-grew = Daftari limeongezeka, na yaliyokuwemo hayajabadilika
js-grew-detail-one = Kutoka ingizo { $seen } (ulipotembelea mara ya mwisho) hadi maingizo { $size }, na imethibitishwa kwamba ni mwendelezo wa kile ulichoona.
js-grew-detail-other = Kutoka maingizo { $seen } (ulipotembelea mara ya mwisho) hadi maingizo { $size }, na imethibitishwa kwamba ni mwendelezo wa kile ulichoona.
js-no-key = Hakuna ufunguo uliobandikwa: bado hakuna kitu hapa kilichohakikiwa.
js-no-key-detail = Weka hapa ufunguo wa daftari ambao shirika la hisani linauchapisha kwenye tovuti yake au katika ripoti iliyotiwa sahihi, kisha uubandike. Au bandika ufunguo unaotajwa na seva hii — lakini baada tu ya kuulinganisha na mojawapo ya vyanzo hivyo: ufunguo uliotumwa na seva hiyohiyo hauthibitishi chochote kuhusu seva hiyo.
js-server-key = Ufunguo wa seva: { $key }
js-pin-server = Bandika ufunguo wa seva (nimeulinganisha)
js-steps-no-key = haijahakikiwa: hakuna ufunguo uliobandikwa
js-summary-no-key = Hakuna kilichohakikiwa: bandika ufunguo kwanza.
js-bad-key = Ufunguo uliobandikwa si ufunguo halali wa daftari.
js-steps-bad-key = haijahakikiwa: ufunguo uliobandikwa si halali
js-summary-bad-key = Hakuna kilichohakikiwa: rekebisha ufunguo uliobandikwa.
js-key-mismatch = TAHADHARI: ufunguo wa daftari wa seva hii si ufunguo ulioubandika.
js-key-mismatch-detail = Ufunguo ulioubandika: { $pinned } — seva hii inasema: { $server }. Ama daftari limebadilisha ufunguo wake (angalia tangazo la shirika la hisani lenyewe), au seva hii si daftari unaloliamini. Kila kitu hapa chini kinakaguliwa kwa ufunguo ulioubandika.
js-key-match = Ufunguo uliobandikwa ndio ufunguo wa seva hii.
js-key-match-detail = Risiti zinakaguliwa kwa ufunguo { $key }.
js-bad-policy = Sera ya mashahidi iliyobandikwa si halali.
js-steps-bad-policy = haijahakikiwa: sera ya mashahidi iliyobandikwa si halali
js-summary-bad-policy = Hakuna kilichohakikiwa: rekebisha au sahau sera ya mashahidi iliyobandikwa.
js-no-policy = Hakuna sera ya mashahidi iliyobandikwa: mashahidi hawakaguliwi.
js-no-policy-detail = Sahihi ya daftari peke yake haiwezi kuonyesha kwamba kila mtu anaona daftari hilihili. Bandika sera ya mashahidi ambayo shirika la hisani linaichapisha, ili kivinjari chako kikague kwamba mashahidi unaowaamini wamelitia sahihi pia.
js-witnessed = Limeshuhudiwa kama sera yako inavyotaka.
js-witnessed-by = Limetiwa sahihi pia na { $witnesses }: hawajaona historia nyingine yoyote ya daftari hili.
js-witnessed-none-required = Sera yako haihitaji sahihi yoyote ya mashahidi (quorum none).
js-not-witnessed = HALIJASHUHUDIWA kama sera yako inavyotaka.
js-summary-verified-one = Hatua pekee imehakikiwa na kivinjari chako: ingizo limo kwenye daftari la maingizo { $size } ambalo kituo chake cha ukaguzi kilitiwa sahihi kwa ufunguo ulioubandika.
js-summary-verified-other = Hatua zote { $steps } zimehakikiwa na kivinjari chako: kila ingizo limo kwenye daftari la maingizo { $size } ambalo kituo chake cha ukaguzi kilitiwa sahihi kwa ufunguo ulioubandika.
js-summary-failed = UHAKIKI UMESHINDWA kwa hatua { $failed } kati ya { $steps } (angalia kila hatua).
js-could-not-run = Uhakiki haukuweza kufanyika.
