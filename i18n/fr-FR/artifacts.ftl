# Mentor — ce que les tâches créent : `mentor artifacts show|export|play`, `mentor quiz` (français).
# Les chaînes plus anciennes des créations (liste, états, champs) sont dans chat.ftl.

## Aide de la ligne de commande

cli-artifacts-about = Lister et afficher ce que les tâches d’arrière-plan ont créé, l’exporter vers un fichier, écouter un podcast
cli-artifacts-list-about = Lister les créations, les plus récentes d’abord
cli-artifacts-list-arg-notebook = Identifiant ou titre du carnet (par défaut : tous les carnets)
cli-artifacts-show-about = Afficher une création : la transcription d’un podcast, les questions d’un quiz, le texte d’une fiche de révision
cli-artifacts-show-arg-answers = Afficher aussi les réponses d’un quiz, avec leur explication et leur source
cli-arg-artifact = Identifiant de la création (tel que `mentor artifacts list` l’affiche, avec ou sans `art:`)
cli-artifacts-export-about = Copier une création prête dans un fichier
cli-artifacts-export-arg-path = Le fichier à écrire (son dossier doit exister)
cli-artifacts-export-arg-format = wav ou md pour un podcast (par défaut : wav, ou md s’il n’a pas de son) ; json ou md pour un quiz (par défaut : json) ; md pour une fiche de révision
cli-artifacts-export-arg-force = Remplacer le fichier s’il existe déjà
cli-artifacts-play-about = Écouter un podcast avec un lecteur audio, sa transcription affichée d’abord
cli-artifacts-play-arg-artifact = Identifiant d’un podcast (avec ou sans `art:`)
cli-artifacts-play-arg-player = La ligne de commande du lecteur, par exemple "mpv --volume=50" (par défaut : `player` dans la section [artifacts] de la configuration, sinon le premier de mpv, ffplay, paplay, aplay, afplay trouvé dans le PATH)
cli-artifacts-play-after =
    La ligne de commande du lecteur est découpée aux espaces et lancée sans shell : ni guillemets, ni variables, ni tubes (écrivez un petit script pour cela). Le fichier du podcast est ajouté en dernier argument, et le lecteur reçoit le terminal : ses touches fonctionnent.
cli-quiz-about = Répondre à un quiz et lister vos tentatives
cli-quiz-take-about = Répondre à un quiz, une question à la fois, avec une correction après chaque réponse
cli-quiz-take-arg-artifact = Identifiant du quiz (tel que `mentor artifacts list` l’affiche)
cli-quiz-take-after =
    Répondez à chaque question sur sa propre ligne par une lettre A–D ou un chiffre 1–4 ; les réponses peuvent venir d’un tube. La tentative est enregistrée après la dernière réponse ; si la saisie se termine avant, rien n’est enregistré (code de sortie 1). Avec --json, les questions vont sur stderr, et stdout ne reçoit que la tentative enregistrée, en JSON.
cli-quiz-attempts-about = Lister vos tentatives à un quiz, les plus anciennes d’abord
cli-quiz-attempts-arg-artifact = Identifiant du quiz

## Erreurs renvoyées par le démon

err-artifact-wrong-kind = { $artifact } est { $kind ->
        [podcast] un podcast
        [quiz] un quiz
        [study_guide] une fiche de révision
       *[other] une création de type { $kind }
    }, pas { $expected ->
        [podcast] un podcast
        [quiz] un quiz
        [study_guide] une fiche de révision
       *[other] une création de type { $expected }
    }. `mentor artifacts list` indique la nature de chaque création.
err-artifact-not-ready = { $status ->
        [generating] { $artifact } est encore en préparation : suivez-la avec `mentor jobs watch { $job }`, puis réessayez.
        [failed] { $artifact } a échoué et n’a donc rien à utiliser : `mentor artifacts show { $artifact }` dit pourquoi, et `mentor jobs retry { $job }` la relance.
        [cancelled] { $artifact } a été annulée avant la fin : `mentor jobs retry { $job }` la prépare de nouveau.
       *[other] { $artifact } n’est pas prête ({ $status }).
    }
err-quiz-answer-count = Le quiz compte { $expected ->
        [one] 1 question
       *[other] { $expected } questions
    }, mais { $given ->
        [one] 1 réponse a été envoyée
       *[other] { $given } réponses ont été envoyées
    } : donnez exactement une réponse par question.
err-quiz-answer-out-of-range = La réponse { $answer } à la question { $question } ne correspond à aucune option : les réponses vont de 0 à 3 (A à D).

## mentor artifacts show

