# Les plafonds publiés d’une campagne pour les versements aux personnes.

caps-heading = Plafonds publiés des versements aux personnes
caps-about = L’association a publié ces plafonds à l’ouverture de la campagne. Le registre refuse tout versement à une personne qui en dépasserait un, et chaque vérificateur contrôle à nouveau chaque versement. Les jours et les mois sont comptés en UTC, à la date du versement telle que l’association la déclare, ou à défaut à la date de son inscription au registre.
caps-per-day = Par personne et par jour
caps-per-month = Par personne et par mois
caps-payouts-per-day = Versements par personne et par jour
caps-cannot = <strong>Ce qu’un plafond ne peut pas empêcher.</strong> Un plafond se compte par bénéficiaire, tel que l’association l’a enregistré, et par campagne, pas par être humain : une même personne sous deux pseudonymes, ou payée par deux campagnes, peut recevoir deux fois le plafond. Et la date d’un versement n’est que la parole de l’association ; le registre refuse seulement une date postérieure à l’inscription au registre, donc un versement faussement daté d’un autre jour ou d’un autre mois est compté dans celui-ci.
spread-heading = Comment les versements se répartissent entre les personnes
spread-nobody = Aucune personne n’a encore été payée par cette campagne.
spread-caption = Ce que chaque personne a reçu de cette campagne en un mois : { $count } mois-personnes, regroupés en barres selon le montant (une personne payée sur trois mois compte trois fois).
spread-numbers = Les chiffres
spread-col-received = Reçu en un mois
spread-col-count = Mois-personnes
spread-range = { $from } à { $to }
spread-bar = { $range } : { $count } mois-personnes
