# Mentor — français (fr-FR). Chaque phrase visible vit ici et dans en-US/mentor.ftl ;
# un test garde les deux fichiers en parité. Les variables sont entre { $accolades }.

## Démon

mentord-about = Le démon de Mentor : il garde vos carnets et les tâches de fond, et sert le client `mentor` sur un socket privé. Il tourne au premier plan ; `mentor daemon start` le lance en arrière-plan.
err-no-home = Impossible de trouver votre répertoire personnel ({ $detail }). Définissez MENTOR_HOME sur un répertoire que Mentor peut utiliser.
err-daemon-already-running = Un autre démon Mentor tourne déjà (pid { $pid }). Arrêtez-le d’abord avec `mentor daemon stop`.
err-unsafe-dir = Refus d’utiliser { $path } : { $reason }. Mentor garde son socket dans un répertoire privé ; supprimez ou corrigez ce chemin puis réessayez.
err-daemon-io = Impossible d’utiliser { $path } : { $reason }
err-socket-path-too-long = Le chemin du socket { $path } est trop long pour un socket Unix. Donnez à MENTOR_HOME un répertoire plus court.
err-database-open = Impossible d’ouvrir la base de données : { $detail }

## Configuration

err-config = Configuration invalide dans { $file }{ $place } : { $detail }. Corrigez cette ligne ou supprimez-la (`mentor config show` affiche chaque clé avec sa valeur).
config-place-line-key = , ligne { $line }, clé `{ $key }`
config-place-line = , ligne { $line }
config-place-key = , clé `{ $key }`
config-problem-unreadable = le fichier est illisible ({ $reason })
config-problem-range = la valeur doit être comprise entre { $min } et { $max }
config-problem-language = langue inconnue « { $value } » (Mentor parle en-US et fr-FR)
config-problem-url = « { $value } » n’est pas une URL http:// ou https://
config-problem-empty = la valeur ne doit pas être vide
config-problem-voice = `{ $value }` n’est pas un nom de voix : utilisez un seul mot fait de lettres, de chiffres et de + - _ . / :
config-problem-one-of = « { $value } » n’est pas accepté ici ; utilisez l’une de ces valeurs : { $allowed }
config-problem-off-or-range = la valeur doit être 0 (désactivé) ou comprise entre { $min } et { $max }
config-problem-sequences = { $sequences } séquences auraient chacune { $share } des { $context } jetons de llm.local.context_tokens, moins que les { $min } dont une requête a besoin : augmentez llm.local.context_tokens ou réduisez llm.local.sequences
config-problem-env = la variable d’environnement { $var } a une valeur invalide

## Erreurs venant du démon

err-version-mismatch = Ce `mentor` parle la version { $client } du protocole, mais le démon en cours parle la version { $daemon }. Redémarrez le démon avec `mentor daemon stop` (la commande suivante lancera le nouveau).
err-handshake-required = Le démon attend d’abord une poignée de main de version. Mettez à jour votre client, ou redémarrez le démon avec `mentor daemon stop`.
err-shutting-down = Le démon est en train de s’arrêter. Réessayez dans un instant.
err-notebook-not-found = Aucun carnet ne s’appelle « { $reference } ». `mentor notebook list` affiche vos carnets.
err-notebook-ambiguous = Plusieurs carnets s’appellent « { $reference } » ; désignez-en un par son identifiant :
    { $matches }
