//! The fault matrix, end to end: every way the world can fail a learner, met the way a learner
//! meets it — `mentor chat --message TEXT --notebook Biology` (or a podcast the teacher
//! starts) against the real `mentord`, the scripted model server and the real generators.
//!
//! For each fault the test checks, through [`assert_recovers`], that the learner was told
//! clearly (the message asserted verbatim or by its key phrase, and for several faults in
//! French too, with no English leaking in), that the daemon stayed up (same pid), that its log
//! has no panic, and that the next normal request works: the next chat message gets the
//! scripted reply, or, when the model server stays broken, `mentor notebook list` works.
//! `docs/reliability.md` has the table of what the learner sees.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mentor_tests::answers::{good_answer, is_structured};
use mentor_tests::openai::{closed_port_url, last_message, Frame, Reply, ScriptedServer};
use mentor_tests::{Run, TestEnv};
use serde_json::{json, Value};

/// The teacher's normal answer.
const NORMAL: &str = "Chlorophyll absorbs red and blue light.";
/// The answer that shows the next request works.
const RECOVERED: &str = "Back to work: chlorophyll absorbs red and blue light.";

/// A home whose daemon talks to `url`, with `llm` lines in `[llm]` and `rest` after it, and a
/// notebook "Biology" (which starts the daemon). Returns the daemon's pid.
fn start(env: &TestEnv, url: &str, llm: &str, rest: &str) -> u32 {
    env.write_config(&format!(
        "[llm]\nbase_url = \"{url}\"\nmodel = \"scripted\"\n{llm}\n\n{rest}\n"
    ));
    env.mentor(&["notebook", "create", "Biology"]).ok();
    env.daemon_pid().expect("a running daemon")
}

/// A fresh home, in English or in French.
fn home(french: bool) -> TestEnv {
    if french {
        TestEnv::new().french()
    } else {
        TestEnv::new()
    }
}

/// `mentor chat --message TEXT --notebook Biology`.
fn chat(env: &TestEnv, text: &str) -> Run {
    env.mentor(&["chat", "--message", text, "--notebook", "Biology"])
}

/// Prints what the learner saw (shown with `--nocapture`; the table in reliability.md).
fn show(fault: &str, run: &Run) {
    eprintln!(
        "=== {fault} (exit {})\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
}

/// What proves the daemon still serves after a fault.
enum Next<'a> {
    /// A chat message gets the scripted server's normal reply.
    Chat(&'a ScriptedServer),
    /// The model server stays broken: a request that needs no model works.
    NoModel,
}

/// The daemon that met the fault is the one still running, it never panicked, and the next
/// request works.
#[track_caller]
fn assert_recovers(env: &TestEnv, pid: u32, next: Next) {
    assert_eq!(env.daemon_pid(), Some(pid), "the daemon stayed up");
    match next {
        Next::Chat(server) => {
            server.push(Reply::text(RECOVERED));
            let run = chat(env, "Where were we?");
            assert_eq!(run.ok().trim(), RECOVERED, "{run:#?}");
        }
        Next::NoModel => {
            let run = env.mentor(&["notebook", "list"]);
            assert!(run.ok().contains("Biology"), "{run:#?}");
        }
    }
    assert_eq!(env.daemon_pid(), Some(pid), "the daemon stayed up");
    let log = env.log();
    assert!(!log.contains("panicked"), "a panic in the log:\n{log}");
}

/// Asserts a failed chat: exit 1, nothing on stdout but what had streamed, and `phrase` in
/// the message on stderr; returns stderr.
#[track_caller]
fn failed<'a>(run: &'a Run, phrase: &str) -> &'a str {
    let stderr = run.fails();
    assert!(
        stderr.contains(phrase),
        "expected “{phrase}” in the message: {run:#?}"
    );
    stderr
}

/// French output with none of the English sentence's words.
#[track_caller]
fn no_english(text: &str, english: &[&str]) {
    for words in english {
        assert!(!text.contains(words), "English “{words}” in French: {text}");
    }
}

