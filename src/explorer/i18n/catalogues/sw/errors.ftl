# Kurasa ambazo hazikuweza kuonyeshwa.

error-title-400 = Ombi si sahihi
error-title-404 = Ukurasa haukupatikana
error-title-415 = Fomu haikubaliki
error-title-429 = Maombi mengi mno
error-title-503 = Huduma haipatikani kwa muda mfupi
error-title-other = Hitilafu
error-field = Sehemu yenye tatizo:
error-way-on = <a href="/">Ukurasa wa mwanzo wa daftari</a> · <a href="/lookup">Tafuta mchango</a>
error-no-charity = Hakuna shirika la hisani lililosajiliwa lenye kitambulisho “{ $org }”.
error-no-campaign = Shirika la hisani “{ $org }” halina kampeni yenye kitambulisho “{ $campaign }”.
error-give-donation = Weka pia nambari ya mchango.
error-give-charity = Chagua pia shirika la hisani: nambari za michango ni za kila shirika peke yake.
error-form-type = Tuma fomu ya utafutaji kama application/x-www-form-urlencoded.
error-form-undecodable = Fomu haisomeki.
error-form-unknown-field = Sehemu ya fomu isiyojulikana “{ $name }”; fomu ina org na donor_ref.
error-form-repeated = { $name } imetolewa zaidi ya mara moja.
error-form-give-charity = Chagua shirika la hisani.
error-form-give-reference = Weka kitambulisho chako cha mchangiaji.
error-language = Chagua mojawapo ya: { $languages }.
error-back = Toa njia iliyo kwenye tovuti hii, inayoanza na “/” moja.
error-no-donation = { $org } halina mchango wenye nambari “{ $donation }”. Hakikisha nambari iliyo kwenye risiti yako.
error-outage = Daftari haliwezi kusomwa kwa sasa. Jaribu tena baada ya muda mfupi.
error-in-english = Huduma inaeleza (kwa Kiingereza):
