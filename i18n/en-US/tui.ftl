## The terminal chat (`mentor` with no command)

err-not-a-terminal = the chat screen needs a terminal; from a script or a pipe use `mentor chat --plain` or `mentor chat --message TEXT`
tui-connecting = connecting…
tui-connected = connected
tui-model-local = { $model } (local)
tui-model-loading = loading the local model… { $percent }%
tui-model-failed = ✗ { $model } (local) cannot load
tui-reconnecting = reconnecting…
tui-no-model = no model reachable at { $url }
tui-not-connected = Not connected to the daemon yet; try again in a moment.
tui-no-notebook = no notebook
tui-objectives = objectives { $met }/{ $total }
tui-too-small = The terminal is too small.
tui-empty-conversation = Ask your teacher anything — or for a podcast, a quiz or a study guide.
tui-empty-shortcuts = Or start one yourself: /quiz, /podcast or /guide, then a topic.
tui-placeholder = Message your teacher…
tui-queued = queued: answered after the current reply
tui-queued-hint = { $count ->
    [one] 1 message queued
   *[other] { $count } messages queued
}
tui-stopped = stopped
tui-reply-failed = The reply failed: { $reason }
tui-tool-started = { $kind ->
    [podcast] Started a podcast on { $topic }
    [quiz] Started a quiz on { $topic }
    [study_guide] Started a study guide on { $topic }
   *[other] Started generating { $topic }
}
tui-tool-used = Used { $tool }
tui-job-more = +{ $count } more
tui-job-dismiss = { $key } dismiss
tui-footer = { $send } send · { $newline } new line · { $artifacts } artifacts · { $help } help
tui-copied = The last reply is on the clipboard.
tui-editor-failed = The editor { $editor } did not finish: { $reason }
tui-exported = Exported to { $path }
tui-playing = Playing “{ $title }” with { $player }.
tui-nothing-to-open = “{ $title }” has nothing to open yet.

tui-artifacts-title = Artifacts
tui-artifacts-empty = Nothing generated yet. Ask your teacher for a podcast, a quiz or a study guide.
tui-reader-hint = ↑↓ scroll · p play · e export · Esc close

tui-quiz-question = Question { $n } of { $total }
tui-quiz-choose = Choose with a–d, or ↑↓ and Enter.
tui-quiz-right = Right!
tui-quiz-wrong = Not quite: the answer is { $answer }.
tui-quiz-next = Enter: next
tui-quiz-score = Your score: { $score }/{ $total }
tui-quiz-saving = Saving your score…
tui-quiz-saved = Score saved (see `mentor quiz attempts`).
tui-quiz-not-saved = The score was not saved: { $reason }
tui-quiz-close = Enter or Esc: close

tui-picker-title = Notebooks
tui-picker-new = Title of the new notebook (Enter to create, Esc to cancel):
tui-picker-empty = No notebook yet: Ctrl+N creates one.
tui-picker-hint = Enter open · Ctrl+N new · Esc close
tui-picker-sources = { $count ->
    [one] 1 source
   *[other] { $count } sources
}

tui-help-title = Keys
tui-help-close = any key closes
tui-help-scroll = ↑↓ scroll · any other key closes
tui-help-global = Everywhere
tui-help-chat = Writing a message
tui-help-artifacts = Artifacts panel
tui-help-reader = Reading an artifact
tui-help-quiz = Taking a quiz
tui-help-picker = Notebooks
tui-help-shortcuts = Starting a message with
tui-shortcut-topic = topic
tui-shortcut-quiz = makes a quiz on the topic now
tui-shortcut-podcast = makes a podcast on the topic now
tui-shortcut-guide = makes a study guide on the topic now
tui-key-quit = quit
tui-key-help = this help
tui-key-artifacts = show or hide the artifacts
tui-key-notebooks = switch or create a notebook
tui-key-copy = copy the last reply
tui-key-dismiss = dismiss a failed job's line
tui-key-focus = move between the message and the artifacts
tui-key-page-up = scroll up a page
tui-key-page-down = scroll down a page
tui-key-top = go to the start
tui-key-bottom = go to the end
tui-key-send = send
tui-key-newline = new line
tui-key-editor = write in your editor
tui-key-stop = stop the reply
tui-key-up = previous
tui-key-down = next
tui-key-open = open
tui-key-play = play the podcast
tui-key-export = export to the current folder
tui-key-retry = retry a failed job
tui-key-cancel-job = cancel a running job
tui-key-back = close
tui-key-scroll-up = scroll up
tui-key-scroll-down = scroll down
tui-key-choose = answer a, b, c or d
tui-key-answer = answer / next question
tui-key-switch = open the notebook
tui-key-new-notebook = new notebook