err-objective-not-found = Aucun objectif « { $reference } » dans ce carnet. `mentor notebook objectives list CARNET` les affiche avec leurs numéros.
err-source-not-found = Aucune source « { $reference } ». `mentor source list CARNET` affiche les identifiants.
err-empty-field = Le champ « { $field } » ne doit pas être vide.
err-field-too-long = Le champ « { $field } » est trop long ({ $max } caractères au plus).
err-file-missing = { $path } : fichier introuvable. Vérifiez le chemin.
err-file-is-directory = { $path } est un répertoire. Donnez les fichiers qu’il contient, par exemple `{ $path }/*.md`.
err-file-unreadable = Impossible de lire { $path } : { $reason }
err-source-too-large = { $origin } est trop volumineux ({ $size } ; la limite est { $limit }). Découpez-le, ou augmentez `sources.max_bytes` dans la configuration.
err-source-unsupported = { $origin } : type non pris en charge ({ $detail }). Mentor lit le texte brut, le Markdown, le PDF et le HTML.
err-source-binary = { $origin } ressemble à un fichier binaire, pas à du texte. Mentor lit le texte brut, le Markdown, le PDF et le HTML.
err-source-not-utf8 = { $origin } n’est pas du texte UTF-8 (octet invalide à la position { $offset }). Convertissez-le d’abord, par exemple `iconv -f latin1 -t utf-8`.
err-source-empty = { $origin } ne contient aucun texte dont apprendre.
err-source-pdf = Impossible de lire le PDF { $origin } : { $reason }
err-source-duplicate = { $origin } est déjà dans ce carnet ({ $existing }). Retirez-le d’abord pour l’ajouter à nouveau.
err-url-invalid = « { $url } » n’est pas une URL http:// ou https:// valide.
err-url-unreachable = Impossible de récupérer { $url } : { $reason }. Vérifiez l’adresse et votre connexion.
err-url-status = { $url } a répondu avec le statut HTTP { $status }.
err-empty-query = La recherche ne contient aucun mot à chercher.
err-storage = La base de données a échoué : { $message }. Vos données sont intactes ; voyez `mentor daemon logs`.
err-storage-busy = La base de données est verrouillée par un autre programme (un navigateur SQLite, une sauvegarde, une autre copie de Mentor…) et l’est restée trop longtemps. Rien n’a été modifié : fermez ce programme, puis réessayez.
err-storage-full = Le disque qui contient les données de Mentor est plein : rien n’a pu être enregistré. Ce qui l’était déjà est intact : libérez de la place (`mentor daemon status` indique où se trouve la base de données), puis réessayez.
err-internal = Erreur interne du démon : { $message }. Voyez `mentor daemon logs`.

field-title = titre
field-objective = objectif
field-module-prompt = consigne du module
field-url = URL
field-paths = liste de fichiers

## Client : connexion et contrôle du démon

daemon-starting = Démarrage du démon Mentor…
daemon-started = Démon Mentor démarré (pid { $pid }).
daemon-already-running = Le démon Mentor tourne déjà (pid { $pid }).
daemon-not-running = Le démon Mentor ne tourne pas.
daemon-stopped = Démon Mentor arrêté (pid { $pid }).
daemon-stop-timeout = le démon (pid { $pid }) ne s’est pas arrêté en 20 secondes ; voyez `mentor daemon logs`
daemon-no-logs = Pas encore de journal dans { $path } : le démon n’a jamais tourné avec ce MENTOR_HOME.
daemon-status-running = Le démon Mentor tourne (pid { $pid }).
daemon-status-version = Version
daemon-status-uptime = Actif depuis
daemon-status-socket = Socket
daemon-status-database = Base de données
daemon-status-log = Journal
daemon-status-clients = Clients
daemon-status-notebooks = Carnets
daemon-status-sources = Sources
err-connection-lost = Connexion au démon perdue ({ $reason }). Si cela se répète, voyez `mentor daemon logs`.
err-connection-closed = le démon a fermé la connexion
err-mentord-not-found = Programme `mentord` introuvable à côté de `mentor` ou dans votre PATH. Lancez ./install.sh, ou indiquez son chemin dans MENTORD.
err-daemon-start-failed = Le démon Mentor n’a pas pu démarrer : { $detail }
daemon-start-silent = il s’est arrêté (code de sortie { $code }) sans dire pourquoi, et rien n’a pu être lu dans { $path }. Vérifiez l’espace disque libre, puis `mentor daemon logs`.
err-daemon-start-timeout = Le démon Mentor n’a pas répondu après son démarrage. Voyez son journal : { $log }
err-socket-permission = Permission refusée sur le socket du démon { $path }. Il appartient à un autre utilisateur ; chaque utilisateur a son propre démon.
err-io = { $path } : { $reason }
err-path-not-utf8 = Le chemin { $path } n’est pas de l’UTF-8 valide ; renommez le fichier et réessayez.
err-confirmation-needed = Cette commande supprime des données et aucun terminal ne permet de confirmer. Ajoutez --yes pour confirmer.
err-aborted = Rien n’a été modifié.
confirm-suffix = [o/N]
confirm-yes-letter = o

