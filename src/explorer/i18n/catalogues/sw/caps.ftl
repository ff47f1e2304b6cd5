# Viwango vya juu vilivyotangazwa na kampeni kwa malipo kwa watu.

caps-heading = Viwango vya juu vilivyotangazwa vya malipo kwa watu
caps-about = Shirika la hisani lilitangaza viwango hivi lilipofungua kampeni. Daftari linakataa malipo yoyote kwa mtu ambayo yangezidi kimojawapo, na kila anayehakiki daftari hukagua tena kila malipo. Siku na miezi huhesabiwa kwa saa za UTC, kulingana na tarehe malipo yalipofanyika kama shirika la hisani linavyoeleza, au vinginevyo tarehe yalipoandikwa kwenye daftari.
caps-per-day = Kwa kila mtu kwa siku
caps-per-month = Kwa kila mtu kwa mwezi
caps-payouts-per-day = Idadi ya malipo kwa kila mtu kwa siku
caps-cannot = <strong>Kile ambacho kiwango hakiwezi kuzuia.</strong> Kiwango kinahesabiwa kwa kila mnufaika kama shirika la hisani lilivyomsajili, na kwa kila kampeni, si kwa kila binadamu: mtu mmoja mwenye majina bandia mawili, au anayelipwa na kampeni mbili, anaweza kulipwa mara mbili ya kiwango. Tena, tarehe ambayo malipo yalifanyika ni kauli ya shirika tu; daftari linakataa tu malipo yenye tarehe ya baada ya kuandikwa kwenye daftari, kwa hiyo malipo yenye tarehe ya uongo ya siku au mwezi mwingine yanahesabiwa katika siku au mwezi huo.
spread-heading = Jinsi malipo yalivyogawanyika kati ya watu
spread-nobody = Bado hakuna mtu aliyelipwa na kampeni hii.
spread-caption = Kile ambacho kila mtu alipokea kutoka kampeni hii katika mwezi mmoja: rekodi { $count } za mtu kwa mwezi, zilizopangwa katika nguzo kulingana na kiasi (mtu aliyelipwa katika miezi mitatu anahesabiwa mara tatu).
spread-numbers = Takwimu zenyewe
spread-col-received = Kilichopokelewa kwa mwezi
spread-col-count = Rekodi za mtu kwa mwezi
spread-range = { $from } hadi { $to }
spread-bar = { $range }: rekodi { $count } za mtu kwa mwezi