artifact-show-failed = Échec : { $reason }
artifact-show-failed-no-reason = Échec.
artifact-show-cancelled = Annulée avant la fin.
artifact-show-retry = `mentor jobs retry { $job }` la relance, en gardant les étapes déjà faites.
artifact-show-sources = Sources :
artifact-show-partial-outline = Plan préparé avant l’échec :
artifact-show-partial-transcript = Transcription préparée avant l’échec :
podcast-show-duration = Durée
podcast-show-audio = Audio
podcast-show-transcript-only = aucun : transcription seule (pas de moteur de synthèse vocale)
podcast-show-speakers = Intervenants
podcast-show-transcript = Transcription :
quiz-show-difficulty = Difficulté
quiz-show-questions = Questions
quiz-difficulty-easy = facile
quiz-difficulty-medium = moyen
quiz-difficulty-hard = difficile
quiz-answer-is = Réponse : { $option }
quiz-why = Pourquoi : { $explanation }
quiz-source = Source : { $title }
quiz-show-take-hint = Répondez-y avec `mentor quiz take { $artifact }`.
quiz-show-answers-hint = (Les réponses sont masquées : ajoutez --answers pour les voir.)

## mentor artifacts export

export-done = { $path } écrit ({ $size }).
export-err-exists = { $path } existe déjà : ajoutez --force pour le remplacer, ou choisissez un autre chemin.
export-err-is-directory = { $path } est un dossier : indiquez le chemin du fichier à y écrire.
export-err-no-directory = Le dossier { $dir } n’existe pas : créez-le d’abord, ou choisissez un autre chemin.
export-err-write = Impossible d’écrire { $path } : { $reason }. Choisissez un emplacement où vous pouvez écrire.
export-err-format = { $kind ->
        [podcast] Un podcast
        [quiz] Un quiz
        [study_guide] Une fiche de révision
       *[other] Cette création
    } ne s’exporte pas en { $format } ; ses formats sont { $available } (--format).
export-err-not-exportable = Les créations de type { $kind } ne s’exportent pas ; `mentor artifacts show --json` affiche leur contenu.
artifact-err-audio-missing = Le fichier audio du podcast, { $path }, a disparu (le dossier de données de Mentor a-t-il été nettoyé ?). Exportez sa transcription avec `--format md`, ou générez de nouveau le podcast.
artifact-err-transcript-only = { $artifact } est un podcast en transcription seule : aucun moteur de synthèse vocale n’en a fait le son. Lisez-le avec `mentor artifacts show { $artifact }` ou exportez-le avec `--format md` ; pour avoir le son, réglez `engine` dans la section [tts] de la configuration et générez-le de nouveau.
artifact-err-unreadable = Cette version de mentor ne sait pas lire le contenu de { $artifact } ({ $reason }). `mentor artifacts show { $artifact } --json` l’affiche tel quel ; mettre Mentor à jour peut aider.

## mentor artifacts play

play-now = Lecture de « { $title } » ({ $duration }) avec { $player }.
play-err-no-player = Aucun lecteur audio trouvé : { $tried } ont été cherchés dans le PATH. Installez-en un, passez --player "COMMANDE", ou réglez `player` dans la section [artifacts] du fichier de configuration (`mentor config path` indique où il est).
play-err-start = Impossible de lancer le lecteur { $player } : { $reason }. Vérifiez la commande donnée avec --player ou dans `player` de la section [artifacts] de la configuration.
play-err-exit = Le lecteur { $player } s’est terminé avec le code { $code }.

## mentor quiz

quiz-take-intro = Quiz : { $title } — { $count ->
        [one] 1 question
       *[other] { $count } questions
    }. Répondez à chacune par A, B, C ou D ; terminez la saisie (Ctrl+D) pour arrêter sans enregistrer.
quiz-take-question = Question { $number } sur { $total } : { $question }
quiz-take-prompt = Votre réponse (A–D) :
quiz-take-invalid = Répondez par A, B, C ou D.
quiz-take-correct = Bonne réponse !
quiz-take-wrong = Pas tout à fait : la réponse était { $option }.
quiz-take-score = Score : { $score }/{ $total }
quiz-take-saved = Tentative { $number } enregistrée : `mentor quiz attempts { $artifact }` liste vos tentatives.
quiz-err-stopped = La saisie s’est terminée avant la dernière réponse : rien n’a été enregistré. Relancez `mentor quiz take { $artifact }` pour répondre à tout le quiz.
quiz-attempts-empty = Aucune tentative pour { $artifact } : répondez-y avec `mentor quiz take { $artifact }`.
quiz-col-number = N°
quiz-col-score = SCORE
quiz-col-when = QUAND
