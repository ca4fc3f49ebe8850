//! The model client against a real (scripted) OpenAI-compatible HTTP server: streaming,
//! vendor quirks, errors with the server's own words, deadlines, exactly one request per
//! call, structured output with repair, and the chat-first gate.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mentor_daemon::llm::{
    is_transient, ChatRequest, Completion, Delta, Gate, JsonSchema, Llm, Priority, ToolSpec,
    WireMessage,
};
use mentor_shared::config::LlmConfig;
use mentor_shared::ApiError;
use mentor_tests::openai::{closed_port_url, Frame, Reply, ScriptedServer};
use serde_json::{json, Value};
use tokio::sync::Notify;

const SHORT: Duration = Duration::from_millis(400);
const LONG: Duration = Duration::from_secs(5);

fn config(base_url: &str) -> LlmConfig {
    LlmConfig {
        base_url: base_url.to_string(),
        model: "test-model".into(),
        ..LlmConfig::default()
    }
}

/// A client with deadlines long enough never to fire by accident.
fn client(server: &ScriptedServer) -> Llm {
    client_with(config(&server.base_url()))
}

fn client_with(config: LlmConfig) -> Llm {
    Llm::new(&config)
        .expect("client")
        .with_timeouts(LONG, LONG, LONG)
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![
            WireMessage::System("You are a teacher.".into()),
            WireMessage::User(text.into()),
        ],
        tools: Vec::new(),
        temperature: None,
        max_tokens: None,
        ignore_eos: false,
    }
}

/// Every delta, then the completion; or the error (with the deltas before it).
async fn run(llm: &Llm, request: &ChatRequest) -> (Vec<Delta>, Result<Completion, ApiError>) {
    let mut stream = match llm.stream(request, Priority::Chat).await {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Err(e)),
    };
    let mut deltas = Vec::new();
    loop {
        match stream.next().await {
            Ok(Some(d)) => deltas.push(d),
            Ok(None) => return (deltas, Ok(stream.finish())),
            Err(e) => {
                // Asking again gives the same end, without touching the network.
                assert_eq!(stream.next().await, Err(e.clone()));
                return (deltas, Err(e));
            }
        }
    }
}

fn text_of(deltas: &[Delta]) -> String {
    deltas
        .iter()
        .filter_map(|d| match d {
            Delta::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Exactly `n` requests, even after the event source's default first retry delay (300 ms)
/// has passed twice over: nothing is re-sent behind our back.
async fn assert_requests(server: &ScriptedServer, n: usize) {
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(server.request_count(), n, "{:#?}", server.requests());
}

async fn assert_one_request(server: &ScriptedServer) {
    assert_requests(server, 1).await;
}

async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

fn url_of(server: &ScriptedServer) -> String {
    format!("{}/chat/completions", server.base_url())
}

// ---- streaming -------------------------------------------------------------------------

#[tokio::test]
async fn text_streams_and_the_request_is_standard() {
    let server = ScriptedServer::start();
    server.push(Reply::text("Photosynthesis turns light into sugar.").with_usage(42, 7));
    let llm = client(&server);
    assert_eq!(llm.url(), url_of(&server));
    let (deltas, done) = run(&llm, &ask("What is photosynthesis?")).await;
    let done = done.expect("answer");
    assert_eq!(text_of(&deltas), "Photosynthesis turns light into sugar.");
    assert_eq!(done.text, "Photosynthesis turns light into sugar.");
    assert_eq!(done.finish_reason.as_deref(), Some("stop"));
    let usage = done.usage.expect("usage");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (42, 7));
    assert!(done.tool_calls.is_empty() && done.reasoning.is_empty());

    let body = &server.requests()[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are a teacher."},
            {"role": "user", "content": "What is photosynthesis?"},
        ])
    );
    for absent in [
        "tools",
        "temperature",
        "max_tokens",
        "stream_options",
        "response_format",
    ] {
        assert!(body.get(absent).is_none(), "{absent} sent: {body}");
    }
    let headers = &server.headers()[0];
    assert_eq!(headers["content-type"], "application/json");
    assert!(server.last_authorization().is_none());
    assert_eq!(server.first_token_sent_us().len(), 1);
    assert_eq!(llm.gate().in_use(), 0, "the place is given back");
    assert_one_request(&server).await;
}

