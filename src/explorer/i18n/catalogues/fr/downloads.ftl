# La page des téléchargements.

downloads-title = Téléchargements
bundle-heading = Tout le registre, vérifiable hors ligne
bundle-download = Télécharger l’archive complète ({ $file })
bundle-about = L’archive contient chaque entrée et chaque fichier CSV ci-dessous au dernier point de contrôle signé (actuellement { $size } entrées), avec <code>checkpoint.txt</code> et un <code>datapackage.json</code> qui donne le SHA-256 de chaque fichier. Pour la vérifier, obtenez la clé du registre auprès d’une source de confiance (le site de l’association elle-même ou un rapport signé — pas seulement ce serveur), puis :
bundle-server-key = Selon ce serveur, sa clé est
bundle-checks = Le vérificateur recalcule chaque empreinte (hash), la racine de Merkle, la signature du point de contrôle, chaque CSV dérivé octet par octet et chaque règle sur l’argent, et indique le fichier, la ligne et le champ de toute erreur. <code>--min-size</code> empêche une ancienne archive de passer pour une archive à jour.
csv-heading-org = Fichiers CSV de { $org }
csv-org-about = Uniquement les lignes de cette association (<a href="/downloads">toutes les associations</a>). Un extrait sert à la lecture dans un tableur ; pour vérifier, utilisez l’archive complète ci-dessus ou comparez les entrées de lignes précises avec leurs reçus.
csv-heading = Fichiers CSV
csv-about = Les fichiers de l’archive un par un, produits au dernier point de contrôle ; octet pour octet, ce sont les fichiers d’une archive de même taille. Les cellules de texte qui commencent par <code>=</code>, <code>+</code>, <code>-</code> ou <code>@</code> reçoivent un <code>'</code> au début, pour qu’un tableur ne les exécute jamais.

# Ce que contient chaque fichier de l’archive (un message par fichier, nommé table- suivi du nom du fichier sans .csv).
table-entries = chaque entrée, avec ses octets exacts et ses empreintes
table-orgs = les associations (name_effective et charity_number_effective : après correction)
table-beneficiaries = les bénéficiaires enregistrés par les associations (label_effective : après correction)
table-campaigns = les campagnes avec leurs totaux (title_effective et purpose_effective : après correction)
table-stated_beneficiaries = qui chaque campagne peut payer, déclaré à l’avance
table-donations = les dons
table-disbursements = les versements (purpose_effective : après correction)
table-flows = quel don a financé quel versement, et pour quel montant
table-corrections = les corrections des champs qui ne concernent pas l’argent
table-org_keys = les clés des associations, telles qu’enregistrées, déclarées par l’opérateur et renouvelées
table-acknowledgements = les confirmations et contestations de versements signées par les bénéficiaires
table-reports = les rapports signés des associations
table-report_figures = chaque chiffre de chaque rapport signé
