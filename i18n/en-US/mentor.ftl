# Mentor — English (en-US). Every user-facing sentence lives here and in fr-FR/mentor.ftl;
# a test keeps the two files in parity. Variables are in { $braces }.

## Daemon

mentord-about = The Mentor daemon: owns your notebooks and the background jobs, and serves the `mentor` client over a private socket. Runs in the foreground; `mentor daemon start` starts it in the background.
err-no-home = Cannot find your home directory ({ $detail }). Set MENTOR_HOME to a directory Mentor may use.
err-daemon-already-running = Another Mentor daemon is already running (pid { $pid }). Stop it with `mentor daemon stop` first.
err-unsafe-dir = Refusing to use { $path }: it { $reason }. Mentor keeps its socket in a private directory; remove or fix that path and try again.
err-daemon-io = Cannot use { $path }: { $reason }
err-socket-path-too-long = The socket path { $path } is too long for a Unix socket. Set MENTOR_HOME to a shorter directory.
err-database-open = Cannot open the database: { $detail }

## Configuration

err-config = Invalid configuration in { $file }{ $place }: { $detail }. Fix that line or remove it (`mentor config show` prints every key with its value).
config-place-line-key = , line { $line }, key `{ $key }`
config-place-line = , line { $line }
config-place-key = , key `{ $key }`
config-problem-unreadable = the file cannot be read ({ $reason })
config-problem-range = the value must be between { $min } and { $max }
config-problem-language = unknown language “{ $value }” (Mentor speaks en-US and fr-FR)
config-problem-url = “{ $value }” is not an http:// or https:// URL
config-problem-empty = the value must not be empty
config-problem-voice = `{ $value }` is not a voice name: use one word of letters, digits and + - _ . / :
config-problem-one-of = `{ $value }` is not accepted here; use one of: { $allowed }
config-problem-off-or-range = the value must be 0 (off) or between { $min } and { $max }
config-problem-sequences = { $sequences } sequences would each get { $share } of the { $context } tokens of llm.local.context_tokens, fewer than the { $min } a request needs: raise llm.local.context_tokens or lower llm.local.sequences
config-problem-env = the environment variable { $var } has an invalid value

## Errors from the daemon

err-version-mismatch = This `mentor` speaks protocol version { $client } but the running daemon speaks version { $daemon }. Restart the daemon with `mentor daemon stop` (the next command starts the new one).
err-handshake-required = The daemon expects a version handshake first. Upgrade your client, or restart the daemon with `mentor daemon stop`.
err-shutting-down = The daemon is shutting down. Try again in a moment.
err-notebook-not-found = No notebook is called “{ $reference }”. `mentor notebook list` shows your notebooks.
err-notebook-ambiguous = Several notebooks are called “{ $reference }”; name one by its id:
    { $matches }
err-objective-not-found = No objective “{ $reference }” in this notebook. `mentor notebook objectives list NOTEBOOK` shows them with their numbers.
err-source-not-found = No source “{ $reference }”. `mentor source list NOTEBOOK` shows the ids.
err-empty-field = The { $field } must not be empty.
err-field-too-long = The { $field } is too long (at most { $max } characters).
err-file-missing = { $path }: no such file. Check the path.
err-file-is-directory = { $path } is a directory. Give the files inside it, for example `{ $path }/*.md`.
err-file-unreadable = Cannot read { $path }: { $reason }
err-source-too-large = { $origin } is too large ({ $size }; the limit is { $limit }). Split it, or raise `sources.max_bytes` in the configuration.
err-source-unsupported = { $origin }: unsupported type ({ $detail }). Mentor reads plain text, Markdown, PDF and HTML.
err-source-binary = { $origin } looks like a binary file, not text. Mentor reads plain text, Markdown, PDF and HTML.
err-source-not-utf8 = { $origin } is not UTF-8 text (invalid byte at offset { $offset }). Convert it first, for example `iconv -f latin1 -t utf-8`.
err-source-empty = { $origin } contains no text to learn from.
err-source-pdf = Cannot read the PDF { $origin }: { $reason }
err-source-duplicate = { $origin } is already in this notebook ({ $existing }). Remove it first to add it again.
err-url-invalid = “{ $url }” is not a valid http:// or https:// URL.
err-url-unreachable = Cannot fetch { $url }: { $reason }. Check the address and your connection.
err-url-status = { $url } answered with HTTP status { $status }.
err-empty-query = The search has no words to look for.
err-storage = The database failed: { $message }. Your data is unchanged; see `mentor daemon logs`.
err-storage-busy = The database is locked by another program (an SQLite browser, a backup, another copy of Mentor…) and stayed locked too long. Nothing was changed: close that program, then try again.
err-storage-full = The disk that holds Mentor's data is full, so nothing could be saved. What was saved before is intact: free some space (`mentor daemon status` shows where the database is), then try again.
err-internal = Internal error in the daemon: { $message }. See `mentor daemon logs`.