/// The conversation as `mentor chat history --json` gives it.
fn history(env: &TestEnv) -> Vec<Value> {
    env.mentor(&["chat", "history", "--notebook", "Biology", "--json"])
        .json()["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// The model server.

fn model_server_down(french: bool) {
    let env = home(french);
    let url = closed_port_url();
    let pid = start(&env, &url, "", "");
    let run = chat(&env, "Hello");
    show("model server down", &run);
    let base = url.trim_end_matches("/v1");
    let said = if french {
        let said = failed(&run, "Impossible de joindre le serveur de modèle à");
        assert!(said.contains("(connexion refusée)"), "{said}");
        no_english(said, &["Could not reach", "Start it", "connection refused"]);
        said
    } else {
        let said = failed(&run, "Could not reach the model server at");
        assert!(said.contains("(connection refused)"), "{said}");
        said
    };
    assert!(said.contains(base), "{said}");
    assert!(
        said.contains("`ollama serve`") && said.contains("MENTOR_LLM_URL"),
        "{said}"
    );
    // The model server stays down: what needs no model still works.
    assert_recovers(&env, pid, Next::NoModel);
}

#[test]
fn model_server_down_en() {
    model_server_down(false);
}

#[test]
fn model_server_down_fr() {
    model_server_down(true);
}

fn http_401(french: bool) {
    let env = home(french);
    let server = ScriptedServer::start();
    let pid = start(&env, &server.base_url(), "", "");
    server.push(Reply::status(
        401,
        json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            .to_string(),
    ));
    let run = chat(&env, "Hello");
    show("401", &run);
    if french {
        let said = failed(
            &run,
            "a répondu HTTP 401 : Incorrect API key provided. Vérifiez la clé d’API \
             (`llm.api_key` ou MENTOR_LLM_API_KEY).",
        );
        no_english(said, &["answered HTTP", "Check the API key"]);
    } else {
        failed(
            &run,
            "answered HTTP 401: Incorrect API key provided. Check the API key \
             (`llm.api_key` or MENTOR_LLM_API_KEY).",
        );
    }
    assert_eq!(server.request_count(), 1, "not retried");
    assert_recovers(&env, pid, Next::Chat(&server));
}

#[test]
fn http_401_en() {
    http_401(false);
}

#[test]
fn http_401_fr() {
    http_401(true);
}

#[test]
fn http_429_with_retry_after() {
    let env = home(false);
    let server = ScriptedServer::start();
    let pid = start(&env, &server.base_url(), "", "");
    server.push(
        Reply::status(
            429,
            json!({"error": {"message": "Rate limit reached", "type": "rate_limit"}}).to_string(),
        )
        .with_header("Retry-After", "20"),
    );
    let started = Instant::now();
    let run = chat(&env, "Hello");
    show("429", &run);
    failed(
        &run,
        "answered HTTP 429: Rate limit reached. The server is busy or rate-limited and asks to \
         wait 20 s: try again after that.",
    );
    // A chat turn is not retried behind the learner's back, not even after Retry-After: the
    // learner is told how long to wait, at once.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it did not wait"
    );
    assert_eq!(server.request_count(), 1, "not retried");
    // Without Retry-After, the general advice.
    server.push(Reply::status(429, "Too many requests"));
    let run = chat(&env, "Hello?");
    failed(
        &run,
        "answered HTTP 429: Too many requests. The server is busy or rate-limited: wait a \
         moment and try again.",
    );
    assert_recovers(&env, pid, Next::Chat(&server));
}

#[test]
fn http_500() {
    let env = home(false);
    let server = ScriptedServer::start();
    let pid = start(&env, &server.base_url(), "", "");
    server.push(Reply::status(500, "upstream exploded"));
    let run = chat(&env, "Hello");
    show("500", &run);
    failed(
        &run,
        "answered HTTP 500: upstream exploded. The server failed: see its own log, then try again.",
    );
    assert_eq!(server.request_count(), 1, "not retried");
    assert_recovers(&env, pid, Next::Chat(&server));
}

fn stream_cut(french: bool) {
    let env = home(french);
    let server = ScriptedServer::start();
    let pid = start(&env, &server.base_url(), "", "");
    server.push(Reply::sse(vec![
        Frame::delta(json!({"role": "assistant", "content": ""})),
        Frame::delta(json!({"content": "Mitochondria are"})),
        Frame::delta(json!({"content": " the power"})),
        Frame::Cut,
    ]));
    let run = chat(&env, "Hello");
    show("stream cut", &run);
    // What arrived was shown, then the reason.
    assert!(
        run.stdout.contains("Mitochondria are the power"),
        "{run:#?}"
    );
    if french {
        let said = failed(&run, "s’est arrêté au milieu de sa réponse (le serveur a fermé la connexion). Ce qui était arrivé est conservé");
        no_english(said, &["stream ended", "closed the connection", "OpenAI"]);
    } else {
        let said = failed(&run, "stopped in the middle of its answer (the server closed the connection). What had arrived is kept; try again");
        // Not the advice for a server of another kind.
        assert!(!said.contains("OpenAI-compatible"), "{said}");
    }
    assert_eq!(server.request_count(), 1, "not re-sent");
    // The partial reply is kept, marked failed.
    let h = history(&env);
    assert_eq!(h[1]["state"], "failed", "{h:#?}");
    assert_eq!(h[1]["text"], "Mitochondria are the power");
    assert_recovers(&env, pid, Next::Chat(&server));
}

#[test]
fn stream_cut_en() {
    stream_cut(false);
}

#[test]
fn stream_cut_fr() {
    stream_cut(true);
}

#[test]
fn malformed_sse() {
    let env = home(false);
    let server = ScriptedServer::start();
    let pid = start(&env, &server.base_url(), "", "");
    server.push(Reply::sse(vec![
        Frame::delta(json!({"role": "assistant", "content": ""})),
        Frame::delta(json!({"content": "Chloro"})),
        Frame::Data("{\"choices\": [{\"delta\": {\"content\": oops".into()),
        Frame::done(),
    ]));
    let run = chat(&env, "Hello");
    show("malformed SSE", &run);
    let said = failed(
        &run,
        "sent an answer Mentor cannot read (a `data:` line is not JSON",
    );
    assert!(
        said.contains("Check that `llm.base_url` points to an OpenAI-compatible API."),
        "{said}"
    );
    assert_eq!(server.request_count(), 1, "not re-sent");
    assert_recovers(&env, pid, Next::Chat(&server));
}

fn first_token_never_comes(french: bool) {
    let env = home(french);
    let server = ScriptedServer::start();
    let pid = start(&env, &server.base_url(), "first_token_timeout_secs = 1", "");
    // Headers, then keep-alive comments (which are not an answer), then nothing.
    server.push(Reply::sse(vec![
        Frame::Raw(": keep-alive\n\n".into()),
        Frame::Delay(Duration::from_millis(300)),
        Frame::Raw(": keep-alive\n\n".into()),
        Frame::Stall,
    ]));
    let started = Instant::now();
    let run = chat(&env, "Hello");
    show("first token never comes", &run);
    assert!(started.elapsed() < Duration::from_secs(10));
    let said = if french {
        let said = failed(
            &run,
            "n’a rien répondu en 1 s. Un modèle local est peut-être encore en chargement",
        );
        no_english(said, &["sent no answer", "try again"]);
        said
    } else {
        failed(
            &run,
            "sent no answer within 1 s. A local model may still be loading",
        )
    };
    assert!(said.contains("llm.first_token_timeout_secs"), "{said}");
    assert_recovers(&env, pid, Next::Chat(&server));
}

#[test]
fn first_token_never_comes_en() {
    first_token_never_comes(false);
}

#[test]
fn first_token_never_comes_fr() {
    first_token_never_comes(true);
}

// ---------------------------------------------------------------------------------------------
// The model's tool calls.

/// A model that answers a tool's error with words, and anything else normally.
fn corrects_itself(request: &Value) -> Reply {
    let (role, text) = last_message(request);
    if role == "tool" && text.contains("error") {
        Reply::text("Sorry, let me explain it myself: chlorophyll absorbs light.")
    } else {
        Reply::text(NORMAL)
    }
}

#[test]
fn invalid_tool_arguments() {
    let env = TestEnv::new();
    let server = ScriptedServer::start();
    server.set_responder(corrects_itself);
    let pid = start(&env, &server.base_url(), "", "");
    server.push(Reply::tool_call(
        "generate_artifact",
        r#"{"artifact_type": "podcast", "topic": "#,
    ));
    let run = chat(&env, "Make me a podcast");
    show("invalid tool arguments", &run);
    assert_eq!(
        run.ok().trim(),
        "Sorry, let me explain it myself: chlorophyll absorbs light."
    );
    assert!(
        run.stderr
            .contains("✗ generate_artifact failed: the arguments are not valid JSON"),
        "{run:#?}"
    );
    // The model got the error as the tool's result.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(last_message(&requests[1]).1.contains("not valid JSON"));
    // No job was started.
    let jobs = env.mentor(&["jobs", "list", "--json"]).json();
    assert_eq!(jobs.as_array().map(Vec::len), Some(0), "{jobs}");
    assert_recovers(&env, pid, Next::Chat(&server));
}

#[test]
fn unknown_tool() {
    let env = TestEnv::new();
    let server = ScriptedServer::start();
    server.set_responder(corrects_itself);
    let pid = start(&env, &server.base_url(), "", "");
    server.push(Reply::tool_call("summon_dragon", r#"{"color": "green"}"#));
    let run = chat(&env, "Hello");
    show("unknown tool", &run);
    assert_eq!(
        run.ok().trim(),
        "Sorry, let me explain it myself: chlorophyll absorbs light."
    );
    assert!(
        run.stderr
            .contains("✗ summon_dragon failed: there is no tool named `summon_dragon`"),
        "{run:#?}"
    );
    assert_eq!(server.request_count(), 2);
    assert_recovers(&env, pid, Next::Chat(&server));
}

fn endless_tool_loop(french: bool) {
    let env = home(french);
    let server = ScriptedServer::start();
    // A model that calls a tool whatever it is offered, even after the tools are gone.
    server.set_responder(|_: &Value| Reply::tool_call("search_sources", r#"{"query": "leaves"}"#));
    let pid = start(&env, &server.base_url(), "", "[chat]\nmax_tool_rounds = 2");
    let run = chat(&env, "Find everything about leaves");
    show("endless tool loop", &run);
    // Two rounds with tools, one without: then the turn ends.
    assert_eq!(server.request_count(), 3);
    assert!(
        server.requests()[2]["tools"].is_null(),
        "no tools offered last"
    );
    let said = if french {
        let said = failed(
            &run,
            "Le professeur a continué d’appeler des outils sans répondre après 2 tours",
        );
        no_english(said, &["kept calling", "rounds of tool calls"]);
        said
    } else {
        failed(
            &run,
            "The teacher kept calling tools and had not answered after 2 rounds of tool calls, \
             so the turn was stopped.",
        )
    };
    assert!(said.contains("`chat.max_tool_rounds`"), "{said}");
    // The calls of the round after the limit were not run: two searches, no more.
    let h = history(&env);
    let results = h.iter().filter(|m| m["role"] == "tool").count();
    assert_eq!(results, 2, "{h:#?}");
    let last = h.last().expect("the last reply");
    assert_eq!(last["state"], "failed", "{last:#}");
    assert_eq!(last["error"]["code"], "tool_rounds", "{last:#}");
    assert_recovers(&env, pid, Next::Chat(&server));
    // The next turn's request pairs the unrun calls with an error result.
    let sent = server.requests().last().map(|r| r["messages"].to_string());
    assert!(
        sent.is_some_and(|m| m.contains("no result: the turn was stopped")),
        "the unrun calls are closed"
    );
}

#[test]
fn endless_tool_loop_en() {
    endless_tool_loop(false);
}

#[test]
fn endless_tool_loop_fr() {
    endless_tool_loop(true);
}

// ---------------------------------------------------------------------------------------------
// Speech, in a podcast the teacher starts.

/// The teacher and the generators: the generators' requests get good answers, the learner
/// asking for a podcast gets one, a failure is walked through.
fn teacher(request: &Value) -> Reply {
    if is_structured(request) {
        return good_answer(request);
    }
    let (role, text) = last_message(request);
    if role == "tool" {
        Reply::text("Meanwhile, let us look at chlorophyll.")
    } else if text.contains("Note from Mentor") {
        Reply::text("Let me walk you through it: light, water, sugar.")
    } else if text.contains("podcast") {
        let args = json!({"artifact_type": "podcast", "topic": "cells",
                          "options": {"length": "short"}});
        Reply::tool_call("generate_artifact", &args.to_string())
    } else {
        Reply::text(NORMAL)
    }
}

/// A home with real generators, a source in "Biology", and `tts` lines in `[tts]`.
fn podcast_home(env: &TestEnv, server: &ScriptedServer, tts: &str, jobs: &str) -> u32 {
    server.set_responder(teacher);
    let pid = start(
        env,
        &server.base_url(),
        "",
        &format!("[jobs]\n{jobs}\n\n[tts]\n{tts}\n"),
    );
    env.add_text_source(
        "Biology",
        "cells.md",
        "# Cells\n\nMitochondria turn sugar into ATP, the energy of the cell. \
         The membrane filters what enters the cell.\n",
    );
    pid
}

/// An executable script in the home.
fn script(env: &TestEnv, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = env.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.to_string_lossy().into_owned()
}

/// Asks the teacher for a podcast and waits for it to fail and be walked through: the
/// learner sees the submission, the failure with its reason, the notice and the walkthrough.
#[track_caller]
fn podcast_fails(env: &TestEnv, fault: &str, reason: &str) -> Run {
    let run = env.mentor(&[
        "chat",
        "--message",
        "Make me a podcast about cells",
        "--notebook",
        "Biology",
        "--wait-jobs",
    ]);
    show(fault, &run);
    // Exit 1: a job the turn started failed (told on stderr).
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("Let me walk you through it"),
        "the walkthrough: {run:#?}"
    );
    assert!(run.stderr.contains(reason), "“{reason}”: {run:#?}");
    run
}

fn tts_missing(french: bool) {
    let env = home(french);
    let server = ScriptedServer::start();
    let pid = podcast_home(
        &env,
        &server,
        "program = \"/nonexistent/espeak-ng\"",
        "max_attempts = 1",
    );
    if french {
        let run = podcast_fails(
            &env,
            "TTS missing",
            "Le programme de synthèse vocale `/nonexistent/espeak-ng` est introuvable. \
             Installez-le : `sudo apt-get install espeak-ng`",
        );
        assert!(
            run.stderr.contains(
                "J’ai eu du mal à le générer. Je vais plutôt vous l’expliquer pas à pas."
            ),
            "{run:#?}"
        );
        no_english(&run.stderr, &["was not found", "I had trouble", "failed"]);
    } else {
        let run = podcast_fails(
            &env,
            "TTS missing",
            "failed: The speech program `/nonexistent/espeak-ng` was not found. Install it: \
             `sudo apt-get install espeak-ng` (or run ./install.sh), or set [tts] engine = \
             \"none\" in the config for transcript-only podcasts.",
        );
        assert!(
            run.stderr
                .contains("I had trouble generating that. Let me walk you through it instead."),
            "{run:#?}"
        );
    }
    assert_recovers(&env, pid, Next::Chat(&server));
}

#[test]
fn tts_missing_en() {
    tts_missing(false);
}

#[test]
fn tts_missing_fr() {
    tts_missing(true);
}

fn tts_crashing(french: bool) {
    let env = home(french);
    let server = ScriptedServer::start();
    let program = script(&env, "speech", "echo 'voice broke' >&2\nexit 3");
    let pid = podcast_home(
        &env,
        &server,
        &format!("program = \"{program}\""),
        "max_attempts = 1",
    );
    if french {
        let run = podcast_fails(
            &env,
            "TTS crashing",
            &format!(
                "La synthèse vocale a échoué : `{program}` s’est arrêté avec le code de \
                 sortie 3 : voice broke — Vérifiez les voix"
            ),
        );
        no_english(
            &run.stderr,
            &["exit status", "stopped with", "I had trouble"],
        );
    } else {
        let run = podcast_fails(
            &env,
            "TTS crashing",
            &format!(
                "failed: Speech synthesis failed: `{program}` stopped with exit code 3: voice \
                 broke — Check the voices in the [tts] section of the config"
            ),
        );
        assert!(
            run.stderr
                .contains("I had trouble generating that. Let me walk you through it instead."),
            "{run:#?}"
        );
    }
    assert_recovers(&env, pid, Next::Chat(&server));
}

#[test]
fn tts_crashing_en() {
    tts_crashing(false);
}

#[test]
fn tts_crashing_fr() {
    tts_crashing(true);
}

#[test]
fn tts_hanging() {
    let env = TestEnv::new();
    let server = ScriptedServer::start();
    let program = script(&env, "speech", "exec sleep 60");
    // Two attempts: a hang is transient, so it is tried again once, then fails for good.
    let pid = podcast_home(
        &env,
        &server,
        &format!("program = \"{program}\"\ntimeout_secs = 1"),
        "max_attempts = 2\nretry_base_ms = 100\nretry_max_ms = 200",
    );
    let started = Instant::now();
    podcast_fails(
        &env,
        "TTS hanging",
        "The speech engine gave no clip within 1 s and was stopped.",
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_recovers(&env, pid, Next::Chat(&server));
}

// ---------------------------------------------------------------------------------------------
// The machine.

/// A tmpfs mounted over a directory of a home, unmounted on drop (after its daemon is stopped,
/// whose lock file may be inside).
struct Mount {
    dir: PathBuf,
    home: mentor_shared::paths::Dirs,
}

impl Mount {
    /// Mounts a tmpfs of `size` over `dir`, in `env`'s home; `Err` with the reason when that
    /// is not allowed.
    fn tmpfs(env: &TestEnv, dir: &Path, size: &str) -> Result<Mount, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Mount {
            dir: dir.to_path_buf(),
            home: env.dirs(),
        })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(pid) = self.home.running_daemon_pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.home.running_daemon_pid().is_some() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.home.running_daemon_pid().is_some() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        // Lazy, in case something still has a file open there.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fills the file system holding `path` with a file there, until it is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler");
    let block = vec![0u8; 64 * 1024];
    let mut small = false;
    loop {
        let chunk = if small { &block[..512] } else { &block[..] };
        match file.write(chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) if !small => small = true,
            Err(_) => break,
        }
    }
    let _ = file.sync_all();
}

/// Mounts a small tmpfs over `dir`; `None` (the reason printed) when this user may not.
fn small_disk(test: &str, env: &TestEnv, dir: &Path) -> Option<Mount> {
    match Mount::tmpfs(env, dir, "4m") {
        Ok(m) => Some(m),
        Err(reason) => {
            println!("SKIPPED {test}: cannot mount a tmpfs ({reason}); it needs root");
            None
        }
    }
}

fn disk_full(french: bool) {
    let env = home(french);
    // The data directory (the database and the artifacts) on a small disk of its own.
    let data = env.dirs().data;
    let Some(mount) = small_disk("disk_full", &env, &data) else {
        return;
    };
    let server = ScriptedServer::start();
    server.set_responder(|_: &Value| Reply::text(NORMAL));
    let pid = start(&env, &server.base_url(), "", "");
    assert_eq!(chat(&env, "First question").ok().trim(), NORMAL);
    let filler = data.join("filler");
    fill(&filler);
    let run = chat(&env, &format!("A long question: {}", "words ".repeat(2000)));
    show("disk full", &run);
    if french {
        let said = failed(
            &run,
            "Le disque qui contient les données de Mentor est plein : rien n’a pu être \
             enregistré. Ce qui l’était déjà est intact",
        );
        no_english(said, &["disk is full", "database or disk"]);
    } else {
        failed(
            &run,
            "The disk that holds Mentor's data is full, so nothing could be saved. What was \
             saved before is intact: free some space",
        );
    }
    assert_eq!(env.daemon_pid(), Some(pid));
    // Space again: nothing stored before is lost, and the next request works.
    std::fs::remove_file(&filler).expect("remove the filler");
    let h = history(&env);
    assert_eq!(h.len(), 2, "{h:#?}");
    assert_eq!(h[0]["text"], "First question");
    assert_eq!(h[1]["text"], NORMAL);
    assert_recovers(&env, pid, Next::Chat(&server));
    assert_eq!(history(&env).len(), 4);
    env.mentor(&["daemon", "stop"]).ok();
    let db = rusqlite::Connection::open(env.dirs().database()).expect("open the database");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    drop(db);
    drop(mount);
}

#[test]
fn disk_full_en() {
    disk_full(false);
}

#[test]
fn disk_full_fr() {
    disk_full(true);
}

#[test]
fn disk_full_for_the_podcast_files() {
    let env = home(false);
    // Only the artifacts' directory is full: the database still works, the clips cannot be
    // written.
    let artifacts = env.dirs().artifacts();
    let Some(mount) = small_disk("disk_full_for_the_podcast_files", &env, &artifacts) else {
        return;
    };
    let server = ScriptedServer::start();
    let pid = podcast_home(&env, &server, "", "max_attempts = 1");
    let filler = artifacts.join("filler");
    fill(&filler);
    // espeak-ng exits 0 with an empty file on a full disk: Mentor finds out why.
    let run = podcast_fails(
        &env,
        "disk full (artifacts)",
        "failed: Gave up after 1 attempt: Cannot write the audio clip (",
    );
    assert!(
        run.stderr.contains(
            "No space left on device (os error 28)). Check the free disk space and the \
             permissions of Mentor's data directory."
        ),
        "{run:#?}"
    );
    std::fs::remove_file(&filler).expect("remove the filler");
    assert_recovers(&env, pid, Next::Chat(&server));
    env.mentor(&["daemon", "stop"]).ok();
    drop(mount);
}

#[test]
fn disk_full_before_the_daemon_starts() {
    let env = home(false);
    // The whole home on a full disk, before a daemon ever ran there.
    let home_dir = env.path().to_path_buf();
    let Some(mount) = small_disk("disk_full_before_the_daemon_starts", &env, &home_dir) else {
        return;
    };
    let filler = home_dir.join("filler");
    fill(&filler);
    let run = env.mentor(&["notebook", "list"]);
    show("disk full before the daemon starts", &run);
    let said = failed(&run, "The Mentor daemon could not start: ");
    // Its reason reaches the learner when it can be written, else what to check.
    assert!(
        said.contains("No space left on device") || said.contains("Check the free disk space"),
        "{said}"
    );
    assert!(!said.contains("101"), "the daemon panicked: {said}");
    std::fs::remove_file(&filler).expect("remove the filler");
    let run = env.mentor(&["notebook", "list"]);
    assert!(run.ok().contains("No notebooks yet"), "{run:#?}");
    assert!(!env.log().contains("panicked"), "{}", env.log());
    drop(mount);
}

/// Holds an exclusive transaction on the home's database for `hold`, in a thread; returns
/// once the lock is taken.
fn lock_database(env: &TestEnv, hold: Duration) -> std::thread::JoinHandle<()> {
    let path = env.dirs().database();
    let (taken, is_taken) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).expect("open the database");
        conn.execute_batch("BEGIN EXCLUSIVE").expect("lock");
        let _ = taken.send(());
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").expect("unlock");
    });
    is_taken
        .recv_timeout(Duration::from_secs(10))
        .expect("the lock is taken");
    holder
}