#[tokio::test]
async fn tools_temperature_and_max_tokens_are_sent() {
    let server = ScriptedServer::start();
    server.push(Reply::text("ok"));
    let mut request = ask("quiz me");
    request.tools = vec![ToolSpec {
        name: "generate_artifact".into(),
        description: "Makes a quiz".into(),
        parameters: json!({"type": "object", "properties": {"kind": {"type": "string"}}}),
    }];
    request.temperature = Some(0.2);
    request.max_tokens = Some(300);
    run(&client(&server), &request).await.1.expect("answer");
    let body = &server.requests()[0];
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "generate_artifact");
    assert_eq!(body["temperature"], json!(0.2));
    assert_eq!(body["max_tokens"], 300);
}

#[tokio::test]
async fn api_key_is_sent_and_never_shown() {
    let server = ScriptedServer::start();
    server.push(Reply::text("hi"));
    let llm = client_with(LlmConfig {
        api_key: Some("sk-very-secret-42".into()),
        ..config(&server.base_url())
    });
    run(&llm, &ask("hi")).await.1.expect("answer");
    assert_eq!(
        server.last_authorization().as_deref(),
        Some("Bearer sk-very-secret-42")
    );
    let shown = format!("{llm:?}");
    assert!(!shown.contains("sk-very-secret"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

#[tokio::test]
async fn fast_tokens_coalesce_slow_ones_do_not() {
    let server = ScriptedServer::start();
    let tokens: Vec<String> = (0..5000).map(|i| format!("t{i} ")).collect();
    server.push(Reply::tokens(tokens.clone()));
    let llm = client(&server);
    let (deltas, done) = run(&llm, &ask("go")).await;
    assert_eq!(done.expect("answer").text, tokens.concat());
    assert!(
        deltas.len() < 500,
        "{} deltas for 5000 tokens sent at once",
        deltas.len()
    );

    let mut frames = vec![Frame::delta(json!({"role": "assistant"}))];
    for t in ["one", " two", " three"] {
        frames.push(Frame::Delay(Duration::from_millis(200)));
        frames.push(Frame::delta(json!({ "content": t })));
    }
    frames.extend([Frame::finish("stop"), Frame::done()]);
    server.push(Reply::sse(frames));
    let (deltas, _) = run(&llm, &ask("slowly")).await;
    assert_eq!(
        deltas,
        ["one", " two", " three"].map(|t| Delta::Text(t.into()))
    );
}

#[tokio::test]
async fn keep_alive_comments_and_blank_lines_are_ignored() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::Raw(": ping\n\n".into()),
        Frame::delta(json!({"role": "assistant", "content": null})),
        Frame::Raw("\n\n: keep-alive\n\n".into()),
        Frame::delta(json!({"content": "Hel"})),
        Frame::Raw(": ping\n\n\n".into()),
        Frame::delta(json!({"content": "lo"})),
        Frame::finish("stop"),
        Frame::done(),
    ]));
    let (deltas, done) = run(&client(&server), &ask("hi")).await;
    assert_eq!(text_of(&deltas), "Hello");
    assert_eq!(done.expect("answer").text, "Hello");
}

#[tokio::test]
async fn reasoning_is_kept_apart_from_the_answer() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"role": "assistant", "content": ""})),
        Frame::delta(json!({"reasoning_content": "The user wants ", "content": null})),
        Frame::Delay(Duration::from_millis(30)),
        // Ollama and OpenRouter call it `reasoning`.
        Frame::delta(json!({"reasoning": "a short answer."})),
        Frame::Delay(Duration::from_millis(30)),
        Frame::delta(json!({"content": "Yes."})),
        Frame::finish("stop"),
        Frame::done(),
    ]));
    let (deltas, done) = run(&client(&server), &ask("ok?")).await;
    let done = done.expect("answer");
    assert_eq!(done.text, "Yes.");
    assert_eq!(done.reasoning, "The user wants a short answer.");
    assert_eq!(deltas.last(), Some(&Delta::Text("Yes.".into())));
    assert!(deltas
        .iter()
        .any(|d| matches!(d, Delta::Reasoning(r) if r.contains("The user wants"))));
}

// ---- tool calls --------------------------------------------------------------------------