## Client : résultats

age-ago = il y a { $age }
col-id = ID
col-title = TITRE
col-sources = SOURCES
col-objectives = OBJECTIFS
col-updated = MODIFIÉ
col-kind = TYPE
col-size = TAILLE
col-added = AJOUTÉ
notebook-created = Carnet « { $title } » créé ({ $id }).
notebook-list-empty = Aucun carnet pour l’instant. Créez-en un avec `mentor notebook create "Biologie 101"`.
notebook-renamed = Renommé en « { $title } ».
notebook-deleted = Carnet « { $title } » supprimé avec ses { $sources } sources.
notebook-delete-confirm = Supprimer le carnet « { $title } » avec ses { $sources } sources, ses objectifs et sa conversation ?
notebook-prompt-empty = (pas de consigne de module)
notebook-show-dates = Créé le { $created }, modifié { $updated }
notebook-show-prompt = Consigne du module :
notebook-show-objectives = Objectifs ({ $met }/{ $total } atteints) :
notebook-show-sources = Sources ({ $count }) :
objective-added = Objectif { $position } ajouté : { $text }
objective-removed = Objectif retiré : { $text }
objective-list-empty = Aucun objectif pour l’instant. Ajoutez-en un avec `mentor notebook objectives add CARNET "Expliquer la photosynthèse"`.
objective-evidence = atteint : { $evidence }
source-added = « { $title } » ajoutée ({ $id }, { $kind }, { $chunks } passages indexés).
source-list-empty = Aucune source pour l’instant. Ajoutez-en avec `mentor source add CARNET notes.md`.
source-removed = Source « { $title } » retirée.
source-show-meta = { $kind } · { $origin } · { $size } · { $chunks } passages
source-show-truncated = (Le texte est coupé ici : il est trop long pour être affiché en entier. `mentor source search` trouve des passages partout dedans.)
source-search-none = Rien trouvé.
config-show-file = configuration en vigueur : { $path } plus l’environnement
config-show-local-model = modèle utilisé : { $model }, le modèle local ({ $path })
config-show-server-model = modèle utilisé : { $model }, sur le serveur { $url }
config-show-defaults = configuration en vigueur : valeurs par défaut plus l’environnement ({ $path } n’existe pas)

## Aide de la ligne de commande

