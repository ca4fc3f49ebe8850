# Mentor — les commandes `mentor jobs` et `mentor generate` (français).

## Aide de la ligne de commande

cli-jobs-about = Lister, suivre, annuler et relancer les tâches d’arrière-plan
cli-jobs-list-about = Lister les tâches, les plus récentes d’abord
cli-jobs-list-arg-status = Seulement les tâches dans cet état : pending, processing, completed, error ou cancelled
cli-jobs-list-arg-kind = Seulement les tâches de ce type : podcast, quiz ou study_guide
cli-jobs-list-arg-notebook = Seulement les tâches de ce carnet (identifiant ou titre)
cli-jobs-list-arg-limit = Nombre maximal de tâches affichées (100 par défaut)
cli-jobs-show-about = Afficher le détail d’une tâche
cli-jobs-watch-about = Suivre une tâche en direct jusqu’à sa fin (sans identifiant : toutes les tâches, jusqu’à Ctrl+C)
cli-jobs-watch-arg-job = Identifiant de la tâche (sans lui : toutes les tâches de tous les carnets)
cli-jobs-cancel-about = Annuler une tâche en attente ou en cours
cli-jobs-retry-about = Remettre en file d’attente une tâche échouée ou annulée, en gardant les étapes déjà terminées
cli-arg-job = Identifiant de la tâche (tel que `mentor jobs list` l’affiche, avec ou sans `job:`)
cli-generate-about = Générer un podcast, un quiz ou une fiche de révision en arrière-plan
cli-generate-podcast-about = Générer un podcast à partir des sources d’un carnet
cli-generate-podcast-arg-format = deep-dive (deux animateurs qui dialoguent, par défaut) ou brief (une seule voix)
cli-generate-podcast-arg-length = Durée : short, default (par défaut) ou long
cli-generate-quiz-about = Générer un quiz à choix multiples
cli-generate-quiz-arg-questions = Nombre de questions, de 1 à 50 (5 par défaut)
cli-generate-quiz-arg-difficulty = Difficulté : easy, medium (par défaut) ou hard
cli-generate-study-guide-about = Générer une fiche de révision
cli-generate-test-about = Soumettre une tâche de test scriptée (pour la suite de tests)
cli-generate-test-arg-script = Le script de test, en JSON
cli-arg-topic = Sujet ou angle à traiter (par défaut : tout le carnet)
cli-arg-wait = Suivre la tâche jusqu’à sa fin avec une barre de progression ; le code de sortie indique son issue

## Erreurs d’utilisation

jobs-usage-one-of = valeurs possibles : { $values }
generate-test-bad-script = script de test invalide : { $reason }

## Lignes d’état

job-line-running = { $kind ->
    [podcast] Génération du podcast…
    [quiz] Génération du quiz…
    [study_guide] Génération de la fiche de révision…
   *[other] Tâche de test en cours…
}
job-line-ready = { $kind ->
    [podcast] Podcast prêt
    [quiz] Quiz prêt
    [study_guide] Fiche de révision prête
   *[other] Tâche de test terminée
}
job-line-failed = { $kind ->
    [podcast] Échec du podcast : { $reason }
    [quiz] Échec du quiz : { $reason }
    [study_guide] Échec de la fiche de révision : { $reason }
   *[other] Échec de la tâche de test : { $reason }
}
job-line-cancelled = { $kind ->
    [podcast] Podcast annulé
    [quiz] Quiz annulé
    [study_guide] Fiche de révision annulée
   *[other] Tâche de test annulée
}
job-line-no-reason = raison inconnue
job-line-retry-in = nouvel essai dans { $delay }
job-line-retry-after-error = { $reason } — nouvel essai dans { $delay }
job-line-attempt = tentative { $attempt }/{ $max }
job-line-cancelling = annulation en cours…
job-failure-kind-permanent = définitif (réessayer n’y changerait rien)
job-failure-kind-exhausted = toutes les tentatives ont échoué
job-failure-kind-interrupted = interrompu (le démon s’est arrêté)
job-failure-kind-timed-out = délai dépassé

## mentor jobs

jobs-list-empty = Aucune tâche pour l’instant. Lancez-en une avec `mentor generate quiz --notebook CARNET`.
jobs-list-none-match = Aucune tâche ne correspond à ces filtres.
jobs-col-kind = TYPE
jobs-col-status = ÉTAT
jobs-col-progress = PROGRESSION
jobs-col-attempts = ESSAIS
jobs-col-age = ÂGE
jobs-col-topic = SUJET
jobs-show-id = Identifiant
jobs-show-kind = Type
jobs-show-status = État
jobs-show-notebook = Carnet
jobs-show-artifact = Contenu généré
jobs-show-topic = Sujet
jobs-show-progress = Progression
jobs-show-attempts = Tentatives
jobs-show-next-attempt = Prochain essai
jobs-show-retry-in = dans { $delay }
jobs-show-cancel = Annulation
jobs-show-cancel-requested = demandée (la tâche s’arrête dans la seconde)
jobs-show-created = Création
jobs-show-updated = Mise à jour
jobs-show-finished = Fin
jobs-show-failure = Type d’échec
jobs-show-error = Erreur
jobs-show-params = Paramètres
jobs-show-result = Résultat :
jobs-topic-whole-notebook = (tout le carnet)
jobs-cancelled = Tâche { $job } annulée.
jobs-cancelling = Annulation de la tâche { $job } en cours (elle s’arrête dans la seconde).
jobs-retried = La tâche { $job } est remise en file d’attente ; les étapes déjà terminées sont conservées.
jobs-watch-hint = Pour la suivre : mentor jobs watch { $job }
jobs-watch-connection-lost = Connexion au démon perdue ; reconnexion…
jobs-watch-reconnected = Reconnecté au démon (pid { $pid }).

