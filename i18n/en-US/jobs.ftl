# Mentor — the `mentor jobs` and `mentor generate` commands (English).

## Command-line help

cli-jobs-about = List, follow, cancel and retry background jobs
cli-jobs-list-about = List jobs, newest first
cli-jobs-list-arg-status = Only jobs with this status: pending, processing, completed, error or cancelled
cli-jobs-list-arg-kind = Only jobs of this kind: podcast, quiz or study_guide
cli-jobs-list-arg-notebook = Only jobs of this notebook (id or title)
cli-jobs-list-arg-limit = Most jobs to show (default 100)
cli-jobs-show-about = Show everything about one job
cli-jobs-watch-about = Follow a job live until it ends (with no id: every job, until Ctrl+C)
cli-jobs-watch-arg-job = Job id (with none: every job of every notebook)
cli-jobs-cancel-about = Cancel a pending or running job
cli-jobs-retry-about = Queue a failed or cancelled job again, keeping the steps it already finished
cli-arg-job = Job id (as `mentor jobs list` shows it, with or without `job:`)
cli-generate-about = Generate a podcast, a quiz or a study guide in the background
cli-generate-podcast-about = Generate a podcast from a notebook's sources
cli-generate-podcast-arg-format = deep-dive (two hosts in conversation, the default) or brief (one speaker)
cli-generate-podcast-arg-length = Length: short, default or long
cli-generate-quiz-about = Generate a multiple-choice quiz
cli-generate-quiz-arg-questions = Number of questions, from 1 to 50 (default 5)
cli-generate-quiz-arg-difficulty = Difficulty: easy, medium (the default) or hard
cli-generate-study-guide-about = Generate a study guide
cli-generate-test-about = Submit a scripted test job (for the test suite)
cli-generate-test-arg-script = The test script, as JSON
cli-arg-topic = Topic or focus (default: the whole notebook)
cli-arg-wait = Follow the job to its end with a progress bar; the exit code tells how it ended

## Usage errors

jobs-usage-one-of = expected one of: { $values }
generate-test-bad-script = not a valid test script: { $reason }

## Status lines

job-line-running = { $kind ->
    [podcast] Generating podcast…
    [quiz] Generating quiz…
    [study_guide] Generating study guide…
   *[other] Running test job…
}
job-line-ready = { $kind ->
    [podcast] Podcast ready
    [quiz] Quiz ready
    [study_guide] Study guide ready
   *[other] Test job done
}
job-line-failed = { $kind ->
    [podcast] Podcast failed: { $reason }
    [quiz] Quiz failed: { $reason }
    [study_guide] Study guide failed: { $reason }
   *[other] Test job failed: { $reason }
}
job-line-cancelled = { $kind ->
    [podcast] Podcast cancelled
    [quiz] Quiz cancelled
    [study_guide] Study guide cancelled
   *[other] Test job cancelled
}
job-line-no-reason = no reason given
job-line-retry-in = retrying in { $delay }
job-line-retry-after-error = { $reason } — retrying in { $delay }
job-line-attempt = attempt { $attempt }/{ $max }
job-line-cancelling = cancelling…
job-failure-kind-permanent = permanent (retrying would not help)
job-failure-kind-exhausted = every attempt failed
job-failure-kind-interrupted = interrupted (the daemon stopped)
job-failure-kind-timed-out = timed out

## mentor jobs

jobs-list-empty = No jobs yet. Start one with `mentor generate quiz --notebook NOTEBOOK`.
jobs-list-none-match = No job matches these filters.
jobs-col-kind = KIND
jobs-col-status = STATUS
jobs-col-progress = PROGRESS
jobs-col-attempts = ATTEMPTS
jobs-col-age = AGE
jobs-col-topic = TOPIC
jobs-show-id = ID
jobs-show-kind = Kind
jobs-show-status = Status
jobs-show-notebook = Notebook
jobs-show-artifact = Artifact
jobs-show-topic = Topic
jobs-show-progress = Progress
jobs-show-attempts = Attempts
jobs-show-next-attempt = Next attempt
jobs-show-retry-in = in { $delay }
jobs-show-cancel = Cancellation
jobs-show-cancel-requested = requested (the job stops within a second)
jobs-show-created = Created
jobs-show-updated = Updated
jobs-show-finished = Finished
jobs-show-failure = Failure
jobs-show-error = Error
jobs-show-params = Parameters
jobs-show-result = Result:
jobs-topic-whole-notebook = (the whole notebook)
jobs-cancelled = Cancelled job { $job }.
jobs-cancelling = Cancelling job { $job } (it stops within a second).
jobs-retried = Job { $job } is queued again; the steps it already finished are kept.
jobs-watch-hint = Follow it with: mentor jobs watch { $job }
jobs-watch-connection-lost = Lost the connection to the daemon; reconnecting…
jobs-watch-reconnected = Reconnected to the daemon (pid { $pid }).

