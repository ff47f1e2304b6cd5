# One campaign's page.

campaign-crumb = campaign
campaign-about = Campaign <code>{ $id }</code> in { $currency }, opened { $date }.
campaign-money = Money
campaign-received = Received
campaign-received-note = { $donations }, of which fees { $fees }
campaign-received-none = No donation yet
campaign-paid-out = Paid out
campaign-held = Held
campaign-held-note = received net of fees, not paid out yet
confirmed-heading = Confirmed by the beneficiaries
confirmed-nothing-paid = Nothing has been paid out yet, so there is nothing for beneficiaries to confirm.
confirmed-none = No beneficiary has confirmed or disputed a payout yet.
confirmed-acknowledged = Beneficiaries confirmed, with their own signature, payouts of <strong>{ $amount }</strong> ({ $share } of everything paid out, { $payouts }).
confirmed-disputed = They disputed { $amount } ({ $share }, { $payouts }), saying { $arrived } arrived.
confirmed-open = { $amount } is not confirmed either way.
confirmed-caveat = A confirmation is only as strong as the provenance of the beneficiary's key, which the charity stated.
flows-heading = Where the money went
flows-caption = From everything received (left) to each stated beneficiary, overhead, refunds, payment fees and what is still held (right); each band is as wide as its amount.
sankey-source = Donations received
sankey-fees = Payment fees
sankey-held = Held, not paid out yet
sankey-unlisted = Other beneficiaries
sankey-group-other = others: { $group }
group-person = { $count ->
    [one] { $count } person
   *[other] { $count } people
}
group-organization = { $count ->
    [one] { $count } organisation
   *[other] { $count } organisations
}
group-supplier = { $count ->
    [one] { $count } supplier
   *[other] { $count } suppliers
}
group-overhead = { $count ->
    [one] { $count } overhead line
   *[other] { $count } overhead lines
}
group-refunds = { $count ->
    [one] { $count } refund line
   *[other] { $count } refund lines
}
group-other = { $count ->
    [one] { $count } beneficiary
   *[other] { $count } beneficiaries
}
stated-heading = Stated beneficiaries
stated-about = The charity stated these before paying them; the log refuses a payout to anyone else.
stated-none = No beneficiary is stated for this campaign yet.
col-beneficiary = Beneficiary
col-kind = Kind
col-paid = Paid
col-payouts = Payouts
latest-heading = Latest payouts
latest-none = No payout yet.
col-payout = Payout
col-to = To
col-amount = Amount
col-when = When
col-says = Beneficiary says
payout-logged = logged { $date }
says-received = received
says-disputed = disputed: { $amount } arrived
says-nothing = not confirmed
campaign-data = This campaign's data
campaign-data-flows = (which donation funded which payout)
