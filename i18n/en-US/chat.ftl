# The conversation with the teacher: model-server errors, the daemon's notices, and the chat
# and profile commands.

err-llm-unreachable = Could not reach the model server at { $url } ({ $reason }). Start it (for Ollama: `ollama serve`), or point Mentor at another server with `llm.base_url` in the config file or the MENTOR_LLM_URL variable.
err-llm-timeout-connect = The model server at { $url } did not accept the connection within { $secs } s. Check that it is running, or raise `llm.connect_timeout_secs`.
err-llm-timeout-first-token = The model server at { $url } sent no answer within { $secs } s. A local model may still be loading: try again, or raise `llm.first_token_timeout_secs`.
err-llm-timeout-idle = The model server at { $url } stopped sending for { $secs } s in the middle of an answer. Try again, or raise `llm.idle_timeout_secs`.
err-llm-status = The model server at { $url } answered HTTP { $status }: { $message }{ $hint }
err-llm-hint-auth = {" "}Check the API key (`llm.api_key` or MENTOR_LLM_API_KEY).
err-llm-hint-model = {" "}Check the model name (`llm.model`) and the URL (`llm.base_url`, usually ending in /v1).
err-llm-hint-busy = {" "}The server is busy or rate-limited: wait a moment and try again.
err-llm-hint-retry-after = {" "}The server is busy or rate-limited and asks to wait { $secs } s: try again after that.
err-llm-hint-server = {" "}The server failed: see its own log, then try again.
err-llm-protocol = The model server at { $url } sent an answer Mentor cannot read ({ $reason }). Check that `llm.base_url` points to an OpenAI-compatible API.
err-llm-cut = The model server at { $url } stopped in the middle of its answer ({ $reason }). What had arrived is kept; try again, and if it keeps happening, see the server's own log.
err-tool-rounds = { $rounds ->
    [one] The teacher kept calling tools and had not answered after 1 round of tool calls, so the turn was stopped. Ask again, perhaps more precisely, or allow more rounds with `chat.max_tool_rounds` in the config file.
   *[other] The teacher kept calling tools and had not answered after { $rounds } rounds of tool calls, so the turn was stopped. Ask again, perhaps more precisely, or allow more rounds with `chat.max_tool_rounds` in the config file.
}
net-connection-refused = connection refused
net-connection-reset = connection reset by the server
net-connection-aborted = connection aborted
net-closed = the server closed the connection
net-timed-out = timed out
net-host-unreachable = host unreachable
net-network-unreachable = network unreachable
net-addr-not-available = address not available
net-ended-early = the connection closed before the end
err-llm-output = The model's answer did not have the expected form, even after asking it to correct itself: { $reason }. A larger model may do better.
err-llm-preempted = the model request made way for the conversation; it starts again as soon as the model is free
err-reply-looped = Mentor stopped this reply: the model kept repeating itself. Ask again in other words; a larger model loops less.
err-local-model-missing = There is no local model at { $path }. Install the default one with `./install.sh`, or another GGUF file with `./install.sh --model FILE`; or set `llm.local.model` in the config file; or use a model server (`llm.provider = "openai"`).
err-local-model = The local model { $path } cannot be used: { $reason }.
err-prompt-template = The prompt template { $file } is broken: { $reason }. Fix it, or remove it to use the built-in one.

field-message = message
field-name = name
field-level = level

notice-submitted = I'm generating that for you. Let's continue while it's processing.
notice-ready-podcast = Your podcast is ready: “{ $title }”. Open it in the artifacts panel, or run `mentor artifact show { $artifact }`.
notice-ready-quiz = Your quiz is ready: “{ $title }”. Open it in the artifacts panel, or run `mentor artifact show { $artifact }`.
notice-ready-study_guide = Your study guide is ready: “{ $title }”. Open it in the artifacts panel, or run `mentor artifact show { $artifact }`.
notice-ready-test = Your test job is done.
notice-failed = I had trouble generating that. Let me walk you through it instead.
notice-cancelled = I stopped generating that, as you asked.

# chat, profile and artifact commands

## Command-line help