fn database_locked(french: bool) {
    let env = home(french);
    let server = ScriptedServer::start();
    server.set_responder(|_: &Value| Reply::text(NORMAL));
    let pid = start(&env, &server.base_url(), "", "");
    // A short lock: the request waits for it (up to the daemon's busy timeout, 5 s) and
    // succeeds.
    let holder = lock_database(&env, Duration::from_secs(2));
    let run = chat(&env, "Hello");
    assert_eq!(run.ok().trim(), NORMAL, "{run:#?}");
    holder.join().expect("holder");
    // A lock held longer than that: a clear refusal.
    let holder = lock_database(&env, Duration::from_secs(7));
    let run = chat(&env, "One more question");
    show("database locked", &run);
    if french {
        let said = failed(
            &run,
            "La base de données est verrouillée par un autre programme (un navigateur SQLite, \
             une sauvegarde, une autre copie de Mentor…) et l’est restée trop longtemps. Rien \
             n’a été modifié",
        );
        no_english(said, &["database is locked", "The database"]);
    } else {
        failed(
            &run,
            "The database is locked by another program (an SQLite browser, a backup, another \
             copy of Mentor…) and stayed locked too long. Nothing was changed",
        );
    }
    holder.join().expect("holder");
    assert_recovers(&env, pid, Next::Chat(&server));
    // The refused message was not stored.
    let h = history(&env);
    assert!(
        !h.iter().any(|m| m["text"] == "One more question"),
        "{h:#?}"
    );
    assert_eq!(h.len(), 4, "{h:#?}");
}

