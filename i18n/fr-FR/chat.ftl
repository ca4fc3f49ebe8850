# La conversation avec le professeur : erreurs du serveur de modèle, annonces du démon, et les
# commandes chat et profile.

err-llm-unreachable = Impossible de joindre le serveur de modèle à { $url } ({ $reason }). Démarrez-le (pour Ollama : `ollama serve`), ou indiquez un autre serveur avec `llm.base_url` dans le fichier de configuration ou la variable MENTOR_LLM_URL.
err-llm-timeout-connect = Le serveur de modèle à { $url } n’a pas accepté la connexion en { $secs } s. Vérifiez qu’il tourne, ou augmentez `llm.connect_timeout_secs`.
err-llm-timeout-first-token = Le serveur de modèle à { $url } n’a rien répondu en { $secs } s. Un modèle local est peut-être encore en chargement : réessayez, ou augmentez `llm.first_token_timeout_secs`.
err-llm-timeout-idle = Le serveur de modèle à { $url } n’a plus rien envoyé pendant { $secs } s au milieu d’une réponse. Réessayez, ou augmentez `llm.idle_timeout_secs`.
err-llm-status = Le serveur de modèle à { $url } a répondu HTTP { $status } : { $message }{ $hint }
err-llm-hint-auth = {" "}Vérifiez la clé d’API (`llm.api_key` ou MENTOR_LLM_API_KEY).
err-llm-hint-model = {" "}Vérifiez le nom du modèle (`llm.model`) et l’URL (`llm.base_url`, qui finit d’ordinaire par /v1).
err-llm-hint-busy = {" "}Le serveur est occupé ou limite le débit : attendez un instant et réessayez.
err-llm-hint-retry-after = {" "}Le serveur est occupé ou limite le débit, et demande d’attendre { $secs } s : réessayez ensuite.
err-llm-hint-server = {" "}Le serveur a échoué : consultez son journal, puis réessayez.
err-llm-protocol = Le serveur de modèle à { $url } a envoyé une réponse illisible pour Mentor ({ $reason }). Vérifiez que `llm.base_url` désigne une API compatible OpenAI.
err-llm-cut = Le serveur de modèle à { $url } s’est arrêté au milieu de sa réponse ({ $reason }). Ce qui était arrivé est conservé ; réessayez, et si cela se reproduit, consultez le journal du serveur.
err-tool-rounds = { $rounds ->
    [one] Le professeur a continué d’appeler des outils sans répondre après 1 tour d’appels d’outils ; la réponse a donc été arrêtée. Reposez la question, peut-être plus précisément, ou autorisez plus de tours avec `chat.max_tool_rounds` dans le fichier de configuration.
   *[other] Le professeur a continué d’appeler des outils sans répondre après { $rounds } tours d’appels d’outils ; la réponse a donc été arrêtée. Reposez la question, peut-être plus précisément, ou autorisez plus de tours avec `chat.max_tool_rounds` dans le fichier de configuration.
}
net-connection-refused = connexion refusée
net-connection-reset = connexion réinitialisée par le serveur
net-connection-aborted = connexion interrompue
net-closed = le serveur a fermé la connexion
net-timed-out = délai dépassé
net-host-unreachable = hôte injoignable
net-network-unreachable = réseau injoignable
net-addr-not-available = adresse non disponible
net-ended-early = la connexion s’est fermée avant la fin
err-llm-output = La réponse du modèle n’avait pas la forme attendue, même après lui avoir demandé de la corriger : { $reason }. Un modèle plus grand fera peut-être mieux.
err-llm-preempted = la requête au modèle a cédé la place à la conversation ; elle reprend dès que le modèle est libre
err-reply-looped = Mentor a arrêté cette réponse : le modèle se répétait en boucle. Reposez la question autrement ; un modèle plus grand boucle moins.
err-local-model-missing = Aucun modèle local à { $path }. Installez celui par défaut avec `./install.sh`, ou un autre fichier GGUF avec `./install.sh --model FICHIER` ; ou indiquez `llm.local.model` dans le fichier de configuration ; ou utilisez un serveur de modèle (`llm.provider = "openai"`).
err-local-model = Le modèle local { $path } est inutilisable : { $reason }.
err-prompt-template = Le modèle de prompt { $file } est invalide : { $reason }. Corrigez-le, ou supprimez-le pour utiliser celui d’origine.

field-message = message
field-name = nom
field-level = niveau

notice-submitted = Je le prépare pour vous. Continuons pendant ce temps.
notice-ready-podcast = Votre podcast est prêt : « { $title } ». Ouvrez-le dans le panneau des créations, ou lancez `mentor artifact show { $artifact }`.
notice-ready-quiz = Votre quiz est prêt : « { $title } ». Ouvrez-le dans le panneau des créations, ou lancez `mentor artifact show { $artifact }`.
notice-ready-study_guide = Votre fiche de révision est prête : « { $title } ». Ouvrez-la dans le panneau des créations, ou lancez `mentor artifact show { $artifact }`.
notice-ready-test = Votre tâche de test est terminée.
notice-failed = J’ai eu du mal à le générer. Je vais plutôt vous l’expliquer pas à pas.
notice-cancelled = J’ai arrêté de le générer, comme vous l’avez demandé.

# chat, profile and artifact commands

## Aide de la ligne de commande

