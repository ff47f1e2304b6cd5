# A campaign's published limits on payouts to people.

caps-heading = Published limits on payouts to people
caps-about = The charity published these limits when it opened the campaign. The log refuses any payout to a person that would pass one, and every verifier checks each payout again. Days and months are UTC, counted when the payout happened as the charity states it, or else when it was logged.
caps-per-day = Per person per day
caps-per-month = Per person per month
caps-payouts-per-day = Payouts per person per day
caps-cannot = <strong>What a limit cannot stop.</strong> A limit counts per beneficiary as the charity registered them and per campaign, not per human being: one person holding two pseudonyms, or paid from two campaigns, can be paid twice the limit. And the date a payout happened is the charity's word; the log only refuses one dated after it was logged, so a payout dated falsely into another day or month is counted there.
spread-heading = How payouts spread over people
spread-nobody = No person has been paid from this campaign yet.
spread-caption = What each person received from this campaign in a month: { $count } person-months, grouped into bars by amount (a person paid in three months counts three times).
spread-numbers = The numbers
spread-col-received = Received in a month
spread-col-count = Person-months
spread-range = { $from } to { $to }
spread-bar = { $range }: { $count } person-months
