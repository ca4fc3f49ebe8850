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
err-llm-hint-server = {" "}The server failed: see its own log, then try again.
err-llm-protocol = The model server at { $url } sent an answer Mentor cannot read ({ $reason }). Check that `llm.base_url` points to an OpenAI-compatible API.
err-llm-output = The model's answer did not have the expected form, even after asking it to correct itself: { $reason }. A larger model may do better.
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
