# La page d’une campagne.

campaign-crumb = campagne
campaign-about = Campagne <code>{ $id }</code> en { $currency }, ouverte le { $date }.
campaign-money = Les fonds
campaign-received = Reçu
campaign-received-note = { $donations }, dont { $fees } de frais
campaign-received-none = Aucun don pour l’instant
campaign-paid-out = Versé
campaign-held = Conservé
campaign-held-note = reçu, frais déduits, pas encore versé
confirmed-heading = Confirmé par les bénéficiaires
confirmed-nothing-paid = Rien n’a encore été versé : les bénéficiaires n’ont donc rien à confirmer.
confirmed-none = Aucun bénéficiaire n’a encore confirmé ni contesté de versement.
confirmed-acknowledged = Les bénéficiaires ont confirmé, avec leur propre signature, des versements d’un total de <strong>{ $amount }</strong> ({ $share } de tout ce qui a été versé, { $payouts }).
confirmed-disputed = Ils ont contesté { $amount } ({ $share }, { $payouts }), en déclarant n’avoir reçu que { $arrived }.
confirmed-open = { $amount } n’est ni confirmé ni contesté.
confirmed-caveat = Une confirmation ne vaut que ce que vaut l’origine de la clé du bénéficiaire, telle que l’association l’a déclarée.
flows-heading = Où est allé l’argent
flows-caption = De tout ce qui a été reçu (à gauche) vers chaque bénéficiaire déclaré, les frais de fonctionnement, les remboursements, les frais de paiement et ce qui est encore conservé (à droite) ; chaque bande est aussi large que son montant.
sankey-source = Dons reçus
sankey-fees = Frais de paiement
sankey-held = Conservé, pas encore versé
sankey-unlisted = Autres bénéficiaires
sankey-group-other = autres : { $group }
group-person = { $count ->
    [one] { $count } personne
   *[other] { $count } personnes
}
group-organization = { $count ->
    [one] { $count } organisation
   *[other] { $count } organisations
}
group-supplier = { $count ->
    [one] { $count } fournisseur
   *[other] { $count } fournisseurs
}
group-overhead = { $count ->
    [one] { $count } ligne de frais de fonctionnement
   *[other] { $count } lignes de frais de fonctionnement
}
group-refunds = { $count ->
    [one] { $count } ligne de remboursement
   *[other] { $count } lignes de remboursement
}
group-other = { $count ->
    [one] { $count } bénéficiaire
   *[other] { $count } bénéficiaires
}
stated-heading = Bénéficiaires déclarés
stated-about = L’association les a déclarés avant de les payer ; le registre refuse tout versement à quelqu’un d’autre.
stated-none = Aucun bénéficiaire n’est encore déclaré pour cette campagne.
col-beneficiary = Bénéficiaire
col-kind = Type
col-paid = Versé
col-payouts = Versements
latest-heading = Derniers versements
latest-none = Aucun versement pour l’instant.
col-payout = Versement
col-to = Destinataire
col-amount = Montant
col-when = Date
col-says = Selon le bénéficiaire
payout-logged = inscrit au registre le { $date }
says-received = reçu
says-disputed = contesté : a reçu { $amount }
says-nothing = non confirmé
campaign-data = Les données de cette campagne
campaign-data-flows = (quel don a financé quel versement)