field-title = title
field-objective = objective
field-module-prompt = module prompt
field-url = URL
field-paths = list of files

## Client: connection and daemon control

daemon-starting = Starting the Mentor daemon…
daemon-started = Mentor daemon started (pid { $pid }).
daemon-already-running = The Mentor daemon is already running (pid { $pid }).
daemon-not-running = The Mentor daemon is not running.
daemon-stopped = Mentor daemon stopped (pid { $pid }).
daemon-stop-timeout = the daemon (pid { $pid }) did not stop within 20 seconds; see `mentor daemon logs`
daemon-no-logs = No log yet at { $path }: the daemon has never run with this MENTOR_HOME.
daemon-status-running = The Mentor daemon is running (pid { $pid }).
daemon-status-version = Version
daemon-status-uptime = Uptime
daemon-status-socket = Socket
daemon-status-database = Database
daemon-status-log = Log file
daemon-status-clients = Clients
daemon-status-notebooks = Notebooks
daemon-status-sources = Sources
err-connection-lost = Lost the connection to the daemon ({ $reason }). If it keeps happening, see `mentor daemon logs`.
err-connection-closed = the daemon closed the connection
err-mentord-not-found = Cannot find the `mentord` program next to `mentor` or on your PATH. Run ./install.sh, or set MENTORD to its path.
err-daemon-start-failed = The Mentor daemon could not start: { $detail }
daemon-start-silent = it stopped (exit code { $code }) without saying why, and nothing could be read from { $path }. Check the free disk space, then `mentor daemon logs`.
err-daemon-start-timeout = The Mentor daemon did not answer after starting. See its log: { $log }
err-socket-permission = Permission denied on the daemon's socket { $path }. It belongs to another user; each user runs their own daemon.
err-io = { $path }: { $reason }
err-path-not-utf8 = The path { $path } is not valid UTF-8; rename the file and try again.
err-confirmation-needed = This deletes data and there is no terminal to confirm on. Add --yes to confirm.
err-aborted = Nothing was changed.
confirm-suffix = [y/N]
confirm-yes-letter = y

## Client: results

age-ago = { $age } ago
col-id = ID
col-title = TITLE
col-sources = SOURCES
col-objectives = OBJECTIVES
col-updated = UPDATED
col-kind = TYPE
col-size = SIZE
col-added = ADDED
notebook-created = Created notebook “{ $title }” ({ $id }).
notebook-list-empty = No notebooks yet. Create one with `mentor notebook create "Biology 101"`.
notebook-renamed = Renamed to “{ $title }”.
notebook-deleted = Deleted notebook “{ $title }” and its { $sources } sources.
notebook-delete-confirm = Delete notebook “{ $title }” with its { $sources } sources, objectives and conversation?
notebook-prompt-empty = (no module prompt)
notebook-show-dates = Created { $created }, updated { $updated }
notebook-show-prompt = Module prompt:
notebook-show-objectives = Objectives ({ $met }/{ $total } met):
notebook-show-sources = Sources ({ $count }):
objective-added = Added objective { $position }: { $text }
objective-removed = Removed objective: { $text }
objective-list-empty = No objectives yet. Add one with `mentor notebook objectives add NOTEBOOK "Explain photosynthesis"`.
objective-evidence = met: { $evidence }
source-added = Added “{ $title }” ({ $id }, { $kind }, { $chunks } passages indexed).
source-list-empty = No sources yet. Add some with `mentor source add NOTEBOOK notes.md`.
source-removed = Removed source “{ $title }”.
source-show-meta = { $kind } · { $origin } · { $size } · { $chunks } passages
source-show-truncated = (The text is cut here: it is too long to show in full. `mentor source search` finds passages anywhere in it.)
source-search-none = Nothing found.
config-show-file = configuration in effect: { $path } plus environment
config-show-local-model = model in use: { $model }, the local model ({ $path })
config-show-server-model = model in use: { $model }, on the server { $url }
config-show-defaults = configuration in effect: defaults plus environment ({ $path } does not exist)

