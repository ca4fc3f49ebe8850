## Le chat dans le terminal (`mentor` sans commande)

err-not-a-terminal = l’écran de chat a besoin d’un terminal ; depuis un script ou un tube, utilisez `mentor chat --plain` ou `mentor chat --message TEXTE`
tui-connecting = connexion…
tui-connected = connecté
tui-model-local = { $model } (local)
tui-model-loading = chargement du modèle local… { $percent } %
tui-model-failed = ✗ { $model } (local) ne se charge pas
tui-reconnecting = reconnexion…
tui-no-model = aucun modèle joignable à { $url }
tui-not-connected = Pas encore connecté au démon ; réessayez dans un instant.
tui-no-notebook = aucun carnet
tui-objectives = objectifs { $met }/{ $total }
tui-too-small = Le terminal est trop petit.
tui-empty-conversation = Posez une question à votre professeur — ou demandez un podcast, un quiz ou une fiche de révision.
tui-empty-shortcuts = Ou lancez-en un vous-même : /quiz, /podcast ou /guide, suivi d’un sujet.
tui-placeholder = Écrivez à votre professeur…
tui-queued = en attente : traité après la réponse en cours
tui-queued-hint = { $count ->
    [one] 1 message en attente
   *[other] { $count } messages en attente
}
tui-stopped = interrompue
tui-reply-failed = La réponse a échoué : { $reason }
tui-tool-started = { $kind ->
    [podcast] Podcast lancé sur { $topic }
    [quiz] Quiz lancé sur { $topic }
    [study_guide] Fiche de révision lancée sur { $topic }
   *[other] Génération lancée : { $topic }
}
tui-tool-used = Outil utilisé : { $tool }
tui-job-more = +{ $count } de plus
tui-job-dismiss = { $key } pour fermer
tui-footer = { $send } envoyer · { $newline } nouvelle ligne · { $artifacts } productions · { $help } aide
tui-copied = La dernière réponse est dans le presse-papiers.
tui-editor-failed = L’éditeur { $editor } n’a pas abouti : { $reason }
tui-exported = Exporté vers { $path }
tui-playing = Lecture de « { $title } » avec { $player }.
tui-nothing-to-open = « { $title } » n’a encore rien à ouvrir.

tui-artifacts-title = Productions
tui-artifacts-empty = Rien de généré pour l’instant. Demandez à votre professeur un podcast, un quiz ou une fiche de révision.
tui-reader-hint = ↑↓ défiler · p écouter · e exporter · Échap fermer

tui-quiz-question = Question { $n } sur { $total }
tui-quiz-choose = Choisissez avec a–d, ou ↑↓ puis Entrée.
tui-quiz-right = Exact !
tui-quiz-wrong = Pas tout à fait : la réponse est { $answer }.
tui-quiz-next = Entrée : suite
tui-quiz-score = Votre score : { $score }/{ $total }
tui-quiz-saving = Enregistrement du score…
tui-quiz-saved = Score enregistré (voir `mentor quiz attempts`).
tui-quiz-not-saved = Le score n’a pas été enregistré : { $reason }
tui-quiz-close = Entrée ou Échap : fermer

tui-picker-title = Carnets
tui-picker-new = Titre du nouveau carnet (Entrée pour créer, Échap pour annuler) :
tui-picker-empty = Aucun carnet pour l’instant : Ctrl+N en crée un.
tui-picker-hint = Entrée ouvrir · Ctrl+N nouveau · Échap fermer
tui-picker-sources = { $count ->
    [one] 1 source
   *[other] { $count } sources
}

tui-help-title = Touches
tui-help-close = une touche pour fermer
tui-help-scroll = ↑↓ pour défiler · une autre touche pour fermer
tui-help-global = Partout
tui-help-chat = En écrivant un message
tui-help-artifacts = Panneau des productions
tui-help-reader = En lisant une production
tui-help-quiz = Pendant un quiz
tui-help-picker = Carnets
tui-help-shortcuts = Un message qui commence par
tui-shortcut-topic = sujet
tui-shortcut-quiz = crée tout de suite un quiz sur le sujet
tui-shortcut-podcast = crée tout de suite un podcast sur le sujet
tui-shortcut-guide = crée tout de suite une fiche de révision sur le sujet
tui-key-quit = quitter
tui-key-help = cette aide
tui-key-artifacts = afficher ou masquer les productions
tui-key-notebooks = changer de carnet ou en créer un
tui-key-copy = copier la dernière réponse
tui-key-dismiss = fermer la ligne d’une tâche échouée
tui-key-focus = passer du message aux productions
tui-key-page-up = remonter d’une page
tui-key-page-down = descendre d’une page
tui-key-top = aller au début
tui-key-bottom = aller à la fin
tui-key-send = envoyer
tui-key-newline = nouvelle ligne
tui-key-editor = écrire dans votre éditeur
tui-key-stop = arrêter la réponse
tui-key-up = précédent
tui-key-down = suivant
tui-key-open = ouvrir
tui-key-play = écouter le podcast
tui-key-export = exporter dans le dossier courant
tui-key-retry = relancer une tâche échouée
tui-key-cancel-job = annuler une tâche en cours
tui-key-back = fermer
tui-key-scroll-up = défiler vers le haut
tui-key-scroll-down = défiler vers le bas
tui-key-choose = répondre a, b, c ou d
tui-key-answer = répondre / question suivante
tui-key-switch = ouvrir le carnet
tui-key-new-notebook = nouveau carnet