cli-chat-about = Parler avec le professeur, ou relire la conversation
cli-chat-arg-notebook = Identifiant ou titre du carnet (par défaut : le plus récemment modifié ; s’il n’y en a aucun, un carnet est créé)
cli-chat-arg-message = Envoyer ce message et afficher la réponse au fil de l’eau (`-` le lit sur l’entrée standard)
cli-chat-arg-plain = Discuter ligne par ligne sur l’entrée et la sortie standard, pour les lecteurs d’écran et les tubes
cli-chat-arg-wait_jobs = Avec --message : attendre aussi que les podcasts, quiz et fiches de révision lancés par le professeur soient terminés et annoncés
cli-chat-after = Avec --message, la sortie standard ne contient que la réponse ; les appels d’outils, les annonces du professeur et l’avancement des tâches vont sur la sortie d’erreur. Avec --json, chaque événement est une ligne JSON sur la sortie standard.
    Avec --plain, tapez un message puis Entrée ; /stop arrête la réponse, /help liste les commandes, /quit ou la fin de l’entrée termine (après la réponse en cours).
    Codes de sortie : 0 le professeur a répondu ; 1 la réponse a échoué (la raison est sur la sortie d’erreur), a été arrêtée ailleurs, ou une tâche attendue avec --wait-jobs a échoué ; 2 erreur d’utilisation ; 130 Ctrl+C, qui arrête la réponse (ce qui était arrivé reste dans la conversation).
cli-chat-history-about = Afficher la conversation d’un carnet
cli-chat-history-arg-notebook = Identifiant ou titre du carnet (par défaut : le plus récemment modifié)
cli-chat-history-arg-limit = Seulement les N derniers messages (par défaut : tous)
cli-profile-about = Afficher ou modifier ce que le professeur sait de vous
cli-profile-show-about = Afficher votre profil d’apprenant
cli-profile-set-about = Modifier votre profil d’apprenant (une valeur vide efface le champ)
cli-profile-set-arg-name = Le nom que le professeur vous donne
cli-profile-set-arg-level = Votre niveau, avec vos mots (« débutant », « étudiant en deuxième année »…)
cli-profile-set-arg-language = La langue dans laquelle le professeur répond : en-US ou fr-FR

## mentor chat

chat-default-notebook = Mon carnet
chat-notebook-created = Vous n’aviez pas encore de carnet : « { $title } » a été créé ({ $id }).
chat-role-user = Vous
chat-role-assistant = Professeur
chat-role-notice = Professeur (annonce)
chat-role-tool = Outil
chat-speaker = { $who } :
chat-tool-failed = échec de { $tool } : { $reason }
chat-mark-streaming = [en cours d’écriture]
chat-mark-stopped = [interrompue]
chat-mark-failed = [échec : { $reason }]
chat-interrupted = Réponse arrêtée ; ce qui était arrivé reste dans la conversation.
chat-history-empty = Pas encore de conversation dans « { $title } ». Commencez-en une avec `mentor chat --message "Bonjour"`.
chat-history-earlier = { $count ->
    [one] (1 message plus ancien n’est pas affiché : retirez --limit pour voir toute la conversation.)
   *[other] ({ $count } messages plus anciens ne sont pas affichés : retirez --limit pour voir toute la conversation.)
}
chat-history-busy = (Le professeur est en train de répondre.)
chat-model-loading = Chargement du modèle local… { $percent } % (la réponse commence une fois le modèle chargé)
chat-plain-welcome = Conversation dans « { $title } ». Tapez un message puis Entrée ; /help liste les commandes.
chat-plain-help = Commandes :
    /stop  arrêter la réponse en cours
    /help  lister ces commandes
    /quit  quitter (Ctrl+D aussi)
    /quiz SUJET, /podcast SUJET, /guide SUJET  créer tout de suite un quiz, un podcast ou une fiche de révision
    Toute autre ligne est envoyée au professeur ; commencez-la par // pour envoyer une ligne qui commence par /.
chat-plain-unknown-command = Commande inconnue { $command }. /help liste les commandes.
chat-plain-queued = (Le professeur y répond juste après la réponse en cours.)
chat-plain-nothing-to-stop = Aucune réponse n’est en cours.
chat-job-about = { $kind } sur « { $topic } »
chat-job-pending = { $job } : en attente
chat-job-processing = { $job } : en cours
chat-job-completed = { $job } : { $kind ->
    [study_guide] prête
    [test] terminée
   *[other] prêt
}
chat-job-cancelled = { $job } : { $kind ->
    [study_guide] annulée
    [test] annulée
   *[other] annulé
}
chat-job-failed = { $job } : échec : { $reason }
chat-job-stage = { $job } : { $stage }
err-no-notebooks = Vous n’avez pas encore de carnet. Créez-en un avec `mentor notebook create "Biologie 101"`, ou commencez une conversation avec `mentor chat --message "Bonjour"`.
err-reply-stopped = La réponse a été arrêtée avant la fin (depuis une autre fenêtre ?). Ce qui était arrivé est conservé : `mentor chat history` l’affiche.

## mentor profile

profile-name = Nom
profile-level = Niveau
profile-language = Langue
profile-unset = (non renseigné)
profile-language-default = (non renseignée : la langue du démon)
profile-updated = Profil mis à jour.
profile-empty-hint = Présentez-vous au professeur avec `mentor profile set --name Ada --level débutant`.
profile-usage-language = Mentor parle { $tags } (une valeur vide revient à la langue du démon)

## mentor artifact

artifact-list-empty = Aucune création pour l’instant. Demandez au professeur un podcast, un quiz ou une fiche de révision, ou lancez `mentor generate quiz --notebook CARNET`.
artifact-col-created = CRÉÉE
artifact-col-notebook = CARNET
artifact-status-generating = en préparation
artifact-status-ready = prête
artifact-status-failed = en échec
artifact-status-cancelled = annulée
artifact-show-title = Titre
artifact-show-job = Tâche
artifact-show-content = Contenu :
artifact-show-generating = En cours de préparation : suivez-la avec `mentor jobs watch { $job }`.
artifact-show-no-content = (aucun contenu n’a été enregistré)