## mentor generate

generate-submitted = { $kind ->
    [podcast] Podcast queued as { $job }.
    [quiz] Quiz queued as { $job }.
    [study_guide] Study guide queued as { $job }.
   *[other] Test job queued as { $job }.
}
generate-submitted-artifact = The result will be saved as { $artifact }.

## Speech (tts)

tts-missing = The speech program `{ $program }` was not found. Install it: `sudo apt-get install espeak-ng` (or run ./install.sh), or set [tts] engine = "none" in the config for transcript-only podcasts.
tts-failed = Speech synthesis failed: { $detail } — Check the voices and the model in the [tts] section of the config (`mentor config show` prints it; `espeak-ng --voices` lists espeak-ng's voices).
tts-exited = Speech synthesis failed: `{ $program }` { $how }{ $said } — Check the voices in the [tts] section of the config (`mentor config show` prints it; `espeak-ng --voices` lists espeak-ng's voices).
tts-how-code = stopped with exit code { $code }
tts-how-signal = was killed by signal { $signal }
tts-how-unknown = stopped abnormally
tts-stderr = : { $text }
tts-timed-out = The speech engine gave no clip within { $secs } s and was stopped. Try again; if the machine is slow, raise [tts] timeout_secs or lower [tts] parallel.
tts-bad-audio = The speech engine's output is not audio Mentor can read ({ $detail }). A speech server must answer 16-bit PCM WAV when asked for response_format "wav"; check [tts] base_url and model.
tts-unreachable = Could not reach the speech server ({ $detail }). Check that it is running and that [tts] base_url points to it, or set [tts] engine = "espeak-ng" to speak locally.
tts-io = Cannot write the audio clip ({ $detail }). Check the free disk space and the permissions of Mentor's data directory.
tts-cancelled = Speech stopped: the job was cancelled.

## Quality gates (what was wrong with an artifact the model wrote)

quality-part-title = the title
quality-part-overview = the overview
quality-part-question = question { $n }
quality-part-concept = key concept { $n }
quality-part-term = glossary entry { $n }
quality-part-thought = question to think about { $n }
quality-part-outline = the outline
quality-part-segment = segment { $n }
quality-part-episode = the episode
quality-part-answer = the model's answer
quality-empty = { $part } is empty
quality-repeated-sentence = { $part } repeats the same sentence again and again (“{ $text }”)
quality-repeated-run = { $part } repeats “{ $text }” over and over
quality-counting = { $part } counts from { $from } to { $to } instead of saying something
quality-soup = { $part } is digits and symbols, not words (“{ $text }”)
quality-echo = { $part } copies Mentor's instructions to the model (“{ $text }”)
quality-title = the title “{ $title }” does not name the subject
quality-duplicate = { $part } says the same as { $other }
quality-duplicate-within = { $part } says the same thing twice
quality-uncited = { $part } cites no passage of the sources
quality-ungrounded = { $part } is not supported by passage { $passage }, which it cites
quality-language = { $part } is not in the language asked ({ $language })
quality-length = { $part } would last about { $minutes } min when spoken ({ $words } { $words ->
    [one] word
   *[other] words
}); this format and length promise { $least } to { $most } min
quality-same-options = { $part } has two options that are the same (options { $a } and { $b })
quality-no-answer = { $part } has no right answer among its options
quality-one-voice = in { $part } only one host speaks
quality-thin = { $part } says too little ({ $found } { $found ->
    [one] word
   *[other] words
} of substance where it needs { $needed })
quality-restated = { $part } only repeats its own name
quality-meta = { $part } talks about questions, answers and passages instead of the subject
quality-failed = { $kind ->
    [podcast] The podcast
    [quiz] The quiz
    [study_guide] The study guide
   *[other] The artifact
} was not good enough, even after asking the model to rewrite it: { $reason }.
quality-hint-builtin = The built-in model is small and meant for trying Mentor out. For real results install a stronger one: download an instruct model in GGUF format (Qwen2.5-1.5B-Instruct or -3B, Q4_K_M) and run ./install.sh --model FILE.gguf, then mentor daemon stop; or set [llm] base_url to an OpenAI-compatible server (Ollama, llama-server). The README's "Point it at a model" shows both.
quality-hint-other = A larger model may do better.
