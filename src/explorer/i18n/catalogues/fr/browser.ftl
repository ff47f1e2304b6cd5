# Ce que dit le navigateur du visiteur pendant qu’il vérifie les reçus d’un don (assets/lookup.js).
# Le navigateur remplit lui-même chaque { $name } ; ces messages n’ont pas de formes plurielles :
# un nombre qui en demande une a un message par forme (-one, -other).

js-check = Vérification
js-step-new = Entrée { $seq } (nouvelle depuis le chargement de cette page)
js-step-verified = ✔ vérifié
js-step-failed = ✘ échec : { $reason }
js-history-first = Premier point de contrôle mémorisé
js-history-first-detail = Ce navigateur vous avertira si ce registre affiche un jour moins de { $size } entrées ou un historique différent.
js-rollback = RETOUR EN ARRIÈRE : le registre a rétréci
js-rollback-detail = Vous aviez déjà vu ce registre à { $seen } entrées ; ce serveur affiche maintenant un point de contrôle signé de { $size } entrées. Un registre ne rétrécit jamais : ce serveur montre un état ancien, ou un autre registre.
js-fork-root = BIFURCATION : deux registres différents de même taille
js-fork-root-detail = À { $seen } entrées, vous aviez vu la racine { $root_seen } ; ce serveur signe la racine { $root }. Le registre a montré des historiques différents à des personnes différentes.
js-history-same = Même point de contrôle que lors de votre dernière visite
js-fork-proof = BIFURCATION : le registre ne concorde pas avec ce que vous aviez vu
js-grew = Le registre a grandi de façon cohérente
js-grew-detail-one = De { $seen } entrée (lors de votre dernière visite) à { $size } entrées, avec la preuve qu’il prolonge ce que vous aviez vu.
js-grew-detail-other = De { $seen } entrées (lors de votre dernière visite) à { $size } entrées, avec la preuve qu’il prolonge ce que vous aviez vu.
js-no-key = Aucune clé épinglée : rien ici n’est encore vérifié.
js-no-key-detail = Collez la clé du registre que l’association publie sur son propre site web ou dans un rapport signé, et épinglez-la. Ou épinglez la clé qu’indique ce serveur — mais seulement après l’avoir comparée avec l’une de ces sources : une clé envoyée par ce même serveur ne prouve rien sur ce serveur.
js-server-key = Clé du serveur : { $key }
js-pin-server = Épingler la clé du serveur (je l’ai comparée)
js-steps-no-key = non vérifié : aucune clé épinglée
js-summary-no-key = Non vérifié : épinglez d’abord une clé.
js-bad-key = La clé épinglée n’est pas une clé de registre valide.
js-steps-bad-key = non vérifié : la clé épinglée n’est pas valide
js-summary-bad-key = Non vérifié : corrigez la clé épinglée.
js-key-mismatch = ATTENTION : la clé du registre de ce serveur n’est pas la clé que vous avez épinglée.
js-key-mismatch-detail = Clé épinglée : { $pinned } — ce serveur indique : { $server }. Soit le registre a changé de clé (vérifiez l’annonce de l’association elle-même), soit ce serveur n’est pas le registre auquel vous faites confiance. Tout ce qui figure ci-dessous est vérifié avec votre clé épinglée.
js-key-match = La clé épinglée est bien la clé de ce serveur.
js-key-match-detail = Les reçus sont vérifiés avec la clé { $key }.
js-bad-policy = La politique de témoins épinglée n’est pas valide.
js-steps-bad-policy = non vérifié : la politique de témoins épinglée n’est pas valide
js-summary-bad-policy = Non vérifié : corrigez ou oubliez la politique de témoins épinglée.
js-no-policy = Aucune politique de témoins épinglée : les témoins ne sont pas vérifiés.
js-no-policy-detail = La signature du registre ne peut pas, à elle seule, montrer que tout le monde voit ce même registre. Épinglez la politique de témoins que publie l’association pour que votre navigateur vérifie que des témoins en qui vous avez confiance l’ont cosigné.
js-witnessed = Attesté par les témoins, comme l’exige votre politique.
js-witnessed-by = Cosigné par { $witnesses } : ils n’ont vu aucun autre historique de ce registre.
js-witnessed-none-required = Votre politique n’exige aucune cosignature (quorum none).
js-not-witnessed = NON ATTESTÉ PAR LES TÉMOINS comme l’exige votre politique.
js-summary-verified-one = L’unique étape a été vérifiée par votre navigateur : l’entrée figure dans le registre de { $size } entrées dont votre clé épinglée a signé le point de contrôle.
js-summary-verified-other = Les { $steps } étapes ont toutes été vérifiées par votre navigateur : chaque entrée figure dans le registre de { $size } entrées dont votre clé épinglée a signé le point de contrôle.
js-summary-failed = Étapes en ÉCHEC de vérification : { $failed } sur { $steps } (voir chaque étape).
js-could-not-run = La vérification n’a pas pu être effectuée.
