# La page d’accueil : ce qu’est le registre, les associations, retrouver un don.

home-title = Registre public
home-heading = Un registre public des dons et des versements
home-lead = Les associations inscrivent chaque don qu’elles reçoivent et chaque versement qu’elles effectuent dans ce registre signé, auquel on peut seulement ajouter. Recherchez votre don pour voir où il est allé — votre navigateur vérifie lui-même la preuve.
home-find = Retrouver mon don
form-charity = Association
form-charity-choose = Choisissez une association
form-charity-search = Association (tapez son nom pour la chercher)
form-donation = Identifiant du don (sur votre reçu)
home-charities = Associations
home-no-charity = Aucune association n’est encore enregistrée.
home-first-charities = Voici les { $count } premières associations ; <a href="/v1/orgs">l’API les liste toutes</a>.
home-this-log = Ce registre
home-origin = Origine (le nom du registre)
home-entries = Entrées
home-key = Clé de vérification
home-key-note = Une clé affichée par ce serveur ne prouve rien à elle seule : comparez-la avec la clé que l’association publie sur son propre site ou dans ses rapports, puis épinglez-la sur la <a href="/lookup">page de recherche</a>.
home-checkpoint = Dernier point de contrôle signé
