# Mentor — what the jobs make: `mentor artifacts show|export|play`, `mentor quiz` (English).
# The older artifact strings (list, statuses, fields) live in chat.ftl.

## Command-line help

cli-artifacts-about = List and show what the background jobs made, export it to a file, play a podcast
cli-artifacts-list-about = List artifacts, newest first
cli-artifacts-list-arg-notebook = Notebook id or title (default: every notebook)
cli-artifacts-show-about = Show an artifact: a podcast's transcript, a quiz's questions, a study guide's text
cli-artifacts-show-arg-answers = Also show a quiz's answers, with why and where from
cli-arg-artifact = Artifact id (as `mentor artifacts list` shows it, with or without `art:`)
cli-artifacts-export-about = Copy a ready artifact to a file
cli-artifacts-export-arg-path = The file to write (its folder must exist)
cli-artifacts-export-arg-format = wav or md for a podcast (default: wav, or md when it has no sound); json or md for a quiz (default: json); md for a study guide
cli-artifacts-export-arg-force = Replace the file if it already exists
cli-artifacts-play-about = Play a podcast with an audio player, its transcript printed first
cli-artifacts-play-arg-artifact = Artifact id of a podcast (with or without `art:`)
cli-artifacts-play-arg-player = The player's command line, such as "mpv --volume=50" (default: `player` in the [artifacts] section of the config, else the first of mpv, ffplay, paplay, aplay, afplay found on PATH)
cli-artifacts-play-after =
    The player's command line is split on spaces and run without a shell: no quotes, variables or pipes (write a small script for those). The podcast's file is added as its last argument, and the player gets the terminal, so its keys work.
cli-quiz-about = Take a quiz and list your attempts
cli-quiz-take-about = Take a quiz one question at a time, with feedback after each answer
cli-quiz-take-arg-artifact = Artifact id of the quiz (as `mentor artifacts list` shows it)
cli-quiz-take-after =
    Answer each question on its own line with a letter A–D or a number 1–4; answers can be piped in. The attempt is saved after the last answer; if the input ends first, nothing is saved (exit code 1). With --json the questions go to stderr, and stdout gets only the saved attempt, as JSON.
cli-quiz-attempts-about = List your attempts at a quiz, oldest first
cli-quiz-attempts-arg-artifact = Artifact id of the quiz

## Errors from the daemon

err-artifact-wrong-kind = { $artifact } is { $kind ->
        [podcast] a podcast
        [quiz] a quiz
        [study_guide] a study guide
       *[other] a { $kind } artifact
    }, not { $expected ->
        [podcast] a podcast
        [quiz] a quiz
        [study_guide] a study guide
       *[other] a { $expected } artifact
    }. `mentor artifacts list` shows what each artifact is.
err-artifact-not-ready = { $status ->
        [generating] { $artifact } is still being made: follow it with `mentor jobs watch { $job }`, then try again.
        [failed] { $artifact } failed, so it has nothing to use: `mentor artifacts show { $artifact }` says why, and `mentor jobs retry { $job }` tries again.
        [cancelled] { $artifact } was cancelled before it was finished: `mentor jobs retry { $job }` makes it again.
       *[other] { $artifact } is not ready ({ $status }).
    }
err-quiz-answer-count = The quiz has { $expected ->
        [one] 1 question
       *[other] { $expected } questions
    }, but { $given ->
        [one] 1 answer was
       *[other] { $given } answers were
    } sent: give exactly one answer per question.
err-quiz-answer-out-of-range = Answer { $answer } to question { $question } is not one of the options: answers go from 0 to 3 (A to D).

## mentor artifacts show

artifact-show-failed = Failed: { $reason }
artifact-show-failed-no-reason = Failed.
artifact-show-cancelled = Cancelled before it was finished.
artifact-show-retry = `mentor jobs retry { $job }` tries again, keeping the steps already done.
artifact-show-sources = Sources:
artifact-show-partial-outline = Outline made before the failure:
artifact-show-partial-transcript = Transcript made before the failure:
podcast-show-duration = Duration
podcast-show-audio = Audio
podcast-show-transcript-only = none: transcript only (no speech engine)
podcast-show-speakers = Speakers
podcast-show-transcript = Transcript:
quiz-show-difficulty = Difficulty
quiz-show-questions = Questions
quiz-difficulty-easy = easy
quiz-difficulty-medium = medium
quiz-difficulty-hard = hard
quiz-answer-is = Answer: { $option }
quiz-why = Why: { $explanation }
quiz-source = Source: { $title }
quiz-show-take-hint = Take it with `mentor quiz take { $artifact }`.
quiz-show-answers-hint = (The answers are hidden: add --answers to see them.)

## mentor artifacts export

export-done = Wrote { $path } ({ $size }).
export-err-exists = { $path } already exists: add --force to replace it, or choose another path.
export-err-is-directory = { $path } is a folder: give the path of the file to write in it.
export-err-no-directory = The folder { $dir } does not exist: create it first, or choose another path.
export-err-write = Cannot write { $path }: { $reason }. Choose a place you can write to.
export-err-format = { $kind ->
        [podcast] A podcast
        [quiz] A quiz
        [study_guide] A study guide
       *[other] This artifact
    } cannot be exported as { $format }; its formats are { $available } (--format).
export-err-not-exportable = Artifacts of kind { $kind } cannot be exported; `mentor artifacts show --json` prints their content.
artifact-err-audio-missing = The podcast's sound file { $path } is missing (was Mentor's data folder cleaned?). Export its transcript with `--format md`, or generate the podcast again.
artifact-err-transcript-only = { $artifact } is a transcript-only podcast: no speech engine made its sound. Read it with `mentor artifacts show { $artifact }` or export it with `--format md`; for sound, set `engine` in the [tts] section of the config and generate it again.
artifact-err-unreadable = This version of mentor cannot read the content of { $artifact } ({ $reason }). `mentor artifacts show { $artifact } --json` prints it as it is; updating Mentor may help.

## mentor artifacts play

play-now = Playing “{ $title }” ({ $duration }) with { $player }.
play-err-no-player = No audio player found: looked for { $tried } on PATH. Install one of them, pass --player "COMMAND", or set `player` in the [artifacts] section of the config file (`mentor config path` shows where it is).
play-err-start = Cannot start the player { $player }: { $reason }. Check the command given with --player or as `player` in the [artifacts] section of the config.
play-err-exit = The player { $player } ended with status { $code }.

## mentor quiz

quiz-take-intro = Quiz: { $title } — { $count ->
        [one] 1 question
       *[other] { $count } questions
    }. Answer each with A, B, C or D; end the input (Ctrl+D) to stop without saving.
quiz-take-question = Question { $number } of { $total }: { $question }
quiz-take-prompt = Your answer (A–D):
quiz-take-invalid = Answer with A, B, C or D.
quiz-take-correct = Correct!
quiz-take-wrong = Not quite: the answer was { $option }.
quiz-take-score = Score: { $score }/{ $total }
quiz-take-saved = Attempt { $number } saved: `mentor quiz attempts { $artifact }` lists your attempts.
quiz-err-stopped = The input ended before the last answer: nothing was saved. Run `mentor quiz take { $artifact }` again to take the whole quiz.
quiz-attempts-empty = No attempts at { $artifact } yet: take it with `mentor quiz take { $artifact }`.
quiz-col-number = #
quiz-col-score = SCORE
quiz-col-when = WHEN