## Command-line help

cli-heading-usage = Usage:
cli-heading-commands = Commands
cli-heading-arguments = Arguments
cli-heading-options = Options
cli-value-command = COMMAND
cli-about = Mentor, an AI teacher for the terminal: notebooks of sources, and a teacher that teaches from them.
cli-arg-json = Print machine-readable JSON instead of text
cli-arg-help = Print help
cli-arg-version = Print version
cli-arg-notebook = Notebook id or title
cli-arg-source = Source id (as `mentor source list` shows it)
cli-daemon-about = Start, stop and inspect the background daemon
cli-daemon-start-about = Start the daemon in the background (nothing happens if it runs)
cli-daemon-stop-about = Stop the daemon gracefully
cli-daemon-status-about = Show whether the daemon runs, and its details (exit code 1 if not)
cli-daemon-logs-about = Show the daemon's log
cli-daemon-logs-arg-lines = Number of lines from the end
cli-daemon-logs-arg-follow = Keep printing new lines as they are written
cli-notebook-about = Manage notebooks
cli-notebook-create-about = Create a notebook
cli-notebook-create-arg-title = Title of the new notebook
cli-notebook-create-arg-prompt = Instructions for the teacher in this notebook (module prompt)
cli-notebook-create-arg-prompt_file = Read the module prompt from a file
cli-notebook-list-about = List notebooks, most recently changed first
cli-notebook-show-about = Show a notebook with its objectives and sources
cli-notebook-rename-about = Rename a notebook
cli-notebook-rename-arg-title = The new title
cli-notebook-prompt-about = Show or change a notebook's module prompt
cli-notebook-prompt-arg-set = Replace the module prompt with this text
cli-notebook-prompt-arg-file = Replace the module prompt with a file's content
cli-notebook-prompt-arg-clear = Remove the module prompt
cli-notebook-delete-about = Delete a notebook with everything in it
cli-notebook-delete-arg-yes = Do not ask for confirmation
cli-notebook-objectives-about = Manage a notebook's learning objectives
cli-notebook-objectives-add-about = Add a learning objective
cli-notebook-objectives-add-arg-text = What the learner should be able to do
cli-notebook-objectives-list-about = List learning objectives with their numbers
cli-notebook-objectives-remove-about = Remove a learning objective
cli-notebook-objectives-remove-arg-objective = Objective number (as listed) or id
cli-source-about = Manage a notebook's sources
cli-source-add-about = Add files or a URL to a notebook (all of them, or none if one fails)
cli-source-add-arg-paths = Files to add (text, Markdown, PDF, HTML)
cli-source-add-arg-url = A web page or document to fetch instead of files
cli-source-list-about = List a notebook's sources
cli-source-show-about = Show a source's extracted text
cli-source-remove-about = Remove a source
cli-source-search-about = Search a notebook's sources
cli-source-search-arg-query = Words to look for
cli-source-search-arg-limit = Most results to show
cli-config-about = Show the configuration
cli-config-show-about = Print the configuration in effect (the API key is redacted)
cli-config-path-about = Print the configuration file's path
cli-config-model-path-about = Print the local model's path (llm.local.model, or where ./install.sh puts it)
cli-completions-about = Print a shell completion script
cli-completions-arg-shell = The shell (bash, zsh, fish, elvish, powershell)