#[tokio::test]
async fn a_tool_call_split_over_many_chunks() {
    let server = ScriptedServer::start();
    let args = r#"{"kind":"podcast","title":"Cells, the basics","minutes":5}"#;
    server.push(Reply::tool_call("generate_artifact", args));
    let (deltas, done) = run(&client(&server), &ask("make a podcast")).await;
    let done = done.expect("answer");
    assert_eq!(
        deltas,
        [Delta::ToolCallStarted {
            index: 0,
            name: "generate_artifact".into()
        }]
    );
    assert_eq!(done.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(done.tool_calls.len(), 1);
    let call = &done.tool_calls[0];
    assert_eq!(
        (call.name.as_str(), call.arguments.as_str()),
        ("generate_artifact", args)
    );
    assert!(call.id.starts_with("call_scripted_"), "{}", call.id);
}

#[tokio::test]
async fn two_tool_calls_in_one_turn() {
    let server = ScriptedServer::start();
    server.push(Reply::tool_calls(vec![
        ("search_sources", r#"{"query":"mitochondria"}"#),
        ("record_progress", r#"{"objective":"o1","level":2}"#),
    ]));
    let (deltas, done) = run(&client(&server), &ask("go")).await;
    let done = done.expect("answer");
    let started: Vec<_> = deltas
        .iter()
        .filter_map(|d| match d {
            Delta::ToolCallStarted { index, name } => Some((*index, name.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(started, [(0, "search_sources"), (1, "record_progress")]);
    let calls: Vec<_> = done
        .tool_calls
        .iter()
        .map(|c| (c.name.as_str(), c.arguments.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("search_sources", r#"{"query":"mitochondria"}"#),
            ("record_progress", r#"{"objective":"o1","level":2}"#),
        ]
    );
    assert_ne!(done.tool_calls[0].id, done.tool_calls[1].id);
}

#[tokio::test]
async fn ollama_style_whole_calls_without_index_or_id() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_x1", "function": {"name": "search_sources", "arguments": "{\"query\":\"atp\"}"}},
        ]})),
        Frame::delta(json!({"tool_calls": [
            {"function": {"name": "quiz", "arguments": "{\"n\":"}},
        ]})),
        // No id, no name, no index: the rest of the last call.
        Frame::delta(json!({"tool_calls": [{"function": {"arguments": "3}"}}]})),
        Frame::finish("tool_calls"),
        Frame::done(),
    ]));
    let (_, done) = run(&client(&server), &ask("go")).await;
    let calls = done.expect("answer").tool_calls;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].id, "call_x1");
    assert_eq!(calls[0].arguments, r#"{"query":"atp"}"#);
    assert_eq!(calls[1].name, "quiz");
    assert_eq!(calls[1].arguments, r#"{"n":3}"#);
    assert!(
        calls[1].id.starts_with("call_"),
        "generated id: {}",
        calls[1].id
    );
}

#[tokio::test]
async fn usage_chunk_with_empty_choices() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"role": "assistant", "content": "Hi"})),
        Frame::finish("stop"),
        Frame::json(json!({"id": "x", "choices": [], "usage": {
            "prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}})),
        Frame::done(),
    ]));
    let (_, done) = run(&client(&server), &ask("hi")).await;
    let usage = done.expect("answer").usage.expect("usage");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (9, 1));
}

// ---- ends, cuts and errors -----------------------------------------------------------------

#[tokio::test]
async fn end_without_done_after_a_finish_reason_is_fine() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"content": "Done"})),
        Frame::finish("length"),
    ]));
    let (_, done) = run(&client(&server), &ask("hi")).await;
    let done = done.expect("answer");
    assert_eq!(done.text, "Done");
    assert_eq!(done.finish_reason.as_deref(), Some("length"));
    assert_one_request(&server).await;
}

#[tokio::test]
async fn end_before_any_finish_reason_is_a_transient_error() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![Frame::delta(
        json!({"content": "Half an ans"}),
    )]));
    let (deltas, done) = run(&client(&server), &ask("hi")).await;
    assert_eq!(text_of(&deltas), "Half an ans");
    let e = done.expect_err("ended early");
    assert!(
        matches!(&e, ApiError::LlmProtocol { reason, .. } if reason.contains("ended early")),
        "{e:?}"
    );
    assert!(is_transient(&e));
    assert_one_request(&server).await;
}

