# La conversation avec le professeur : erreurs du serveur de modèle, annonces du démon, et les
# commandes chat et profile.

err-llm-unreachable = Impossible de joindre le serveur de modèle à { $url } ({ $reason }). Démarrez-le (pour Ollama : `ollama serve`), ou indiquez un autre serveur avec `llm.base_url` dans le fichier de configuration ou la variable MENTOR_LLM_URL.
err-llm-timeout-connect = Le serveur de modèle à { $url } n’a pas accepté la connexion en { $secs } s. Vérifiez qu'il tourne, ou augmentez `llm.connect_timeout_secs`.
err-llm-timeout-first-token = Le serveur de modèle à { $url } n’a rien répondu en { $secs } s. Un modèle local est peut-être encore en chargement : réessayez, ou augmentez `llm.first_token_timeout_secs`.
err-llm-timeout-idle = Le serveur de modèle à { $url } n’a plus rien envoyé pendant { $secs } s au milieu d’une réponse. Réessayez, ou augmentez `llm.idle_timeout_secs`.
err-llm-status = Le serveur de modèle à { $url } a répondu HTTP { $status } : { $message }{ $hint }
err-llm-hint-auth = {" "}Vérifiez la clé d’API (`llm.api_key` ou MENTOR_LLM_API_KEY).
err-llm-hint-model = {" "}Vérifiez le nom du modèle (`llm.model`) et l’URL (`llm.base_url`, qui finit d’ordinaire par /v1).
err-llm-hint-busy = {" "}Le serveur est occupé ou limite le débit : attendez un instant et réessayez.
err-llm-hint-server = {" "}Le serveur a échoué : consultez son journal, puis réessayez.
err-llm-protocol = Le serveur de modèle à { $url } a envoyé une réponse illisible pour Mentor ({ $reason }). Vérifiez que `llm.base_url` désigne une API compatible OpenAI.
err-llm-output = La réponse du modèle n’avait pas la forme attendue, même après lui avoir demandé de la corriger : { $reason }. Un modèle plus grand fera peut-être mieux.
err-prompt-template = Le modèle de prompt { $file } est invalide : { $reason }. Corrigez-le, ou supprimez-le pour utiliser celui d’origine.

field-message = message
field-name = nom
field-level = niveau

notice-submitted = Je le prépare pour vous. Continuons pendant ce temps.
notice-ready-podcast = Votre podcast est prêt : « { $title } ». Ouvrez-le dans le panneau des créations, ou lancez `mentor artifact show { $artifact }`.
notice-ready-quiz = Votre quiz est prêt : « { $title } ». Ouvrez-le dans le panneau des créations, ou lancez `mentor artifact show { $artifact }`.
notice-ready-study_guide = Votre fiche de révision est prête : « { $title } ». Ouvrez-la dans le panneau des créations, ou lancez `mentor artifact show { $artifact }`.
notice-ready-test = Votre tâche de test est terminée.
notice-failed = J'ai eu du mal à le générer. Je vais plutôt vous l’expliquer pas à pas.
notice-cancelled = J'ai arrêté de le générer, comme vous l’avez demandé.