## Command-line usage errors
usage-more-help = For more information, try '--help'.
usage-unknown-command = unknown command '{ $command }'
usage-unknown-argument = unexpected argument '{ $arg }'
usage-value-missing = a value is required for '{ $arg }' but none was supplied
usage-invalid-value = invalid value '{ $value }' for '{ $arg }'
usage-invalid-choice = invalid value '{ $value }' for '{ $arg }' (possible values: { $choices })
usage-value-rejected = invalid value '{ $value }' for '{ $arg }': { $reason }
usage-missing-argument = missing required argument: { $args }
usage-missing-command = a command is required (one of: { $commands })
usage-conflict = '{ $arg }' cannot be used with '{ $other }'
usage-too-many-values = unexpected extra value '{ $value }' for '{ $arg }'
usage-wrong-number-of-values = wrong number of values for '{ $arg }'
usage-no-equals = '{ $arg }' needs '=' before its value
usage-invalid-utf8 = an argument is not valid UTF-8
usage-number-range = expected a whole number from { $min } to { $max }
usage-did-you-mean = tip: did you mean '{ $suggestion }'?
usage-trailing = tip: to pass '{ $arg }' as a value, use '-- { $arg }'

## Jobs
err-job-not-found = No job has the id “{ $reference }”. `mentor jobs list` shows them.
err-artifact-not-found = No artifact has the id “{ $reference }”.
err-no-handler = This daemon cannot make { $kind } jobs yet (no handler is installed). Nothing was queued.
err-job-not-cancellable = Job { $job } is { $status }: only a pending or running job can be cancelled.
err-job-not-retryable = Job { $job } is { $status }: only a failed or cancelled job can be retried.
err-invalid-option = Invalid { $field }: { $problem }.
field-questions = number of questions
field-topic = topic
field-language = language
job-kind-podcast = Podcast
job-kind-quiz = Quiz
job-kind-study_guide = Study guide
job-kind-test = Test job
job-status-pending = pending
job-status-processing = processing
job-status-completed = completed
job-status-error = failed
job-status-cancelled = cancelled
job-failure-interrupted = Interrupted: the daemon stopped during the last attempt ({ $attempts } of { $max }).
job-failure-timeout = Timed out after { $secs } s.
job-failure-exhausted = { $attempts ->
    [one] Gave up after 1 attempt: { $reason }
   *[other] Gave up after { $attempts } attempts: { $reason }
}
job-cancelled-by-user = Cancelled.
stage-queued = Waiting for a worker
stage-test-step = Step { $current }/{ $total }
stage-outline = Writing the outline
stage-transcript = Writing the script, part { $current }/{ $total }
stage-speech = Recording the voices, clip { $current }/{ $total }
stage-combine = Putting the episode together
stage-quiz = Writing the questions
stage-guide = Writing the study guide
stage-quiz-question = Writing question { $current }/{ $total }
stage-guide-overview = Writing the study guide: overview ({ $current }/{ $total })
stage-guide-concepts = Writing the study guide: key concepts ({ $current }/{ $total })
stage-guide-glossary = Writing the study guide: glossary ({ $current }/{ $total })
stage-guide-questions = Writing the study guide: questions to think about ({ $current }/{ $total })
job-no-notebook = This job has no notebook to draw on.
job-context-too-small = The model's context window ({ $window } tokens) is too small for this job's prompt (about { $tried } tokens), even with fewer passages. Start the model server with a larger window (llama-server -c, Ollama num_ctx), or set [llm] context_tokens to the window it has.
job-bad-kind = This job's parameters are not a { $kind }.
quiz-title = Quiz: { $subject }
guide-key-concepts = Key concepts
guide-glossary = Glossary
guide-questions = Questions to think about
guide-sources = Sources
guide-concept-sources = Sources: { $sources }
podcast-write-failed = Cannot write the podcast's files in { $path }: { $reason }. Check the free space and the permissions of Mentor's data directory.
podcast-audio-failed = The clips could not be put together into one audio file ({ $reason }). Check the free space in the data directory, then retry the job.

## The model catalog (shared/catalog.toml): what each model is good for

catalog-good-qwen2-5-1-5b = a small machine: answers in both languages and calls the tools
catalog-good-qwen2-5-3b = a good teacher on 8 GiB, for personal study (its licence is non-commercial)
catalog-good-qwen2-5-7b = the best teacher here, with 16 GiB of memory
catalog-good-qwen3-1-7b = a small machine, with reasoning (its thinking is not shown)
catalog-good-qwen3-4b = a careful teacher on 8 GiB, with reasoning
catalog-good-llama3-2-3b = a well-rounded teacher on 8 GiB
catalog-good-smollm2-1-7b = English only, light and quick