#[tokio::test]
async fn cut_mid_chunk_is_transient_and_not_retried() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"role": "assistant", "content": "The cell"})),
        Frame::Raw(r#"data: {"choices":[{"index":0,"delta":{"content":" membr"#.into()),
        Frame::Cut,
    ]));
    let llm = client(&server);
    let mut stream = llm.stream(&ask("hi"), Priority::Chat).await.expect("open");
    assert_eq!(
        stream.next().await,
        Ok(Some(Delta::Text("The cell".into())))
    );
    let e = stream.next().await.expect_err("cut");
    assert!(
        matches!(&e, ApiError::LlmProtocol { url, reason } if reason.contains("ended early") && *url == url_of(&server)),
        "{e:?}"
    );
    assert!(is_transient(&e));
    assert_eq!(stream.partial_text(), "The cell");
    // Keep the stream alive past the default retry delay: still one request.
    assert_one_request(&server).await;
    assert_eq!(stream.next().await, Err(e));
    assert_eq!(stream.finish().text, "The cell");
}

#[tokio::test]
async fn garbage_data_line_is_a_protocol_error_not_retried() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"content": "ok"})),
        Frame::Data("<html>Bad Gateway</html>".into()),
        Frame::delta(json!({"content": "never read"})),
        Frame::finish("stop"),
        Frame::done(),
    ]));
    let (deltas, done) = run(&client(&server), &ask("hi")).await;
    assert_eq!(text_of(&deltas), "ok");
    let e = done.expect_err("garbage");
    assert!(
        matches!(&e, ApiError::LlmProtocol { reason, .. } if reason.contains("not JSON") && reason.contains("Bad Gateway")),
        "{e:?}"
    );
    assert!(!is_transient(&e));
    assert_one_request(&server).await;
}

#[tokio::test]
async fn error_object_in_the_stream_carries_the_server_message() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"content": "Let me"})),
        Frame::json(json!({"error": {"code": 500, "message": "llama_decode failed: out of memory", "type": "server_error"}})),
    ]));
    let (deltas, done) = run(&client(&server), &ask("hi")).await;
    assert_eq!(text_of(&deltas), "Let me");
    let e = done.expect_err("error in stream");
    assert!(
        matches!(&e, ApiError::LlmStatus { status: 500, message, .. } if message == "llama_decode failed: out of memory"),
        "{e:?}"
    );
    assert_one_request(&server).await;

    // The same as a named `error` event.
    server.push(Reply::sse(vec![Frame::Raw(
        "event: error\ndata: {\"message\":\"model unloaded\"}\n\n".into(),
    )]));
    let e = run(&client(&server), &ask("hi"))
        .await
        .1
        .expect_err("error event");
    assert!(
        matches!(&e, ApiError::LlmStatus { message, .. } if message == "model unloaded"),
        "{e:?}"
    );
}

#[tokio::test]
async fn http_errors_show_the_server_message() {
    let cases = [
        (
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}).to_string(),
            "Incorrect API key provided",
            false,
        ),
        (
            429,
            json!({"error": "Rate limit reached, retry in 20s"}).to_string(),
            "Rate limit reached, retry in 20s",
            true,
        ),
        (
            500,
            json!({"message": "model crashed"}).to_string(),
            "model crashed",
            true,
        ),
        (
            404,
            json!({"error": {"message": "model 'llama9' not found, try pulling it first"}})
                .to_string(),
            "model 'llama9' not found, try pulling it first",
            false,
        ),
        (400, "  bad things happened\n".to_string(), "bad things happened", false),
    ];
    for (code, body, message, transient) in cases {
        let server = ScriptedServer::start();
        server.push(Reply::status(code, body));
        let (_, done) = run(&client(&server), &ask("hi")).await;
        let e = done.expect_err("HTTP error");
        assert_eq!(
            e,
            ApiError::LlmStatus {
                url: url_of(&server),
                status: code,
                message: message.into(),
                retry_after_secs: None,
            }
        );
        assert_eq!(is_transient(&e), transient, "{code}");
        assert_one_request(&server).await;
    }
}