cli-chat-about = Talk with the teacher, or read the conversation back
cli-chat-arg-notebook = Notebook id or title (default: the most recently changed one; with none, one is created)
cli-chat-arg-message = Send this message and print the reply as it streams (`-` reads it from stdin)
cli-chat-arg-plain = Chat line by line on stdin and stdout, for screen readers and pipes
cli-chat-arg-wait_jobs = With --message: also wait until the podcasts, quizzes and study guides the teacher started have ended and been announced
cli-chat-after = With --message, stdout carries the reply alone; tool calls, the teacher's notices and job changes go to stderr. With --json, every event is a JSON line on stdout.
    With --plain, type a message and press Enter; /stop stops the reply, /help lists the commands, /quit or the end of input leaves (after the reply being written).
    Exit codes: 0 the teacher answered; 1 the reply failed (the reason is on stderr), was stopped from elsewhere, or a job awaited with --wait-jobs failed; 2 usage error; 130 Ctrl+C, which stops the reply (what had arrived is kept in the conversation).
cli-chat-history-about = Print a notebook's conversation
cli-chat-history-arg-notebook = Notebook id or title (default: the most recently changed one)
cli-chat-history-arg-limit = Only the last N messages (default: all)
cli-profile-about = Show or change what the teacher knows about you
cli-profile-show-about = Show your learner profile
cli-profile-set-about = Change your learner profile (an empty value clears a field)
cli-profile-set-arg-name = What the teacher calls you
cli-profile-set-arg-level = Your level, in your own words ("beginner", "second-year student"…)
cli-profile-set-arg-language = The language the teacher answers in: en-US or fr-FR

## mentor chat

chat-default-notebook = My notebook
chat-notebook-created = You had no notebook yet: created “{ $title }” ({ $id }).
chat-role-user = You
chat-role-assistant = Teacher
chat-role-notice = Teacher (notice)
chat-role-tool = Tool
chat-speaker = { $who }:
chat-tool-failed = { $tool } failed: { $reason }
chat-mark-streaming = [still being written]
chat-mark-stopped = [stopped]
chat-mark-failed = [failed: { $reason }]
chat-interrupted = Stopped the reply; what had arrived is kept in the conversation.
chat-history-empty = No conversation yet in “{ $title }”. Start one with `mentor chat --message "Hello"`.
chat-history-earlier = { $count ->
    [one] (1 earlier message is not shown: leave out --limit to see the whole conversation.)
   *[other] ({ $count } earlier messages are not shown: leave out --limit to see the whole conversation.)
}
chat-history-busy = (The teacher is writing a reply.)
chat-model-loading = Loading the local model… { $percent }% (the reply starts once it is loaded)
chat-plain-welcome = Chatting in “{ $title }”. Type a message and press Enter; /help lists the commands.
chat-plain-help = Commands:
    /stop  stop the reply being written
    /help  list these commands
    /quit  leave (so does Ctrl+D)
    /quiz TOPIC, /podcast TOPIC, /guide TOPIC  make a quiz, a podcast or a study guide now
    Any other line is sent to the teacher; start it with // to send a line that begins with /.
chat-plain-unknown-command = Unknown command { $command }. /help lists the commands.
chat-plain-queued = (The teacher answers this right after the reply being written.)
chat-plain-nothing-to-stop = No reply is being written.
chat-job-about = { $kind } about “{ $topic }”
chat-job-pending = { $job }: queued
chat-job-processing = { $job }: in progress
chat-job-completed = { $job }: { $kind ->
   *[other] ready
}
chat-job-cancelled = { $job }: { $kind ->
   *[other] cancelled
}
chat-job-failed = { $job }: failed: { $reason }
chat-job-stage = { $job }: { $stage }
err-no-notebooks = You have no notebook yet. Create one with `mentor notebook create "Biology 101"`, or start a conversation with `mentor chat --message "Hello"`.
err-reply-stopped = The reply was stopped before it finished (from another window?). What had arrived is kept: `mentor chat history` shows it.

## mentor profile

profile-name = Name
profile-level = Level
profile-language = Language
profile-unset = (not set)
profile-language-default = (not set: the daemon's language)
profile-updated = Profile updated.
profile-empty-hint = Tell the teacher about you with `mentor profile set --name Ada --level beginner`.
profile-usage-language = Mentor speaks { $tags } (an empty value goes back to the daemon's language)

## mentor artifact

artifact-list-empty = No artifacts yet. Ask the teacher for a podcast, a quiz or a study guide, or run `mentor generate quiz --notebook NOTEBOOK`.
artifact-col-created = CREATED
artifact-col-notebook = NOTEBOOK
artifact-status-generating = generating
artifact-status-ready = ready
artifact-status-failed = failed
artifact-status-cancelled = cancelled
artifact-show-title = Title
artifact-show-job = Job
artifact-show-content = Content:
artifact-show-generating = Still being made: follow it with `mentor jobs watch { $job }`.
artifact-show-no-content = (no content was saved)
