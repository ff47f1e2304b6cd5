# Les pages qui n’ont pas pu être affichées.

error-title-400 = Requête incorrecte
error-title-404 = Page introuvable
error-title-415 = Formulaire non pris en charge
error-title-429 = Trop de requêtes
error-title-503 = Momentanément indisponible
error-title-other = Erreur
error-field = Champ en cause :
error-way-on = <a href="/">Accueil du registre</a> · <a href="/lookup">Retrouver un don</a>
error-no-charity = Aucune association n’est enregistrée avec l’identifiant « { $org } ».
error-no-campaign = L’association « { $org } » n’a pas de campagne avec l’identifiant « { $campaign } ».
error-give-donation = Indiquez aussi l’identifiant du don.
error-give-charity = Choisissez aussi l’association : les identifiants de don sont propres à chaque association.
error-form-type = Envoyez le formulaire de recherche au format application/x-www-form-urlencoded.
error-form-undecodable = Le formulaire est illisible.
error-form-unknown-field = Champ de formulaire inconnu « { $name } » ; le formulaire contient org et donor_ref.
error-form-repeated = { $name } est indiqué plus d’une fois.
error-form-give-charity = Choisissez l’association.
error-form-give-reference = Indiquez votre référence de donateur.
error-language = Choisissez l’une de ces langues : { $languages }.
error-back = Indiquez un chemin sur ce site, qui commence par un seul « / ».
error-no-donation = { $org } n’a aucun don portant l’identifiant « { $donation } ». Vérifiez l’identifiant sur votre reçu.
error-outage = Le registre ne peut pas être lu pour le moment. Réessayez dans un instant.
error-in-english = Le service explique (en anglais) :