#[tokio::test]
async fn json_instead_of_a_stream() {
    let server = ScriptedServer::start();
    // Some servers report errors with 200 and a JSON body.
    server.push(Reply::status(
        200,
        json!({"error": {"message": "model is loading"}}).to_string(),
    ));
    server.push(Reply::status(200, "hello, I am not a stream"));
    let llm = client(&server);
    let e = run(&llm, &ask("hi")).await.1.expect_err("json error");
    assert!(
        matches!(&e, ApiError::LlmStatus { message, .. } if message == "model is loading"),
        "{e:?}"
    );
    let e = run(&llm, &ask("hi")).await.1.expect_err("not a stream");
    assert!(
        matches!(&e, ApiError::LlmProtocol { reason, .. } if reason.contains("text/plain") && reason.contains("not a stream")),
        "{e:?}"
    );
    assert!(!is_transient(&e));
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn connection_refused_names_the_url() {
    let base = closed_port_url();
    let llm = client_with(config(&base));
    let e = run(&llm, &ask("hi")).await.1.expect_err("refused");
    assert_eq!(
        e,
        ApiError::LlmUnreachable {
            url: format!("{base}/chat/completions"),
            reason: "connection refused".into()
        }
    );
    assert!(is_transient(&e));
    assert_eq!(llm.gate().in_use(), 0);
}

#[tokio::test]
async fn connect_timeout() {
    // A listener whose accept queue is full: the kernel drops further SYNs, so connecting
    // hangs. Fill the queue with connections nobody accepts.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let listener = socket.listen(1).expect("listen");
    let addr = listener.local_addr().expect("addr");
    let mut parked = Vec::new();
    loop {
        match tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => parked.push(s),
            _ => break,
        }
        assert!(parked.len() < 64, "the accept queue never filled");
    }
    let llm = Llm::new(&config(&format!("http://{addr}/v1")))
        .expect("client")
        .with_timeouts(Duration::from_millis(300), LONG, LONG);
    let started = std::time::Instant::now();
    let e = run(&llm, &ask("hi")).await.1.expect_err("timeout");
    assert!(
        matches!(&e, ApiError::LlmTimeout { phase, secs: 1, .. } if phase == "connect"),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(is_transient(&e));
}

// ---- deadlines -----------------------------------------------------------------------------

fn timed(server: &ScriptedServer, first_token: Duration, idle: Duration) -> Llm {
    Llm::new(&config(&server.base_url()))
        .expect("client")
        .with_timeouts(LONG, first_token, idle)
}

fn is_timeout(e: &ApiError, want: &str) -> bool {
    matches!(e, ApiError::LlmTimeout { phase, secs: 1, .. } if phase == want)
}

#[tokio::test]
async fn slow_first_token_times_out() {
    let server = ScriptedServer::start();
    server.push(Reply::text("too late").delay_first(Duration::from_secs(3)));
    let llm = timed(&server, SHORT, LONG);
    let started = std::time::Instant::now();
    let e = run(&llm, &ask("hi")).await.1.expect_err("timeout");
    assert!(is_timeout(&e, "first_token"), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_one_request(&server).await;

    // Keep-alive comments are not tokens: they do not hold the deadline off.
    server.push(Reply::sse(vec![
        Frame::Raw(": ping\n\n".into()),
        Frame::Delay(Duration::from_millis(200)),
        Frame::Raw(": ping\n\n".into()),
        Frame::Delay(Duration::from_millis(200)),
        Frame::Raw(": ping\n\n".into()),
        Frame::Stall,
    ]));
    let e = run(&llm, &ask("hi")).await.1.expect_err("timeout");
    assert!(is_timeout(&e, "first_token"), "{e:?}");
}

#[tokio::test]
async fn headers_that_never_come_time_out_as_first_token() {
    let server = ScriptedServer::start();
    server.push(Reply::text("never").gated(Arc::new(Notify::new())));
    let llm = timed(&server, SHORT, LONG);
    let e = llm
        .stream(&ask("hi"), Priority::Job)
        .await
        .expect_err("timeout");
    assert!(is_timeout(&e, "first_token"), "{e:?}");
    assert_eq!(llm.gate().in_use(), 0);
}

#[tokio::test]
async fn stall_after_some_tokens_times_out_as_idle() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"role": "assistant", "content": "Mito"})),
        Frame::Delay(Duration::from_millis(150)),
        Frame::delta(json!({"content": "chondria"})),
        Frame::Stall,
    ]));
    // The pause (150 ms) is within the idle limit; the stall is not.
    let llm = timed(&server, LONG, SHORT);
    let (deltas, done) = run(&llm, &ask("hi")).await;
    assert_eq!(text_of(&deltas), "Mitochondria");
    let e = done.expect_err("idle");
    assert!(is_timeout(&e, "idle"), "{e:?}");
    assert!(is_transient(&e));
    assert_one_request(&server).await;
}

