//! `mentor chat`, `mentor profile` and `mentor artifact` through the real binaries: the reply
//! streamed on stdout with everything else on stderr, JSON Lines, `--wait-jobs`, the plain
//! line-mode chat fed by a pipe, the conversation read back, the learner profile, artifacts,
//! and every refusal with its exit code — in English and in French.
//!
//! The model is the scripted OpenAI-compatible server; the generators are the daemon's
//! scripted stand-ins (`[steps=N] [step_ms=N] [fail]` in the topic).

use std::process::Stdio;
use std::time::Duration;

use mentor_tests::openai::{closed_port_url, last_message, Frame, Reply, ScriptedServer};
use mentor_tests::{Run, TestEnv};
use serde_json::Value;

/// Asserts a usage error (exit code 2) and returns stderr.
#[track_caller]
fn usage_error(run: &Run) -> &str {
    assert_eq!(run.code, 2, "expected a usage error (exit 2): {run:#?}");
    &run.stderr
}

/// A teacher: asks for a podcast on `topic` when the learner wants one, goes on teaching after
/// a tool result, walks through a failure, and answers anything else.
fn teacher(topic: &'static str) -> impl Fn(&Value) -> Reply + Send + Sync + 'static {
    move |request: &Value| {
        let (role, text) = last_message(request);
        if role == "tool" {
            Reply::text("Meanwhile, let us look at chlorophyll.")
        } else if text.contains("Note from Mentor") {
            Reply::text("Let me walk you through it: light, water, sugar.")
        } else if text.contains("podcast") {
            let args = serde_json::json!({"artifact_type": "podcast", "topic": topic});
            Reply::tool_call("generate_artifact", &args.to_string())
        } else {
            Reply::text("Chlorophyll absorbs red and blue light.")
        }
    }
}

/// A reply of 40 words, 50 ms apart: long enough for other messages to arrive while it
/// streams.
fn slow_reply() -> Reply {
    let mut frames = vec![Frame::delta(serde_json::json!({"role": "assistant"}))];
    for i in 0..40 {
        frames.push(Frame::delta(
            serde_json::json!({ "content": format!("w{i} ") }),
        ));
        frames.push(Frame::Delay(Duration::from_millis(50)));
    }
    frames.extend([Frame::finish("stop"), Frame::done()]);
    Reply::sse(frames)
}

/// A home in which `mentor chat -m first` is running, its slow reply streaming (the model's
/// next reply is `then`): messages sent now wait for the next turn.
fn first_turn_streaming(then: Reply) -> (ScriptedServer, TestEnv, std::process::Child) {
    let server = ScriptedServer::start();
    server.push(slow_reply());
    server.push(then);
    let env = with_model(&server);
    env.mentor(&["notebook", "create", "Biology"]).ok();
    let first = spawn_chat(&env, "first");
    assert!(server.wait_requests(1, Duration::from_secs(20)));
    (server, env, first)
}

/// `mentor chat -m TEXT` started in `env`, not waited for.
fn spawn_chat(env: &TestEnv, text: &str) -> std::process::Child {
    env.command("mentor")
        .args(["chat", "-m", text])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mentor chat")
}

/// A home whose daemon talks to `server`, with stand-in generators.
fn with_model(server: &ScriptedServer) -> TestEnv {
    let env = TestEnv::new().with_stand_ins();
    env.use_model(&server.base_url(), "");
    env
}

// ---------------------------------------------------------------------------------------------
// Without a model.

#[test]
fn usage_errors_exit_with_2() {
    let env = TestEnv::new();
    for args in [
        &["chat"][..],
        &["chat", "--notebook", "Bio"],
        &["chat", "--message", "hi", "--plain"],
        &["chat", "--plain", "--wait-jobs"],
        &["chat", "history", "--limit", "0"],
        &["profile"],
        &["profile", "set"],
        &["profile", "set", "--language", "xx"],
        &["artifact"],
        &["artifact", "show"],
    ] {
        let run = env.mentor(args);
        usage_error(&run);
    }
    // Nothing was started for a usage error.
    assert_eq!(env.daemon_pid(), None);
    let run = env.mentor(&["profile", "set"]);
    assert!(
        usage_error(&run).contains("--name"),
        "the missing flags are named: {run:#?}"
    );
}

#[test]
fn an_empty_message_is_refused_before_anything_happens() {
    let env = TestEnv::new();
    let run = env.mentor(&["chat", "--message", "  "]);
    assert!(run.fails().contains("The message must not be empty"));
    let run = env.mentor_with_stdin(&["chat", "--message", "-"], "\n\n");
    assert!(run.fails().contains("The message must not be empty"));
    // No daemon started, no notebook made for nothing.
    assert_eq!(env.daemon_pid(), None);
    let list = env.mentor(&["notebook", "list", "--json"]).json();
    assert_eq!(list.as_array().map(Vec::len), Some(0));
}

#[test]
fn help_speaks_french() {
    let env = TestEnv::new().french();
    let chat = env.mentor(&["chat", "--help"]);
    let text = chat.ok();
    for expected in [
        "Parler avec le professeur",
        "Utilisation : mentor chat",
        "history",
        "--wait-jobs",
        "Codes de sortie",
        "130",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let profile = env.mentor(&["profile", "set", "--help"]);
    assert!(profile.ok().contains("en-US ou fr-FR"), "{profile:#?}");
    let artifact = env.mentor(&["artifact", "--help"]);
    assert!(
        artifact.ok().contains("Lister et afficher"),
        "{artifact:#?}"
    );
    let bad = env.mentor(&["profile", "set", "--language", "klingon"]);
    let text = usage_error(&bad);
    assert!(text.contains("« klingon »"), "{text}");
    assert!(text.contains("en-US, fr-FR"), "{text}");
}

#[test]
fn profile_round_trip() {
    let env = TestEnv::new();
    let empty = env.mentor(&["profile", "show", "--json"]).json();
    assert_eq!(
        empty,
        serde_json::json!({"name": null, "level": null, "language": null})
    );
    let text = env.mentor(&["profile", "show"]);
    assert!(text.ok().contains("(not set)"), "{text:#?}");
    assert!(text.ok().contains("mentor profile set"), "{text:#?}");

    let set = env
        .mentor(&[
            "profile",
            "set",
            "--name",
            " Ada ",
            "--level",
            "second-year student",
            "--language",
            "fr",
            "--json",
        ])
        .json();
    assert_eq!(set["name"], "Ada");
    assert_eq!(set["level"], "second-year student");
    assert_eq!(set["language"], "fr-FR", "the tag is written in full");

    // One field changes, the others stay; an empty value clears.
    env.mentor(&["profile", "set", "--name", ""]).ok();
    let shown = env.mentor(&["profile", "show", "--json"]).json();
    assert_eq!(shown["name"], Value::Null);
    assert_eq!(shown["level"], "second-year student");
    assert_eq!(shown["language"], "fr-FR");

    let text = env.mentor(&["profile", "set", "--level", "beginner"]);
    let out = text.ok();
    assert!(out.starts_with("Profile updated."), "{out}");
    assert!(out.contains("Level     beginner"), "{out}");
    assert!(out.contains("Language  fr-FR"), "{out}");
}

#[test]
fn profile_in_french() {
    let env = TestEnv::new().french();
    env.mentor(&["profile", "set", "--name", "Ada"]).ok();
    let out = env.mentor(&["profile", "show"]);
    let text = out.ok();
    assert!(text.contains("Nom     Ada"), "{text}");
    assert!(text.contains("(non renseigné)"), "{text}");
}

#[test]
fn artifacts_are_listed_and_shown() {
    let env = TestEnv::new().with_test_jobs();
    env.mentor(&["notebook", "create", "Biology"]).ok();
    env.mentor(&["notebook", "create", "Chemistry"]).ok();

    let empty = env.mentor(&["artifact", "list", "--notebook", "Biology", "--json"]);
    assert_eq!(empty.json(), serde_json::json!([]));
    let empty = env.mentor(&["artifact", "list", "--notebook", "Biology"]);
    assert!(empty.ok().contains("No artifacts yet"), "{empty:#?}");
    let all = env.mentor(&["artifacts", "list", "--json"]);
    assert_eq!(all.json(), serde_json::json!([]), "the plural is an alias");

    let job = env.submit_test_job("Biology", r#"{"steps":1,"step_ms":10,"artifact":true}"#);
    env.mentor(&["jobs", "watch", &job]).ok();
    let list = env
        .mentor(&["artifact", "list", "--notebook", "Biology", "--json"])
        .json();
    let list = list.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_str().expect("artifact id").to_string();
    assert!(id.starts_with("art:"));
    assert_eq!(list[0]["status"], "ready");
    assert_eq!(list[0]["job_id"], job.as_str());

    // Every notebook, with the notebook's title.
    let table = env.mentor(&["artifact", "list"]);
    let text = table.ok();
    assert!(text.contains(&id), "{text}");
    assert!(text.contains("NOTEBOOK"), "{text}");
    assert!(text.contains("Biology"), "{text}");
    assert!(text.contains("ready"), "{text}");
    let chemistry = env
        .mentor(&["artifact", "list", "-n", "Chemistry", "--json"])
        .json();
    assert_eq!(chemistry, serde_json::json!([]));

    let shown = env.mentor(&["artifact", "show", &id, "--json"]).json();
    assert_eq!(shown["id"], id.as_str());
    let bare = &id["art:".len()..];
    let text = env.mentor(&["artifact", "show", bare]);
    let out = text.ok();
    for expected in [id.as_str(), "Status", "ready", job.as_str()] {
        assert!(out.contains(expected), "{expected}: {out}");
    }

    let missing = env.mentor(&["artifact", "show", "art:01JB0000000000000000000000"]);
    assert!(missing.fails().contains("No artifact"), "{missing:#?}");
    let missing = env.mentor(&["artifact", "list", "--notebook", "Nope"]);
    assert!(missing.fails().contains("No notebook is called “Nope”"));
}

#[test]
fn an_empty_conversation_reads_back_empty() {
    let env = TestEnv::new();
    // No notebook at all: say how to make one.
    let none = env.mentor(&["chat", "history"]);
    assert!(none.fails().contains("no notebook yet"), "{none:#?}");

    env.mentor(&["notebook", "create", "Biology"]).ok();
    let text = env.mentor(&["chat", "history"]);
    assert!(
        text.ok().contains("No conversation yet in “Biology”"),
        "{text:#?}"
    );
    let json = env
        .mentor(&["chat", "history", "--notebook", "biology", "--json"])
        .json();
    assert_eq!(json["messages"], serde_json::json!([]));
    assert_eq!(json["busy"], false);
    assert_eq!(json["earlier"], 0);
    let missing = env.mentor(&["chat", "history", "-n", "Nope"]);
    assert!(missing.fails().contains("No notebook is called “Nope”"));
    let missing = env.mentor(&["chat", "-m", "hi", "-n", "Nope"]);
    assert!(missing.fails().contains("No notebook is called “Nope”"));
}

// ---------------------------------------------------------------------------------------------
// With the daemon's chat and a scripted model.

#[test]
fn a_reply_streams_to_stdout_alone() {
    let server = ScriptedServer::start();
    server.set_fallback(Some(Reply::text("Chlorophyll absorbs red and blue light.")));
    let env = with_model(&server);
    // No notebook yet: one is made, and the learner told on stderr.
    let run = env.mentor(&["chat", "--message", "What does chlorophyll do?"]);
    assert_eq!(run.ok(), "Chlorophyll absorbs red and blue light.\n");
    assert!(run.stderr.contains("created “My notebook”"), "{run:#?}");
    let list = env.mentor(&["notebook", "list", "--json"]).json();
    assert_eq!(list[0]["title"], "My notebook");

    // The next message goes to the same (most recent) notebook, read from stdin.
    let run = env.mentor_with_stdin(&["chat", "-m", "-"], "And green light?\n");
    assert_eq!(run.ok(), "Chlorophyll absorbs red and blue light.\n");
    assert!(run.stderr.is_empty(), "{run:#?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        last_message(&requests[1]),
        ("user".to_string(), "And green light?".to_string())
    );
    let list = env.mentor(&["notebook", "list", "--json"]).json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[test]
fn json_lines_carry_every_event_until_the_turn_ends() {
    let server = ScriptedServer::start();
    server.set_fallback(Some(Reply::text("Light becomes sugar.")));
    let env = with_model(&server);
    env.mentor(&["notebook", "create", "Biology"]).ok();
    let run = env.mentor(&["chat", "-n", "Biology", "-m", "Photosynthesis?", "--json"]);
    let lines: Vec<Value> = run
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let types: Vec<&str> = lines.iter().filter_map(|v| v["type"].as_str()).collect();
    // The stream shapes of SPEC §8.
    assert_eq!(types.first(), Some(&"message"), "{types:?}");
    assert_eq!(lines[0]["role"], "user");
    assert_eq!(lines[0]["text"], "Photosynthesis?");
    assert_eq!(types.last(), Some(&"turn_end"), "{types:?}");
    assert_eq!(lines.last().map(|v| &v["stopped"]), Some(&false.into()));
    assert_eq!(
        lines.last().map(|v| &v["outcome"]),
        Some(&"completed".into())
    );
    let text: String = lines
        .iter()
        .filter(|v| v["type"] == "token")
        .filter_map(|v| v["text"].as_str())
        .collect();
    assert_eq!(text, "Light becomes sugar.");
}

#[test]
fn a_model_failure_exits_with_1_and_its_reason() {
    let server = ScriptedServer::start();
    server.set_fallback(Some(Reply::status(
        500,
        r#"{"error": {"message": "out of memory"}}"#,
    )));
    let env = with_model(&server);
    let run = env.mentor(&["chat", "-m", "Hello"]);
    let err = run.fails();
    assert!(err.contains("HTTP 500"), "{err}");
    assert!(err.contains("out of memory"), "{err}");

    let env = TestEnv::new().french();
    env.use_model(&closed_port_url(), "");
    let run = env.mentor(&["chat", "-m", "Bonjour"]);
    assert!(
        run.fails()
            .contains("Impossible de joindre le serveur de modèle"),
        "{run:#?}"
    );
}

#[test]
fn wait_jobs_stays_until_the_podcast_is_announced() {
    let server = ScriptedServer::start();
    server.set_responder(teacher("photosynthesis [steps=3] [step_ms=100]"));
    let env = with_model(&server);
    env.mentor(&["notebook", "create", "Biology"]).ok();
    let run = env.mentor(&["chat", "-m", "Make me a podcast", "--wait-jobs"]);
    let out = run.ok();
    assert!(
        out.contains("Meanwhile, let us look at chlorophyll."),
        "{run:#?}"
    );
    assert!(
        !out.contains("generate_artifact"),
        "stdout is the reply alone: {out}"
    );
    let err = &run.stderr;
    for expected in [
        "→ generate_artifact(artifact_type: \"podcast\"",
        "I'm generating that for you.",
        "Podcast about “photosynthesis [steps=3] [step_ms=100]”: ready",
        "Your podcast is ready",
    ] {
        assert!(err.contains(expected), "{expected}: {run:#?}");
    }
    let artifacts = env.mentor(&["artifact", "list", "--json"]).json();
    assert_eq!(artifacts[0]["status"], "ready", "{artifacts}");

    // The conversation reads back with every part marked.
    let history = env.mentor(&["chat", "history"]);
    let text = history.ok();
    for expected in [
        "You · ",
        "Make me a podcast",
        "Teacher · ",
        "→ generate_artifact(",
        "Teacher (notice) · ",
        "Your podcast is ready",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let json = env
        .mentor(&["chat", "history", "--limit", "2", "--json"])
        .json();
    assert_eq!(json["messages"].as_array().map(Vec::len), Some(2));
    assert!(json["earlier"].as_u64().unwrap_or(0) > 0, "{json}");
}

#[test]
fn without_wait_jobs_the_command_ends_with_the_turn() {
    let server = ScriptedServer::start();
    server.set_responder(teacher("cells [steps=40] [step_ms=100]"));
    let env = with_model(&server);
    let run = env.mentor(&["chat", "-m", "A podcast please"]);
    assert!(run.ok().contains("Meanwhile"), "{run:#?}");
    let jobs = env.mentor(&["jobs", "list", "--json"]).json();
    let status = jobs[0]["status"].as_str().unwrap_or("");
    assert!(
        status == "pending" || status == "processing",
        "the job still runs: {jobs}"
    );
}

#[test]
fn a_failed_job_makes_wait_jobs_exit_with_1_after_the_walkthrough() {
    let server = ScriptedServer::start();
    server.set_responder(teacher("leaves [steps=1] [step_ms=50] [fail]"));
    let env = with_model(&server);
    let run = env.mentor(&["chat", "-m", "Make me a podcast", "--wait-jobs"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("Let me walk you through it"),
        "the walkthrough is part of the answer: {run:#?}"
    );
    assert!(run.stderr.contains("failed: scripted failure"), "{run:#?}");
    assert!(
        run.stderr.contains("I had trouble generating that"),
        "{run:#?}"
    );
}

/// `/quiz TOPIC` starts the quiz itself: the model (here one that never calls a tool, as a
/// small local model does not) is not asked whether to, and when the learner wrote nothing
/// else it is not asked at all: the daemon's notice is the answer. In plain mode the
/// shortcut is not one of the client's own commands, and a message that only looks like a
/// shortcut goes to the model as it is.
#[test]
fn a_shortcut_starts_the_generator_without_asking_the_model() {
    let server = ScriptedServer::start();
    server.set_fallback(Some(Reply::text("Meanwhile, let us look at chlorophyll.")));
    let env = with_model(&server);
    env.mentor(&["notebook", "create", "Biology"]).ok();
    let topic = "photosynthesis [steps=1] [step_ms=50]";
    let run = env.mentor(&["chat", "-m", &format!("/Quiz  {topic}"), "--wait-jobs"]);
    assert_eq!(run.ok(), "", "no reply but the notices: {run:#?}");
    for expected in [
        "→ generate_artifact(artifact_type: \"quiz\"",
        "I'm generating that for you.",
        "Your quiz is ready",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {run:#?}");
    }
    assert_eq!(server.request_count(), 0, "{:#?}", server.requests());
    let jobs = env.mentor(&["jobs", "list", "--json"]).json();
    assert_eq!(jobs.as_array().map(Vec::len), Some(1), "{jobs}");
    assert_eq!(jobs[0]["kind"], "quiz", "{jobs}");
    assert_eq!(jobs[0]["topic"], topic, "{jobs}");
    assert_eq!(jobs[0]["status"], "completed", "{jobs}");
    assert_eq!(jobs[0]["params"]["spec"]["questions"], 5, "{jobs}");

    // Plain mode passes shortcuts on.
    let run = env.mentor_with_stdin(
        &["chat", "--plain"],
        "/guide leaves [steps=1] [step_ms=50]\n",
    );
    let out = run.ok();
    assert!(!out.contains("Unknown command"), "{run:#?}");
    assert!(
        out.contains("→ generate_artifact(artifact_type: \"study_guide\""),
        "{out}"
    );
    // A message that only looks like a shortcut goes to the model as it is.
    let run = env.mentor(&["chat", "-m", "/quizzes are fun"]);
    assert!(run.ok().contains("Meanwhile"), "{run:#?}");
    let jobs = env.mentor(&["jobs", "list", "--json"]).json();
    assert_eq!(jobs.as_array().map(Vec::len), Some(2), "{jobs}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(
        last_message(&requests[0]),
        ("user".to_string(), "/quizzes are fun".to_string()),
    );
}

/// A shortcut and a question waiting for the same turn: the shortcut's call comes first, then
/// the model, asked once, answers the question knowing the job was started.
#[test]
fn a_shortcut_beside_a_question_is_called_then_the_question_answered() {
    let (server, env, first) = first_turn_streaming(Reply::text("Roots take up water."));
    // Both wait for the next turn, in this order.
    let shortcut = spawn_chat(&env, "/guide roots [steps=1] [step_ms=50]");
    let stored = |text: &str| {
        env.mentor(&["chat", "history", "--json"]).json()["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["text"] == text))
    };
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while !stored("/guide roots [steps=1] [step_ms=50]") {
        assert!(std::time::Instant::now() < until, "the shortcut was stored");
        std::thread::sleep(Duration::from_millis(20));
    }
    let question = env.mentor(&["chat", "-m", "And roots?"]);
    assert_eq!(question.ok(), "Roots take up water.\n", "{question:#?}");
    for child in [first, shortcut] {
        assert!(child.wait_with_output().expect("wait").status.success());
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let messages = requests[1]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // The two messages, joined as consecutive learner messages are, then the call and its
    // result.
    let tail: Vec<(&str, &str)> = messages[messages.len() - 3..]
        .iter()
        .map(|m| {
            let what = match m["role"].as_str() {
                Some("assistant") => m["tool_calls"][0]["function"]["name"].as_str(),
                Some("tool") => Some(if m["content"].as_str().unwrap_or("").contains("job_id") {
                    "a job"
                } else {
                    "no job"
                }),
                _ => m["content"].as_str(),
            };
            (m["role"].as_str().unwrap_or(""), what.unwrap_or(""))
        })
        .collect();
    assert_eq!(
        tail,
        [
            ("user", "/guide roots [steps=1] [step_ms=50]\n\nAnd roots?"),
            ("assistant", "generate_artifact"),
            ("tool", "a job"),
        ],
        "{messages:#?}"
    );
}

#[test]
fn plain_mode_answers_each_piped_line_then_ends() {
    let server = ScriptedServer::start();
    server.set_responder(teacher("unused"));
    let env = with_model(&server);
    env.mentor(&["notebook", "create", "Biology"]).ok();
    let run = env.mentor_with_stdin(
        &["chat", "--plain"],
        "What does chlorophyll do?\n/help\n/frobnicate\n",
    );
    let out = run.ok();
    assert!(
        out.contains("Teacher: Chlorophyll absorbs red and blue light.\n"),
        "{run:#?}"
    );
    assert!(
        out.contains("You: What does chlorophyll do?\n"),
        "a piped question is said back: {out}"
    );
    assert!(out.contains("/stop"), "the help was printed: {out}");
    assert!(out.contains("Unknown command /frobnicate"), "{out}");
    assert!(!out.contains("> "), "no prompt without a terminal: {out}");

    // A podcast: the acknowledgment and the job's changes are lines of their own.
    server.set_responder(teacher("roots [steps=1] [step_ms=50]"));
    let run = env.mentor_with_stdin(&["chat", "--plain"], "A podcast please\n");
    let out = run.ok();
    assert!(
        out.contains("Teacher: I'm generating that for you."),
        "{run:#?}"
    );
    assert!(out.contains("→ generate_artifact("), "{out}");
    assert!(out.contains("Teacher: Meanwhile"), "{out}");

    let history = env.mentor(&["chat", "history", "--json"]).json();
    let users: Vec<&str> = history["messages"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| m["role"] == "user")
                .filter_map(|m| m["text"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(users, ["What does chlorophyll do?", "A podcast please"]);
}

#[test]
fn plain_mode_in_french() {
    let server = ScriptedServer::start();
    server.set_fallback(Some(Reply::text("La chlorophylle absorbe la lumière.")));
    let env = TestEnv::new().french().with_stand_ins();
    env.use_model(&server.base_url(), "");
    let run = env.mentor_with_stdin(&["chat", "--plain"], "Bonjour\n");
    assert!(
        run.ok()
            .contains("Professeur : La chlorophylle absorbe la lumière."),
        "{run:#?}"
    );
    assert!(run.stderr.contains("« Mon carnet »"), "{run:#?}");
}

#[test]
fn a_queued_message_waits_for_its_own_turn() {
    // The first reply is slow; the second message arrives while it streams.
    let (_server, env, first) = first_turn_streaming(Reply::text("Second answer."));
    let second = env.mentor(&["chat", "-m", "second"]);
    assert_eq!(
        second.ok(),
        "Second answer.\n",
        "only its own reply: {second:#?}"
    );
    let first = first.wait_with_output().expect("first");
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(text.starts_with("w0 w1"), "{text}");
    assert!(!text.contains("Second answer"), "{text}");
}
