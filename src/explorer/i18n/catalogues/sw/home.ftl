# Ukurasa wa mwanzo: daftari ni nini, mashirika ya hisani, kutafuta mchango.

home-title = Daftari la umma
home-heading = Daftari la umma la michango na malipo
home-lead = Mashirika ya hisani huandika kila mchango yanayopokea na kila malipo yanayofanya katika daftari hili lililotiwa sahihi, ambalo huongezewa tu na halifutwi. Tafuta mchango wako uone ulikokwenda — kivinjari chako chenyewe kinakagua uthibitisho.
home-find = Tafuta mchango wangu
form-charity = Shirika la hisani
form-charity-choose = Chagua shirika la hisani
form-charity-search = Shirika la hisani (andika jina ili kutafuta)
form-donation = Nambari ya mchango (iliyo kwenye risiti yako)
home-charities = Mashirika ya hisani
home-no-charity = Bado hakuna shirika la hisani lililosajiliwa.
home-first-charities = Yanaonyeshwa mashirika { $count } ya kwanza; <a href="/v1/orgs">API inayaorodhesha yote</a>.
home-this-log = Daftari hili
home-origin = Asili (jina la daftari)
home-entries = Maingizo
home-key = Ufunguo wa uhakiki
home-key-note = Ufunguo unaoonyeshwa na seva hii hauthibitishi chochote peke yake: ulinganishe na ufunguo ambao shirika la hisani linauchapisha kwenye tovuti yake au katika ripoti zake, kisha uubandike kwenye <a href="/lookup">ukurasa wa kutafuta</a>.
home-checkpoint = Kituo cha ukaguzi cha mwisho kilichotiwa sahihi