// ---- the scripted server itself ---------------------------------------------------------------

#[tokio::test]
async fn responder_and_fallback() {
    let server = ScriptedServer::start();
    server.set_responder(|request: &Value| {
        let last = &request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned();
        match last.as_ref().map(|m| m["role"].clone()) {
            Some(Value::String(r)) if r == "tool" => Reply::text("Your podcast is on its way."),
            _ => Reply::tool_call("generate_artifact", r#"{"kind":"podcast"}"#),
        }
    });
    let llm = client(&server);
    let (_, first) = run(&llm, &ask("make me a podcast")).await;
    let call = first.expect("call").tool_calls.remove(0);
    let mut request = ask("make me a podcast");
    request.messages.push(WireMessage::Assistant {
        content: String::new(),
        tool_calls: vec![call.clone()],
    });
    request.messages.push(WireMessage::Tool {
        tool_call_id: call.id.clone(),
        content: "job 01J… queued".into(),
    });
    let (_, second) = run(&llm, &request).await;
    assert_eq!(second.expect("text").text, "Your podcast is on its way.");
    let sent = &server.requests()[1]["messages"];
    assert_eq!(sent[2]["content"], Value::Null);
    assert_eq!(sent[2]["tool_calls"][0]["id"], json!(call.id));
    assert_eq!(sent[3]["tool_call_id"], json!(call.id));

    // Without a responder or fallback: HTTP 500 "no scripted reply".
    let bare = ScriptedServer::start();
    let e = run(&client(&bare), &ask("hi")).await.1.expect_err("500");
    assert!(
        matches!(&e, ApiError::LlmStatus { status: 500, message, .. } if message == "no scripted reply")
    );
    bare.set_fallback(Some(Reply::text("always this")));
    for _ in 0..2 {
        let (_, done) = run(&client(&bare), &ask("hi")).await;
        assert_eq!(done.expect("fallback").text, "always this");
    }
    assert!(bare.wait_requests(3, Duration::from_millis(10)));
    assert!(!bare.wait_requests(4, Duration::from_millis(50)));
}

// ---- structured output -------------------------------------------------------------------------

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Quiz {
    questions: Vec<String>,
}

fn quiz_schema() -> JsonSchema {
    JsonSchema {
        name: "quiz".into(),
        schema: json!({
            "type": "object",
            "properties": {"questions": {"type": "array", "items": {"type": "string"}}},
            "required": ["questions"],
        }),
    }
}

fn at_least_two(q: &Quiz) -> Result<(), String> {
    if q.questions.len() >= 2 {
        Ok(())
    } else {
        Err(format!(
            "need at least 2 questions, got {}",
            q.questions.len()
        ))
    }
}

fn quiz_prompt() -> Vec<WireMessage> {
    vec![
        WireMessage::System("You write quizzes.".into()),
        WireMessage::User("A quiz on cells.".into()),
    ]
}

async fn quiz(llm: &Llm) -> Result<Quiz, ApiError> {
    llm.structured(quiz_prompt(), &quiz_schema(), at_least_two, Priority::Job)
        .await
}

fn structured_client(server: &ScriptedServer, mode: &str) -> Llm {
    client_with(LlmConfig {
        structured_output: mode.into(),
        ..config(&server.base_url())
    })
}

fn system_text(request: &Value) -> String {
    request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn structured_valid_first_time() {
    let server = ScriptedServer::start();
    server.push(Reply::text(
        "Here you go:\n```json\n{\"questions\": [\"What is a cell?\", \"Name an organelle.\"]}\n```",
    ));
    let got = quiz(&structured_client(&server, "json_schema"))
        .await
        .expect("quiz");
    assert_eq!(got.questions.len(), 2);
    assert_eq!(server.request_count(), 1);
    let body = &server.requests()[0];
    assert_eq!(body["stream"], true);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "quiz");
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        quiz_schema().schema
    );
}