cli-heading-usage = Utilisation :
cli-heading-commands = Commandes
cli-heading-arguments = Arguments
cli-heading-options = Options
cli-value-command = COMMANDE
cli-about = Mentor, un professeur IA pour le terminal : des carnets de sources, et un professeur qui enseigne à partir d’eux.
cli-arg-json = Afficher du JSON lisible par une machine au lieu de texte
cli-arg-help = Afficher l’aide
cli-arg-version = Afficher la version
cli-arg-notebook = Identifiant ou titre du carnet
cli-arg-source = Identifiant de la source (tel que `mentor source list` l’affiche)
cli-daemon-about = Démarrer, arrêter et inspecter le démon d’arrière-plan
cli-daemon-start-about = Démarrer le démon en arrière-plan (rien ne se passe s’il tourne déjà)
cli-daemon-stop-about = Arrêter proprement le démon
cli-daemon-status-about = Indiquer si le démon tourne, avec ses détails (code de sortie 1 sinon)
cli-daemon-logs-about = Afficher le journal du démon
cli-daemon-logs-arg-lines = Nombre de lignes depuis la fin
cli-daemon-logs-arg-follow = Continuer d’afficher les nouvelles lignes au fil de l’eau
cli-notebook-about = Gérer les carnets
cli-notebook-create-about = Créer un carnet
cli-notebook-create-arg-title = Titre du nouveau carnet
cli-notebook-create-arg-prompt = Consignes pour le professeur dans ce carnet (consigne du module)
cli-notebook-create-arg-prompt_file = Lire la consigne du module dans un fichier
cli-notebook-list-about = Lister les carnets, du plus récemment modifié au plus ancien
cli-notebook-show-about = Afficher un carnet avec ses objectifs et ses sources
cli-notebook-rename-about = Renommer un carnet
cli-notebook-rename-arg-title = Le nouveau titre
cli-notebook-prompt-about = Afficher ou modifier la consigne du module d’un carnet
cli-notebook-prompt-arg-set = Remplacer la consigne du module par ce texte
cli-notebook-prompt-arg-file = Remplacer la consigne du module par le contenu d’un fichier
cli-notebook-prompt-arg-clear = Supprimer la consigne du module
cli-notebook-delete-about = Supprimer un carnet avec tout son contenu
cli-notebook-delete-arg-yes = Ne pas demander de confirmation
cli-notebook-objectives-about = Gérer les objectifs d’apprentissage d’un carnet
cli-notebook-objectives-add-about = Ajouter un objectif d’apprentissage
cli-notebook-objectives-add-arg-text = Ce que l’apprenant doit savoir faire
cli-notebook-objectives-list-about = Lister les objectifs d’apprentissage avec leurs numéros
cli-notebook-objectives-remove-about = Retirer un objectif d’apprentissage
cli-notebook-objectives-remove-arg-objective = Numéro de l’objectif (tel que listé) ou identifiant
cli-source-about = Gérer les sources d’un carnet
cli-source-add-about = Ajouter des fichiers ou une URL à un carnet (tous, ou aucun si l’un échoue)
cli-source-add-arg-paths = Fichiers à ajouter (texte, Markdown, PDF, HTML)
cli-source-add-arg-url = Une page web ou un document à récupérer au lieu de fichiers
cli-source-list-about = Lister les sources d’un carnet
cli-source-show-about = Afficher le texte extrait d’une source
cli-source-remove-about = Retirer une source
cli-source-search-about = Chercher dans les sources d’un carnet
cli-source-search-arg-query = Mots à chercher
cli-source-search-arg-limit = Nombre maximal de résultats
cli-config-about = Afficher la configuration
cli-config-show-about = Afficher la configuration en vigueur (la clé d’API est masquée)
cli-config-path-about = Afficher le chemin du fichier de configuration
cli-config-model-path-about = Afficher le chemin du modèle local (llm.local.model, ou là où ./install.sh le met)
cli-completions-about = Afficher un script de complétion pour le shell
cli-completions-arg-shell = Le shell (bash, zsh, fish, elvish, powershell)

## Command-line usage errors
usage-more-help = Pour en savoir plus, essayez « --help ».
usage-unknown-command = commande inconnue « { $command } »
usage-unknown-argument = argument inattendu « { $arg } »
usage-value-missing = « { $arg } » attend une valeur, mais aucune n’a été donnée
usage-invalid-value = valeur « { $value } » refusée pour « { $arg } »
usage-invalid-choice = valeur « { $value } » refusée pour « { $arg } » (valeurs possibles : { $choices })
usage-value-rejected = valeur « { $value } » refusée pour « { $arg } » : { $reason }
usage-missing-argument = argument obligatoire manquant : { $args }
usage-missing-command = une commande est attendue (parmi : { $commands })
usage-conflict = « { $arg } » ne peut pas s’utiliser avec « { $other } »
usage-too-many-values = valeur en trop « { $value } » pour « { $arg } »
usage-wrong-number-of-values = mauvais nombre de valeurs pour « { $arg } »
usage-no-equals = « { $arg } » attend un « = » avant sa valeur
usage-invalid-utf8 = un argument n’est pas de l’UTF-8 valide
usage-number-range = un nombre entier de { $min } à { $max } est attendu
usage-did-you-mean = astuce : vouliez-vous dire « { $suggestion } » ?
usage-trailing = astuce : pour passer « { $arg } » comme valeur, écrivez « -- { $arg } »

