# Commun à toutes les pages : le cadre, les dates, les montants, les types de bénéficiaire.

site-skip = Aller au contenu
nav-main = Menu principal
nav-lookup = Retrouver un don
nav-downloads = Téléchargements
nav-api = API
nav-language = Langue
page-title-suffix = pennytrail
footer = Chaque chiffre affiché ici provient d’un registre public et signé, auquel on peut seulement ajouter, sans jamais rien effacer. Il prouve ce que l’association a <em>déclaré</em> et que tout le monde voit les mêmes déclarations — pas qu’une déclaration est vraie. <a href="/downloads">Téléchargez tout</a> et vérifiez par vous-même.
crumb-log = Registre

# { $day } { $month } { $year } à { $time } UTC : « 7 décembre 2026 à 01:48 UTC »
date-time = { $day } { $month } { $year } à { $time } UTC
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre

amount-unknown-currency = { $units } unités divisionnaires de { $code }
entry-number = entrée { $seq }
id-label = identifiant

# Le type d’un bénéficiaire, tel qu’une personne le lit.
kind-person = personne
kind-organization = organisation
kind-supplier = fournisseur
kind-overhead = frais de fonctionnement
kind-refunds = remboursements
kind-other = bénéficiaire

donations-count = { $count ->
    [one] { $count } don
   *[other] { $count } dons
}
payouts-count = { $count ->
    [one] { $count } versement
   *[other] { $count } versements
}
