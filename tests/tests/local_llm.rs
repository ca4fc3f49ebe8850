//! The local provider with the real SmolLM2-135M-Instruct GGUF file (fetched and cached by
//! `./install.sh --test`; `MENTOR_TEST_MODEL` names another): a streamed reply, JSON that
//! matches a schema (grammar-constrained), a cancel that stops generation within 200 ms,
//! missing and damaged files refused with their path, and `auto` choosing the scripted
//! server when it is up and the local model when it is not.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mentor_daemon::llm::{ChatRequest, Choice, Delta, JsonSchema, Llm, Priority, WireMessage};
use mentor_shared::config::{LlmConfig, LocalLlmConfig};
use mentor_shared::ApiError;
use mentor_tests::openai::{closed_port_url, ScriptedServer};
use serde_json::{json, Value};

/// The test model: `MENTOR_TEST_MODEL`, else where `./install.sh --test` caches it.
fn model() -> PathBuf {
    let path = std::env::var_os("MENTOR_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(mentor_tests::test_model_path);
    assert!(
        path.is_file(),
        "the test model {} is missing: run ./install.sh --test (it fetches and caches it), or \
         set MENTOR_TEST_MODEL to a GGUF file",
        path.display()
    );
    path
}

fn local(provider: &str, base_url: &str, path: &Path) -> Llm {
    let config = LlmConfig {
        base_url: base_url.to_string(),
        provider: provider.to_string(),
        ..LlmConfig::default()
    };
    // One thread per model: the tests run side by side on a small machine. Two sequences
    // of 2048 tokens.
    let local = LocalLlmConfig {
        context_tokens: 4096,
        threads: 1,
        ..LocalLlmConfig::default()
    };
    Llm::new(&config)
        .expect("client")
        .with_local(path.to_path_buf(), &local, Duration::ZERO)
}

fn ask(text: &str, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        messages: vec![
            WireMessage::System("You are a patient teacher.".into()),
            WireMessage::User(text.into()),
        ],
        tools: Vec::new(),
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        ignore_eos: false,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn the_local_model_streams_a_reply() {
    let llm = local("local", &closed_port_url(), &model());
    let rt = runtime();
    rt.block_on(async {
        let mut stream = llm
            .stream(
                &ask("What is photosynthesis? Explain it briefly.", 40),
                Priority::Chat,
            )
            .await
            .expect("the local model answers");
        let mut pieces = Vec::new();
        while let Some(delta) = stream.next().await.expect("no error") {
            if let Delta::Text(t) = delta {
                pieces.push(t);
            }
        }
        let done = stream.finish();
        assert!(pieces.len() >= 2, "streamed in pieces: {pieces:?}");
        assert_eq!(pieces.concat(), done.text);
        assert!(done.text.split_whitespace().count() >= 5, "{:?}", done.text);
        let usage = done.usage.expect("token counts");
        assert!(usage.prompt_tokens > 10, "{usage:?}");
        assert_eq!(usage.completion_tokens, 40, "{usage:?}");
        assert_eq!(done.finish_reason.as_deref(), Some("length"));
    });
}

#[test]
fn structured_output_matches_the_schema() {
    let llm = local("local", &closed_port_url(), &model());
    let schema = JsonSchema {
        name: "quiz".into(),
        schema: json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["title", "questions"],
            "properties": {
                "title": {"type": "string", "maxLength": 60},
                "questions": {
                    "type": "array", "minItems": 2, "maxItems": 2,
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["question", "options", "answer"],
                        "properties": {
                            "question": {"type": "string", "maxLength": 120},
                            "options": {
                                "type": "array", "minItems": 4, "maxItems": 4,
                                "items": {"type": "string", "maxLength": 60}
                            },
                            "answer": {"type": "integer", "minimum": 0, "maximum": 3}
                        }
                    }
                }
            }
        }),
    };
    let messages = vec![
        WireMessage::System("You write quizzes.".into()),
        WireMessage::User("Write a quiz of two questions about the water cycle.".into()),
    ];
    let rt = runtime();
    let quiz: Value = rt
        .block_on(llm.structured(messages, &schema, |_: &Value| Ok(()), Priority::Job))
        .expect("JSON that matches the schema");
    let questions = quiz["questions"].as_array().expect("questions");
    assert_eq!(questions.len(), 2, "{quiz:#}");
    for q in questions {
        assert_eq!(q["options"].as_array().map(Vec::len), Some(4), "{quiz:#}");
        assert!(
            (0..=3).contains(&q["answer"].as_i64().unwrap_or(-1)),
            "{quiz:#}"
        );
        assert!(q["question"].is_string(), "{quiz:#}");
    }
    assert!(quiz["title"].is_string(), "{quiz:#}");
}