## Jobs
err-job-not-found = Aucune tâche n’a l’identifiant « { $reference } ». `mentor jobs list` les affiche.
err-artifact-not-found = Aucun contenu généré n’a l’identifiant « { $reference } ».
err-no-handler = Ce démon ne sait pas encore produire de tâches { $kind } (aucun gestionnaire installé). Rien n’a été mis en file.
err-job-not-cancellable = La tâche { $job } est { $status } : seule une tâche en attente ou en cours peut être annulée.
err-job-not-retryable = La tâche { $job } est { $status } : seule une tâche échouée ou annulée peut être relancée.
err-invalid-option = { $field } invalide : { $problem }.
field-questions = nombre de questions
field-topic = sujet
field-language = langue
job-kind-podcast = Podcast
job-kind-quiz = Quiz
job-kind-study_guide = Fiche de révision
job-kind-test = Tâche de test
job-status-pending = en attente
job-status-processing = en cours
job-status-completed = terminée
job-status-error = en échec
job-status-cancelled = annulée
job-failure-interrupted = Interrompue : le démon s’est arrêté pendant la dernière tentative ({ $attempts } sur { $max }).
job-failure-timeout = Délai dépassé après { $secs } s.
job-failure-exhausted = { $attempts ->
    [one] Abandon après 1 tentative : { $reason }
   *[other] Abandon après { $attempts } tentatives : { $reason }
}
job-cancelled-by-user = Annulée.
stage-queued = En attente d’un exécuteur
stage-test-step = Étape { $current }/{ $total }
stage-outline = Rédaction du plan
stage-transcript = Écriture du script, partie { $current }/{ $total }
stage-speech = Enregistrement des voix, extrait { $current }/{ $total }
stage-combine = Montage de l’épisode
stage-quiz = Rédaction des questions
stage-guide = Rédaction de la fiche de révision
stage-quiz-question = Rédaction de la question { $current }/{ $total }
stage-guide-overview = Rédaction de la fiche : vue d’ensemble ({ $current }/{ $total })
stage-guide-concepts = Rédaction de la fiche : notions clés ({ $current }/{ $total })
stage-guide-glossary = Rédaction de la fiche : glossaire ({ $current }/{ $total })
stage-guide-questions = Rédaction de la fiche : questions pour réfléchir ({ $current }/{ $total })
job-no-notebook = Cette tâche n’a pas de carnet dont s’inspirer.
job-context-too-small = La fenêtre de contexte du modèle ({ $window } jetons) est trop petite pour la consigne de cette tâche (environ { $tried } jetons), même avec moins de passages. Démarrez le serveur du modèle avec une fenêtre plus grande (llama-server -c, num_ctx d’Ollama), ou indiquez dans [llm] context_tokens la fenêtre qu’il a.
job-bad-kind = Les paramètres de cette tâche ne décrivent pas un(e) { $kind }.
quiz-title = Quiz : { $subject }
guide-key-concepts = Notions clés
guide-glossary = Glossaire
guide-questions = Questions pour réfléchir
guide-sources = Sources
guide-concept-sources = Sources : { $sources }
podcast-write-failed = Impossible d’écrire les fichiers du podcast dans { $path } : { $reason }. Vérifiez l’espace libre et les droits du dossier de données de Mentor.
podcast-audio-failed = Les extraits n’ont pas pu être réunis en un seul fichier audio ({ $reason }). Vérifiez l’espace libre dans le répertoire de données, puis relancez la tâche.

## The model catalog (shared/catalog.toml): what each model is good for

catalog-good-qwen2-5-1-5b = une petite machine : répond dans les deux langues et appelle les outils
catalog-good-qwen2-5-3b = un bon professeur avec 8 Gio, pour étudier chez soi (sa licence est non commerciale)
catalog-good-qwen2-5-7b = le meilleur professeur d’ici, avec 16 Gio de mémoire
catalog-good-qwen3-1-7b = une petite machine, avec du raisonnement (sa réflexion n’est pas montrée)
catalog-good-qwen3-4b = un professeur soigneux avec 8 Gio, avec du raisonnement
catalog-good-llama3-2-3b = un professeur complet avec 8 Gio
catalog-good-smollm2-1-7b = en anglais seulement, léger et rapide