#[test]
fn database_locked_en() {
    database_locked(false);
}

#[test]
fn database_locked_fr() {
    database_locked(true);
}

#[test]
fn client_killed_mid_stream() {
    let env = TestEnv::new();
    let server = ScriptedServer::start();
    let pid = start(&env, &server.base_url(), "", "");
    let mut frames = vec![Frame::delta(json!({"role": "assistant", "content": ""}))];
    let words: Vec<String> = (0..20).map(|i| format!("w{i} ")).collect();
    for w in &words {
        frames.push(Frame::delta(json!({ "content": w })));
        frames.push(Frame::Delay(Duration::from_millis(100)));
    }
    frames.push(Frame::finish("stop"));
    frames.push(Frame::done());
    server.push(Reply::sse(frames));
    let mut client = env
        .command("mentor")
        .args([
            "chat",
            "--message",
            "Tell me slowly",
            "--notebook",
            "Biology",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mentor");
    // Once the reply is streaming on the learner's screen, the client dies.
    let mut stdout = client.stdout.take().expect("stdout");
    let mut seen = [0u8; 8];
    let n = stdout.read(&mut seen).expect("read the reply");
    assert!(n > 0 && seen.starts_with(b"w0"), "{:?}", &seen[..n]);
    client.kill().expect("SIGKILL the client");
    let _ = client.wait();
    // The daemon finishes the reply on its own and stores it whole.
    let whole: String = words.concat();
    wait_until("the reply to be stored", Duration::from_secs(20), || {
        let h = history(&env);
        h.len() == 2 && h[1]["state"] == "complete"
    });
    let h = history(&env);
    assert_eq!(h[0]["text"], "Tell me slowly");
    assert_eq!(h[1]["text"].as_str().map(str::trim), Some(whole.trim()));
    assert_eq!(server.request_count(), 1);
    assert_recovers(&env, pid, Next::Chat(&server));
    assert_eq!(history(&env).len(), 4);
}