#[test]
fn a_cancel_stops_generation_within_200_ms() {
    let llm = local("local", &closed_port_url(), &model());
    let engine = llm.local().expect("a local model").clone();
    let rt = runtime();
    rt.block_on(async {
        let request = ChatRequest {
            temperature: Some(0.8),
            ..ask(
                "Write a very long story about a dragon who learns to read.",
                4000,
            )
        };
        let mut stream = llm.stream(&request, Priority::Chat).await.expect("answers");
        // Well into the answer: a few pieces read.
        for _ in 0..5 {
            stream.next().await.expect("no error").expect("more");
        }
        assert!(engine.busy(), "generating");
        let dropped = Instant::now();
        drop(stream);
        while engine.busy() && dropped.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let took = dropped.elapsed();
        assert!(!engine.busy(), "still generating 5 s after the cancel");
        assert!(
            took < Duration::from_millis(200),
            "generation stopped {took:?} after the cancel"
        );
    });
}

/// Reads a stream to its end in the background, counting its text pieces.
fn drain(
    mut stream: mentor_daemon::llm::Stream,
    pieces: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> tokio::task::JoinHandle<Result<(), ApiError>> {
    tokio::spawn(async move {
        while let Some(delta) = stream.next().await? {
            if let Delta::Text(_) = delta {
                pieces.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Ok(())
    })
}

/// Waits until `f` holds, for at most `within`; how long it took.
async fn until(within: Duration, f: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if f() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

#[test]
fn a_chat_is_answered_beside_a_generating_job_and_a_cancel_stops_only_its_own_sequence() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let llm = local("local", &closed_port_url(), &model());
    let engine = llm.local().expect("a local model").clone();
    assert_eq!(engine.sequences(), 2);
    let rt = runtime();
    rt.block_on(async {
        // A job writing a long answer (it goes on past its end: 1500 tokens).
        let job_request = ChatRequest {
            ignore_eos: true,
            ..ask("Write a long study guide about the water cycle.", 1500)
        };
        let mut job = llm.stream(&job_request, Priority::Job).await.expect("job");
        for _ in 0..3 {
            job.next().await.expect("no error").expect("more");
        }
        let job_pieces = Arc::new(AtomicUsize::new(0));
        let job_task = drain(job, job_pieces.clone());

        // A chat asked meanwhile: its first piece comes while the job still generates, and
        // both sequences are answered at once.
        let asked = Instant::now();
        let mut chat = llm
            .stream(
                &ask("What is rain? Explain it simply.", 400),
                Priority::Chat,
            )
            .await
            .expect("chat");
        chat.next().await.expect("no error").expect("a first piece");
        let first_piece = asked.elapsed();
        assert!(
            !job_task.is_finished(),
            "the job ended before the chat began"
        );
        assert_eq!(engine.answering(), 2, "both sequences answer");
        let before = job_pieces.load(Ordering::Relaxed);
        for _ in 0..10 {
            chat.next().await.expect("no error").expect("more");
        }
        let after = job_pieces.load(Ordering::Relaxed);
        assert!(
            after > before,
            "the job advanced while the chat streamed ({before} then {after} pieces)"
        );
        eprintln!("chat first piece after {first_piece:?} beside the job");

        // The job is cancelled while both decode: its sequence stops within 200 ms, and the
        // chat goes on.
        job_task.abort();
        let stopped = until(Duration::from_secs(5), || engine.answering() == 1)
            .await
            .expect("the job's sequence stopped");
        assert!(
            stopped < Duration::from_millis(200),
            "the job's sequence stopped {stopped:?} after the cancel"
        );
        for _ in 0..5 {
            chat.next()
                .await
                .expect("no error")
                .expect("the chat goes on");
        }
        assert_eq!(engine.answering(), 1);
        drop(chat);
        until(Duration::from_secs(5), || !engine.busy())
            .await
            .expect("idle once the chat is dropped");
    });
}

#[test]
fn missing_and_damaged_files_are_refused_with_their_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = runtime();
    let request = ask("Hello", 4);

    let missing = dir.path().join("none.gguf");
    let llm = local("local", &closed_port_url(), &missing);
    let e = rt
        .block_on(llm.stream(&request, Priority::Chat))
        .expect_err("no model");
    assert!(
        matches!(&e, ApiError::LocalModelMissing { path } if path == &missing.display().to_string()),
        "{e:?}"
    );

    let not_gguf = dir.path().join("notes.gguf");
    std::fs::write(&not_gguf, "these are my notes, not a model").expect("write");
    let llm = local("local", &closed_port_url(), &not_gguf);
    let e = rt
        .block_on(llm.stream(&request, Priority::Chat))
        .expect_err("not a model");
    assert!(
        matches!(&e, ApiError::LocalModel { path, reason }
            if path == &not_gguf.display().to_string() && reason.contains("not a GGUF file")),
        "{e:?}"
    );

    // A GGUF file cut short, as an interrupted copy leaves it.
    let cut = dir.path().join("cut.gguf");
    let bytes = std::fs::read(model()).expect("read the model");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("write");
    let llm = local("local", &closed_port_url(), &cut);
    let e = rt.block_on(async {
        match llm.stream(&request, Priority::Chat).await {
            Err(e) => e,
            Ok(mut stream) => loop {
                match stream.next().await {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("a cut file answered: {:?}", stream.finish()),
                    Err(e) => break e,
                }
            },
        }
    });
    assert!(
        matches!(&e, ApiError::LocalModel { path, reason }
            if path == &cut.display().to_string() && reason.contains("cannot load")),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(shown.contains(&cut.display().to_string()), "{shown}");
}

#[test]
fn auto_uses_the_server_when_it_is_up_and_the_local_model_when_it_is_not() {
    let rt = runtime();
    let server = ScriptedServer::start();
    let llm = local("auto", &server.base_url(), &model());
    assert_eq!(rt.block_on(llm.choice()), Choice::Server);
    let llm = local("auto", &closed_port_url(), &model());
    assert_eq!(rt.block_on(llm.choice()), Choice::Local);
    // Without a model file, the server even when it is down (its error says what to do).
    let llm = local(
        "auto",
        &closed_port_url(),
        Path::new("/nonexistent/model.gguf"),
    );
    assert_eq!(rt.block_on(llm.choice()), Choice::Server);
    // `openai` and `local` are what they say.
    let llm = local("local", &server.base_url(), &model());
    assert_eq!(rt.block_on(llm.choice()), Choice::Local);
    let llm = local("openai", &closed_port_url(), &model());
    assert_eq!(rt.block_on(llm.choice()), Choice::Server);
}

/// A home whose daemon has no model server (a closed port) and the test model installed,
/// dropped from memory after `unload_after_secs` idle.
fn offline_home_unloading_after(unload_after_secs: u64) -> mentor_tests::TestEnv {
    let env = mentor_tests::TestEnv::new();
    env.write_config(&format!(
        "[llm]\nbase_url = \"{}\"\n\n[llm.local]\nmodel = \"{}\"\nunload_after_secs = {unload_after_secs}\nthreads = 1\nmax_answer_tokens = 128\n",
        closed_port_url(),
        model().display()
    ));
    env
}

fn offline_home() -> mentor_tests::TestEnv {
    offline_home_unloading_after(600)
}

/// The daemon's resident memory, in MiB.
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Waits until the daemon's local model is in `state`; its info then.
fn wait_state(
    rt: &tokio::runtime::Runtime,
    client: &mentor_shared::service::MentorClient,
    state: &str,
    within: Duration,
) -> mentor_shared::protocol::LlmInfo {
    let until = Instant::now() + within;
    loop {
        let info = rt
            .block_on(async {
                mentor_tests::rpc::answer(
                    client
                        .llm_info(mentor_tests::rpc::ctx(Duration::from_secs(10)))
                        .await,
                )
            })
            .expect("llm_info");
        let now = info.local.as_ref().map(|l| l.state.clone());
        if now.as_deref() == Some(state) {
            return info;
        }
        assert!(
            Instant::now() < until,
            "the local model is {now:?}, not {state}: {info:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_model_loads_once_off_the_request_path_and_leaves_memory_when_idle() {
    let env = offline_home_unloading_after(3);
    env.mentor(&["notebook", "create", "Idle"]).ok();
    let pid = env.daemon_pid().expect("the daemon runs");
    let rt = runtime();
    let client = rt
        .block_on(mentor_tests::rpc::connect(&env.dirs()))
        .expect("connect");
    // Loaded at start-up, before any request: `auto` found no server and the model's file.
    let info = wait_state(&rt, &client, "ready", Duration::from_secs(60));
    assert_eq!(info.provider, "local", "{info:#?}");
    assert_eq!(info.configured, "auto", "{info:#?}");
    assert_eq!(info.location, model().display().to_string());
    // Two turns, one after the other: the model stays loaded, once.
    for question in ["What is rain?", "And snow?"] {
        env.mentor(&["chat", "-n", "Idle", "-m", question]).ok();
    }
    let loaded = rss_mib(pid);
    assert_eq!(
        env.log().matches("local model loaded").count(),
        1,
        "{}",
        env.log()
    );
    // Idle for longer than `unload_after_secs`: the model leaves memory.
    let info = wait_state(&rt, &client, "unloaded", Duration::from_secs(30));
    assert_eq!(info.provider, "local", "{info:#?}");
    let unloaded = rss_mib(pid);
    assert!(
        unloaded < loaded - 50.0,
        "RSS {loaded:.0} MiB loaded, {unloaded:.0} MiB after unloading"
    );
    assert!(env.log().contains("local model unloaded"), "{}", env.log());
    // The next turn loads it again.
    let run = env.mentor(&["chat", "-n", "Idle", "-m", "What is a cloud?"]);
    assert!(!run.ok().trim().is_empty(), "{run:#?}");
    assert_eq!(
        env.log().matches("local model loaded").count(),
        2,
        "{}",
        env.log()
    );
    eprintln!("daemon RSS: {loaded:.0} MiB with the model, {unloaded:.0} MiB after unloading");
}

#[test]
fn mentor_chat_says_while_the_local_model_loads_then_answers() {
    let env = offline_home();
    // The daemon started here pauses 2 s at 0 % before loading (the SmolLM2 file loads too
    // fast to be seen otherwise), as a big model on a slow disk would.
    let run = |args: &[&str]| {
        mentor_tests::Run::from(
            env.command("mentor")
                .env("MENTORD_TEST_LOAD_PAUSE_MS", "2000")
                .args(args)
                .output()
                .expect("run mentor"),
        )
    };
    run(&["notebook", "create", "Wind"]).ok();
    let chat = run(&["chat", "-n", "Wind", "-m", "What is wind?"]);
    assert!(!chat.ok().trim().is_empty(), "{chat:#?}");
    // Not a terminal: the line is printed once, on stderr, before the reply.
    assert_eq!(
        chat.stderr
            .matches("Loading the local model… 0% (the reply starts once it is loaded)")
            .count(),
        1,
        "{chat:#?}"
    );
    // Once loaded, nothing more is said.
    let again = env.mentor(&["chat", "-n", "Wind", "-m", "And a breeze?"]);
    assert!(!again.ok().trim().is_empty(), "{again:#?}");
    assert!(!again.stderr.contains("Loading"), "{again:#?}");
}

#[test]
fn the_daemon_teaches_and_makes_a_quiz_with_no_server_at_all() {
    let env = offline_home();
    env.mentor(&["notebook", "create", "Water"]).ok();
    env.add_text_source(
        "Water",
        "water.md",
        "# The water cycle\n\nWater evaporates from the sea when the sun heats it. The vapour \
         rises, cools and condenses into clouds. Rain and snow bring the water back to the \
         ground, where rivers carry it to the sea again. Plants also release water vapour \
         through their leaves: this is called transpiration.\n",
    );

    // A reply, streamed by the daemon's local model (`auto`: the server's port is closed).
    let run = env.mentor(&["chat", "-n", "Water", "-m", "What is evaporation?"]);
    let reply = run.ok();
    assert!(reply.split_whitespace().count() >= 3, "{run:#?}");

    // The model this small never calls a tool; the shortcut starts the generator anyway.
    // (That job is cancelled: the one below is waited for.)
    let run = env.mentor(&["chat", "-n", "Water", "-m", "/podcast rain"]);
    run.ok();
    assert!(
        run.stderr
            .contains("→ generate_artifact(artifact_type: \"podcast\", topic: \"rain\")"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("I'm generating that for you."),
        "{run:#?}"
    );
    let jobs = env.mentor(&["jobs", "list", "--json"]).json();
    let id = jobs[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a job: {jobs}"));
    assert_eq!(jobs[0]["kind"], "podcast", "{jobs}");
    env.mentor(&["jobs", "cancel", id]).ok();

    // A quiz job: the local model's JSON is constrained to the quiz's schema (a grammar), so
    // it always parses. Mentor's own rules (four different options, no repeated question)
    // are beyond a grammar, and a 135M model breaks them now and then: then the job fails
    // saying so, which proves the JSON matched the schema.
    let run = env.mentor(&[
        "generate",
        "quiz",
        "-n",
        "Water",
        "--questions",
        "2",
        "--wait",
        "--json",
    ]);
    let last: Value = run
        .stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("job events: {run:#?}"));
    match last["status"].as_str() {
        Some("completed") => {
            assert_eq!(run.code, 0, "{run:#?}");
            let id = last["artifact_id"].as_str().expect("an artifact");
            let quiz = env.mentor(&["artifacts", "show", id, "--json"]).json();
            let questions = quiz["data"]["questions"]
                .as_array()
                .unwrap_or_else(|| panic!("a quiz: {quiz:#}"));
            assert_eq!(questions.len(), 2, "{quiz:#}");
        }
        _ => {
            let error = last["error_message"].as_str().unwrap_or_default();
            assert!(
                error.contains("the JSON is not acceptable") || error.contains("not good enough"),
                "the quiz failed, and not on Mentor's rules or its quality gates: {last:#}"
            );
        }
    }
}

/// The learner's story on the built-in model: a study guide generates from a real document
/// while the learner asks a question. The answer's first token comes before the guide's
/// current step (a section) ends, and the guide's bar moves at every section.
#[test]
fn a_question_asked_while_a_study_guide_generates_is_answered_before_the_guides_step_ends() {
    use mentor_shared::jobs::EventBody;
    let env = mentor_tests::TestEnv::new();
    // Smaller passages than the defaults: the same story, in less time on one thread.
    env.write_config(&format!(
        "[llm]\nbase_url = \"{}\"\n\n[llm.local]\nmodel = \"{}\"\nthreads = 1\n\
         max_answer_tokens = 48\n\n[chat]\npassages_budget_tokens = 400\n\n\
         [jobs]\nsources_budget_tokens = 800\nmax_attempts = 1\n",
        closed_port_url(),
        model().display()
    ));
    env.mentor(&["notebook", "create", "MIME"]).ok();
    let spec = mentor_tests::fixture("documents/shared-mime-info-spec.pdf");
    env.mentor(&["source", "add", "MIME", &spec.display().to_string()])
        .ok();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = rt
        .block_on(mentor_tests::rpc::connect(&env.dirs()))
        .expect("connect");
    let mut cursor = mentor_tests::rpc::head(&rt, &client);
    let run = env.mentor(&[
        "generate",
        "study-guide",
        "-n",
        "MIME",
        "--topic",
        "glob patterns",
        "--json",
    ]);
    let job_id = run.json()["job"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(job_id.starts_with("job:"), "{run:#?}");
    let within = Duration::from_secs(600);
    // The guide's first section is being written.
    mentor_tests::rpc::events_until(&rt, &client, &mut cursor, within, |e| {
        matches!(&e.body, EventBody::Job { job } if job.id.to_string() == job_id
            && job.status.as_str() == "processing" && job.progress.is_some())
    });
    std::thread::sleep(Duration::from_millis(300));
    let job_now = || {
        rt.block_on(async {
            mentor_tests::rpc::answer(
                client
                    .job_show(
                        mentor_tests::rpc::ctx(Duration::from_secs(10)),
                        job_id.clone(),
                    )
                    .await,
            )
        })
        .expect("the job")
    };
    let step = job_now().progress.expect("progress");
    let asked = Instant::now();
    rt.block_on(async {
        mentor_tests::rpc::answer(
            client
                .chat_send(
                    mentor_tests::rpc::ctx(Duration::from_secs(10)),
                    "MIME".into(),
                    "What is a glob pattern?".into(),
                )
                .await,
        )
    })
    .expect("the question is taken");
    mentor_tests::rpc::events_until(
        &rt,
        &client,
        &mut cursor,
        within,
        |e| matches!(&e.body, EventBody::Token { text, .. } if !text.is_empty()),
    );
    let first_token = asked.elapsed();
    let now = job_now();
    assert_eq!(now.status.as_str(), "processing", "{now:#?}");
    let now_step = now.progress.expect("progress");
    assert_eq!(
        (now_step.stage.as_str(), now_step.current),
        (step.stage.as_str(), step.current),
        "the guide's step ended before the answer began ({first_token:?})"
    );
    eprintln!(
        "first token after {first_token:?}, the guide still on {} {}/{}",
        step.stage, step.current, step.total
    );
    // The guide goes on; its bar moves at every section and never goes back.
    let records: Vec<mentor_shared::jobs::Job> =
        mentor_tests::rpc::events_until(&rt, &client, &mut cursor, within, |e| {
            matches!(&e.body, EventBody::Job { job } if job.id.to_string() == job_id
                && job.status.is_terminal())
        })
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::Job { job } if job.id.to_string() == job_id => Some(job),
            _ => None,
        })
        .collect();
    let mut stages: Vec<String> = vec![step.stage.clone()];
    let mut last = step.percentage;
    for job in &records {
        if let Some(p) = &job.progress {
            assert!(p.percentage >= last, "the bar went back: {records:#?}");
            last = p.percentage;
            if stages.last() != Some(&p.stage) {
                stages.push(p.stage.clone());
            }
        }
    }
    let end = records.last().expect("the end");
    eprintln!(
        "the guide ended {} after stages {stages:?}: {:?}",
        end.status.as_str(),
        end.error_message
    );
    if end.status.as_str() == "completed" {
        assert_eq!(stages.len(), 4, "one stage per section: {stages:?}");
    } else {
        // The small model's answer may fail Mentor's checks: the bar still moved.
        assert_eq!(end.status.as_str(), "error", "{end:#?}");
        assert!(!stages.is_empty(), "{records:#?}");
    }
}

/// The learner's check on a fresh install: the built-in model, a real document nobody on
/// the team wrote, at a 2048-token window, and every generator. Nothing that ends ready may
/// fail the independent judge, and what fails says what was wrong. One held-out document a
/// run, in turn by the day (`MENTOR_HELD_OUT=N` picks one; `mentor-bench quality` runs all).
#[test]
fn on_the_built_in_model_nothing_ready_fails_the_judge_and_failures_say_why() {
    use mentor_tests::held_out;
    let index = std::env::var("MENTOR_HELD_OUT")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| {
            let days = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() / 86_400);
            days as usize
        })
        % held_out::DOCUMENTS.len();
    let document = held_out::DOCUMENTS[index];
    let env = held_out::home(&model(), 1);
    let outcomes = held_out::run(&env, document, &held_out::KINDS);
    for o in &outcomes {
        eprintln!(
            "{} on {}: {} in {:.0} s{}",
            o.kind,
            o.document,
            if o.ready { "ready" } else { "failed" },
            o.seconds,
            o.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
        match (&o.verdict, &o.error) {
            (Some(verdict), _) => assert!(
                verdict.usable,
                "{} on {} is ready but the judge says: {verdict}",
                o.kind, o.document
            ),
            (None, Some(error)) => {
                // A reason that helps: the flaw or the form named, and, on the built-in
                // model, how to get a stronger one. Never the window: the prompts fit it.
                assert!(
                    error.contains("was not good enough") || error.contains("expected form"),
                    "{} on {} failed without saying what was wrong: {error}",
                    o.kind,
                    o.document
                );
                assert!(!error.contains("context window"), "{error}");
                assert!(error.contains("./install.sh --model"), "{error}");
            }
            (None, None) => panic!("{} on {} failed with no message", o.kind, o.document),
        }
    }
}