#[tokio::test]
async fn structured_repaired_once() {
    let server = ScriptedServer::start();
    server.push(Reply::text(r#"{"questions": ["Only one?"]}"#));
    server.push(Reply::text(r#"{"questions": ["One", "Two"]}"#));
    let got = quiz(&structured_client(&server, "auto"))
        .await
        .expect("repaired");
    assert_eq!(got.questions, ["One", "Two"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let messages = requests[1]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["content"], r#"{"questions": ["Only one?"]}"#);
    assert_eq!(messages[3]["role"], "user");
    let repair = messages[3]["content"].as_str().unwrap_or_default();
    assert!(
        repair.contains("need at least 2 questions, got 1"),
        "{repair}"
    );
    assert!(requests[1].get("response_format").is_some());
}

#[tokio::test]
async fn structured_invalid_twice_is_an_output_error() {
    let server = ScriptedServer::start();
    server.push(Reply::text("I would rather chat about cells!"));
    server.push(Reply::text(r#"{"questions": "not a list"}"#));
    let e = quiz(&structured_client(&server, "auto"))
        .await
        .expect_err("invalid");
    assert!(
        matches!(&e, ApiError::LlmOutput { reason } if reason.contains("does not match the schema")),
        "{e:?}"
    );
    assert!(!is_transient(&e));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let repair = requests[1]["messages"][3]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(repair.contains("no JSON object"), "{repair}");
    assert_requests(&server, 2).await;
}

#[tokio::test]
async fn structured_auto_falls_back_to_instructions_and_remembers() {
    let server = ScriptedServer::start();
    server.push(Reply::status(
        400,
        json!({"error": {"message": "response_format type json_schema is not supported"}})
            .to_string(),
    ));
    server.push(Reply::text(r#"{"questions": ["A", "B"]}"#));
    server.push(Reply::text(r#"{"questions": ["C", "D"]}"#));
    let llm = structured_client(&server, "auto");
    assert_eq!(quiz(&llm).await.expect("fallback").questions, ["A", "B"]);
    assert_eq!(quiz(&llm).await.expect("remembered").questions, ["C", "D"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[0].get("response_format").is_some());
    for later in &requests[1..] {
        assert!(later.get("response_format").is_none(), "{later}");
        let system = system_text(later);
        assert!(system.starts_with("You write quizzes."), "{system}");
        assert!(system.contains("JSON Schema") && system.contains("\"questions\""));
    }
}

#[tokio::test]
async fn structured_instructions_mode_never_sends_response_format() {
    let server = ScriptedServer::start();
    server.push(Reply::text(r#"{"questions": ["A", "B"]}"#));
    quiz(&structured_client(&server, "instructions"))
        .await
        .expect("quiz");
    let body = &server.requests()[0];
    assert!(body.get("response_format").is_none());
    assert!(system_text(body).contains("\"questions\""));
}

#[tokio::test]
async fn structured_json_schema_mode_does_not_fall_back() {
    let server = ScriptedServer::start();
    server.push(Reply::status(
        400,
        json!({"error": "unsupported"}).to_string(),
    ));
    let e = quiz(&structured_client(&server, "json_schema"))
        .await
        .expect_err("refused");
    assert!(
        matches!(e, ApiError::LlmStatus { status: 400, .. }),
        "{e:?}"
    );
    assert_eq!(server.request_count(), 1);
}

// ---- the gate ------------------------------------------------------------------------------------

async fn settle() {
    tokio::time::sleep(Duration::from_millis(30)).await;
}

#[tokio::test]
async fn gate_serves_chat_before_jobs() {
    let gate = Gate::new(1);
    let held = gate.acquire(Priority::Job).await;
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let waiter = |priority, name: &'static str| {
        let (gate, order) = (gate.clone(), order.clone());
        tokio::spawn(async move {
            let _permit = gate.acquire(priority).await;
            order.lock().map(|mut o| o.push(name)).ok();
            settle().await;
        })
    };
    let job = waiter(Priority::Job, "job");
    settle().await;
    let chat = waiter(Priority::Chat, "chat");
    settle().await;
    assert_eq!(gate.waiting(), (1, 1));
    drop(held);
    job.await.expect("job");
    chat.await.expect("chat");
    assert_eq!(*order.lock().expect("order"), ["chat", "job"]);
    assert_eq!(gate.in_use(), 0);
}

#[tokio::test]
async fn gate_survives_cancelled_waiters() {
    let gate = Gate::new(1);
    let held = gate.acquire(Priority::Job).await;
    // A waiter given up while queued.
    let gone = tokio::time::timeout(Duration::from_millis(20), gate.acquire(Priority::Chat)).await;
    assert!(gone.is_err());
    assert_eq!(gate.waiting(), (0, 0));
    // A waiter whose task is aborted right as the place is handed over.
    let g = gate.clone();
    let aborted = tokio::spawn(async move { g.acquire(Priority::Chat).await });
    settle().await;
    drop(held);
    aborted.abort();
    let _ = aborted.await;
    // Whatever the race, exactly one place exists afterwards.
    let one = tokio::time::timeout(SHORT, gate.acquire(Priority::Job))
        .await
        .expect("the place was not leaked");
    assert!(
        tokio::time::timeout(Duration::from_millis(50), gate.acquire(Priority::Job))
            .await
            .is_err()
    );
    drop(one);
    assert_eq!(gate.in_use(), 0);
}

/// End to end with a gate of one: a job holds the only place (its reply is held by the
/// server), then a job and a chat queue up; the chat request reaches the server first.
#[tokio::test]
async fn chat_requests_overtake_queued_jobs() {
    let server = ScriptedServer::start();
    let hold = Arc::new(Notify::new());
    server.push(Reply::text("first").gated(hold.clone()));
    server.set_responder(|request: &Value| {
        let said = request["messages"][1]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Reply::text(&format!("re {said}"))
    });
    let llm = client_with(LlmConfig {
        max_concurrent: 1,
        ..config(&server.base_url())
    });
    let call = |text: &'static str, priority| {
        let llm = llm.clone();
        tokio::spawn(async move {
            let mut stream = llm.stream(&ask(text), priority).await?;
            while stream.next().await?.is_some() {}
            Ok::<_, ApiError>(stream.finish().text)
        })
    };
    let first = call("job one", Priority::Job);
    until("the first job reached the server", || {
        server.request_count() == 1
    })
    .await;
    let job = call("job two", Priority::Job);
    until("job two waits", || llm.gate().waiting() == (0, 1)).await;
    let chat = call("chat", Priority::Chat);
    until("chat waits", || llm.gate().waiting() == (1, 1)).await;
    assert_eq!(llm.gate().in_use(), 1);
    hold.notify_one();
    assert_eq!(first.await.expect("task").expect("first"), "first");
    assert_eq!(chat.await.expect("task").expect("chat"), "re chat");
    assert_eq!(job.await.expect("task").expect("job"), "re job two");
    let order: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r["messages"][1]["content"].clone())
        .collect();
    assert_eq!(order, [json!("job one"), json!("chat"), json!("job two")]);
    assert_eq!(llm.gate().in_use(), 0);
}

/// A stream holds its place until dropped.
#[tokio::test]
async fn dropping_a_stream_frees_its_place() {
    let server = ScriptedServer::start();
    server.push(Reply::sse(vec![
        Frame::delta(json!({"content": "a"})),
        Frame::Stall,
    ]));
    let llm = client_with(LlmConfig {
        max_concurrent: 1,
        ..config(&server.base_url())
    });
    let mut stream = llm.stream(&ask("hi"), Priority::Chat).await.expect("open");
    assert_eq!(stream.next().await, Ok(Some(Delta::Text("a".into()))));
    assert_eq!(llm.gate().in_use(), 1);
    drop(stream);
    assert_eq!(llm.gate().in_use(), 0);
    assert_one_request(&server).await;
}

fn assert_send<F: Future + Send>(_: F) {}

/// The chat session and the job pool spawn these futures on a multi-threaded runtime.
#[test]
fn client_futures_are_send() {
    let llm = Llm::new(&LlmConfig::default()).expect("client");
    assert_send(llm.stream(&ChatRequest::default(), Priority::Chat));
    assert_send(quiz(&llm));
}