## mentor generate

generate-submitted = { $kind ->
    [podcast] Podcast mis en file d’attente : { $job }.
    [quiz] Quiz mis en file d’attente : { $job }.
    [study_guide] Fiche de révision mise en file d’attente : { $job }.
   *[other] Tâche de test mise en file d’attente : { $job }.
}
generate-submitted-artifact = Le résultat sera enregistré sous { $artifact }.

## Speech (tts)

tts-missing = Le programme de synthèse vocale `{ $program }` est introuvable. Installez-le : `sudo apt-get install espeak-ng` (ou lancez ./install.sh), ou mettez engine = "none" dans la section [tts] de la configuration pour des podcasts en transcription seule.
tts-failed = La synthèse vocale a échoué : { $detail } — Vérifiez les voix et le modèle de la section [tts] de la configuration (`mentor config show` l’affiche ; `espeak-ng --voices` liste les voix d’espeak-ng).
tts-exited = La synthèse vocale a échoué : `{ $program }` { $how }{ $said } — Vérifiez les voix de la section [tts] de la configuration (`mentor config show` l’affiche ; `espeak-ng --voices` liste les voix d’espeak-ng).
tts-how-code = s’est arrêté avec le code de sortie { $code }
tts-how-signal = a été tué par le signal { $signal }
tts-how-unknown = s’est arrêté anormalement
tts-stderr = {" "}: { $text }
tts-timed-out = Le moteur de synthèse vocale n’a rendu aucun extrait en { $secs } s et a été arrêté. Réessayez ; si la machine est lente, augmentez timeout_secs ou réduisez parallel dans la section [tts].
tts-bad-audio = Ce que le moteur de synthèse vocale a produit n’est pas un son lisible par Mentor ({ $detail }). Un serveur de synthèse doit répondre en WAV PCM 16 bits quand on lui demande response_format "wav" ; vérifiez base_url et model dans la section [tts].
tts-unreachable = Impossible de joindre le serveur de synthèse vocale ({ $detail }). Vérifiez qu’il tourne et que base_url de la section [tts] pointe vers lui, ou mettez engine = "espeak-ng" pour une synthèse locale.
tts-io = Impossible d’écrire l’extrait audio ({ $detail }). Vérifiez l’espace disque libre et les droits du dossier de données de Mentor.
tts-cancelled = Synthèse vocale arrêtée : la tâche a été annulée.

## Contrôles de qualité (ce qui n’allait pas dans ce que le modèle a écrit)

quality-part-title = le titre
quality-part-overview = la présentation
quality-part-question = la question { $n }
quality-part-concept = la notion clé { $n }
quality-part-term = l’entrée { $n } du glossaire
quality-part-thought = la question de réflexion { $n }
quality-part-outline = le plan
quality-part-segment = la partie { $n }
quality-part-episode = l’épisode
quality-part-answer = la réponse du modèle
quality-empty = { $part } est vide
quality-repeated-sentence = { $part } répète sans cesse la même phrase (« { $text } »)
quality-repeated-run = { $part } répète « { $text } » en boucle
quality-counting = { $part } compte de { $from } à { $to } au lieu de dire quelque chose
quality-soup = { $part } n’est fait que de chiffres et de symboles, pas de mots (« { $text } »)
quality-echo = { $part } recopie les instructions de Mentor au modèle (« { $text } »)
quality-title = le titre « { $title } » ne nomme pas le sujet
quality-duplicate = { $part } dit la même chose que { $other }
quality-duplicate-within = { $part } dit deux fois la même chose
quality-uncited = { $part } ne cite aucun passage des sources
quality-ungrounded = { $part } n’est pas appuyée par le passage { $passage }, qu’elle cite
quality-language = { $part } n’est pas dans la langue demandée ({ $language })
quality-length = { $part } durerait environ { $minutes } min à l’oral ({ $words } { $words ->
    [one] mot
   *[other] mots
}) ; ce format et cette longueur promettent { $least } à { $most } min
quality-same-options = { $part } a deux options identiques (les options { $a } et { $b })
quality-no-answer = { $part } n’a pas de bonne réponse parmi ses options
quality-one-voice = dans { $part }, un seul des deux animateurs parle
quality-thin = { $part } en dit trop peu ({ $found } { $found ->
    [one] mot qui compte
   *[other] mots qui comptent
}, il en faut { $needed })
quality-restated = { $part } ne fait que répéter son propre nom
quality-meta = { $part } parle de questions, de réponses et de passages au lieu du sujet
quality-failed = { $kind ->
    [podcast] Le podcast
    [quiz] Le quiz
    [study_guide] La fiche de révision
   *[other] Le document
} n’était pas assez bon, même après avoir demandé au modèle de le réécrire : { $reason }.
quality-hint-builtin = Le modèle intégré est petit et sert à essayer Mentor. Pour de vrais résultats, installez-en un plus fort : téléchargez un modèle instruct au format GGUF (Qwen2.5-1.5B-Instruct ou -3B, Q4_K_M) et lancez ./install.sh --model FICHIER.gguf, puis mentor daemon stop ; ou mettez dans [llm] base_url l’adresse d’un serveur compatible OpenAI (Ollama, llama-server). La section « Point it at a model » du README montre les deux.
quality-hint-other = Un modèle plus grand fera peut-être mieux.
