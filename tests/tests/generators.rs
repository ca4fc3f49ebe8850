//! The generators end to end: the real `mentord` and `mentor`, the scripted OpenAI-compatible
//! server answering the generators' JSON requests, and the real espeak-ng speaking the
//! podcasts (installed by `./install.sh --test`; these tests fail, never skip, without it).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mentor_shared::jobs::{Cursor, EventBody, Job, JobRequest};
use mentor_shared::service::MentorClient;
use mentor_tests::answers::{good_answer, json_reply, schema_name};
use mentor_tests::openai::{Reply, ScriptedServer};
use mentor_tests::rpc::{self, answer, connect, ctx};
use mentor_tests::{files_under, TestEnv};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(60);

/// A home with a model server, a notebook "Biology" with one source, and `extra` config.
struct Gen {
    env: TestEnv,
    server: ScriptedServer,
    rt: tokio::runtime::Runtime,
    client: MentorClient,
}

impl Gen {
    fn new(env: TestEnv, extra: &str) -> Gen {
        let server = ScriptedServer::start();
        server.set_responder(good_answer);
        env.write_config(&format!(
            "[llm]\nbase_url = \"{}\"\nmodel = \"scripted\"\n\n{extra}\n",
            server.base_url()
        ));
        env.mentor(&["notebook", "create", "Biology"]).ok();
        env.add_text_source(
            "Biology",
            "cells.md",
            "# Cells\n\nMitochondria turn sugar into ATP, the energy of the cell. \
             The membrane filters what enters the cell.\n",
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = rt.block_on(connect(&env.dirs())).expect("connect");
        Gen {
            env,
            server,
            rt,
            client,
        }
    }

    fn cursor(&self) -> Cursor {
        mentor_tests::rpc::head(&self.rt, &self.client)
    }

    fn submit(&self, spec: Value) -> String {
        self.submit_on("cells", spec)
    }

    fn submit_on(&self, topic: &str, spec: Value) -> String {
        let request: JobRequest = serde_json::from_value(json!({
            "notebook": "Biology", "topic": topic, "language": null, "spec": spec,
        }))
        .expect("request");
        let submitted = self
            .rt
            .block_on(async { answer(self.client.job_submit(ctx(T), request).await) })
            .expect("submit");
        submitted.job.id.to_string()
    }

    /// Every record of job `id` from `cursor` until it ends (or `stop` says so).
    fn follow(&self, cursor: &mut Cursor, id: &str, stop: impl Fn(&Job) -> bool) -> Vec<Job> {
        rpc::events_until(&self.rt, &self.client, cursor, T, |event| {
            match &event.body {
                EventBody::Job { job } if job.id.to_string() == id => {
                    job.status.is_terminal() || stop(job)
                }
                _ => false,
            }
        })
        .into_iter()
        .filter_map(|event| match event.body {
            EventBody::Job { job } if job.id.to_string() == id => Some(job),
            _ => None,
        })
        .collect()
    }

    fn artifact(&self, job: &str) -> Value {
        let job = self.env.job(job);
        let id = job["artifact_id"]
            .as_str()
            .expect("artifact id")
            .to_string();
        self.env
            .mentor(&["artifacts", "show", &id, "--json"])
            .json()
    }

    fn requests_named(&self, name: &str) -> usize {
        self.requests_of(name).len()
    }

    /// The requests for schema `name`, in order.
    fn requests_of(&self, name: &str) -> Vec<Value> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| schema_name(r) == name)
            .collect()
    }
}

/// Stages and counters of a job's progress, in the order they came.
fn stages(records: &[Job]) -> Vec<(String, u32, u32)> {
    let mut out: Vec<(String, u32, u32)> = Vec::new();
    for job in records {
        if let Some(p) = &job.progress {
            let step = (p.stage.clone(), p.current, p.total);
            if out.last() != Some(&step) {
                out.push(step);
            }
        }
    }
    out
}

/// Checks the percentages of a job's records: they never go back, read below 100 while the
/// job runs, and 100 once it completed.
fn assert_moves_forward(records: &[Job]) {
    let mut last = 0;
    for job in records {
        let Some(p) = &job.progress else { continue };
        assert!(
            p.percentage >= last,
            "the bar went back from {last} % to {} %: {records:#?}",
            p.percentage
        );
        last = p.percentage;
        if job.status.as_str() == "completed" {
            assert_eq!(p.percentage, 100, "{job:#?}");
        } else {
            assert!(p.percentage < 100, "100 % before the end: {job:#?}");
        }
    }
    assert!(last > 0, "no progress at all: {records:#?}");
}

/// Length of a WAV file in seconds, and its rate, read from its header.
fn wav_info(path: &Path) -> (f64, u32) {
    let bytes = std::fs::read(path).expect("read wav");
    assert_eq!(&bytes[0..4], b"RIFF", "RIFF header");
    assert_eq!(&bytes[8..12], b"WAVE", "WAVE header");
    let clip = mentor_daemon::tts::wav::Clip::parse(&bytes).expect("a readable WAV");
    (clip.seconds(), clip.rate)
}

/// What espeak-ng makes of `text` with `voice`, in seconds (the test's own recording).
fn espeak_seconds(text: &str, voice: &str, dir: &Path) -> f64 {
    let out = dir.join("check.wav");
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", "165", "-w"])
        .arg(&out)
        .arg(text)
        .status()
        .expect("espeak-ng is installed (./install.sh --test)");
    assert!(status.success());
    wav_info(&out).0
}

/// An executable script in the home (a speech program wrapper or stand-in).
fn script(env: &TestEnv, name: &str, body: &str) -> String {
    let path = env.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_podcast_is_written_spoken_and_combined_with_progress_for_every_step() {
    let g = Gen::new(TestEnv::new(), "");
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "podcast", "length": "short"}));
    let records = g.follow(&mut cursor, &id, |_| false);
    let last = records.last().expect("records");
    assert_eq!(last.status.as_str(), "completed", "{last:#?}");

    // Progress for every step, in order.
    let seen = stages(&records);
    let expected_start = [
        ("stage-outline".to_string(), 0, 1),
        ("stage-transcript".to_string(), 1, 2),
        ("stage-transcript".to_string(), 2, 2),
        ("stage-speech".to_string(), 0, 8),
    ];
    assert_eq!(&seen[..4], &expected_start, "{seen:#?}");
    assert_moves_forward(&records);
    let speech: Vec<u32> = seen
        .iter()
        .filter(|(s, _, _)| s == "stage-speech")
        .map(|(_, c, _)| *c)
        .collect();
    assert_eq!(speech, (0..=8).collect::<Vec<_>>(), "{seen:#?}");
    assert_eq!(
        &seen[seen.len() - 2..],
        &[
            ("stage-combine".to_string(), 0, 1),
            ("stage-combine".to_string(), 1, 1)
        ]
    );

    // The model was asked once for the outline and once per segment.
    assert_eq!(g.requests_named("podcast_outline"), 1);
    assert_eq!(g.requests_named("podcast_segment"), 2);
    let first = &g.server.requests()[0];
    assert!(
        first["messages"]
            .to_string()
            .contains("Mitochondria turn sugar"),
        "the sources reach the outline request"
    );

    // The artifact: a transcript with speakers' names, and a valid WAV as long as its clips
    // and pauses.
    let art = g.artifact(&id);
    assert_eq!(art["status"], "ready", "{art:#}");
    // Named by the title its outline gave it, no longer by the topic.
    assert_eq!(art["title"], "Biology: Mitochondria", "{art:#}");
    let data = &art["data"];
    let transcript = data["transcript"].as_str().unwrap_or("");
    assert!(transcript.contains("**Alex:**") && transcript.contains("**Sam:**"));
    assert_eq!(data["turns"].as_array().map(Vec::len), Some(8));
    assert_eq!(data["sources"][0]["title"], "Cells");
    let audio = &data["audio"];
    let path = PathBuf::from(audio["path"].as_str().expect("audio path"));
    assert!(path.starts_with(g.env.dirs().artifacts()), "{path:?}");
    let (seconds, rate) = wav_info(&path);
    assert_eq!(rate, 22_050);
    let mut expected = 0.35 * 5.0;
    for (i, turn) in data["turns"].as_array().into_iter().flatten().enumerate() {
        let voice = if i % 2 == 0 { "en-us+m3" } else { "en-us+f3" };
        expected += espeak_seconds(turn["text"].as_str().unwrap_or(""), voice, g.env.path());
    }
    assert!(
        (seconds - expected).abs() <= 0.2 * expected,
        "{seconds} s against {expected} s expected"
    );
    let duration_ms = audio["duration_ms"].as_u64().unwrap_or(0) as f64;
    assert!((duration_ms / 1000.0 - seconds).abs() < 0.01);
    assert_eq!(audio["voices"], json!(["en-us+m3", "en-us+f3"]));

    // Owner-only, and only the podcast is left (the clips are gone).
    let mode = std::fs::metadata(&path).expect("wav").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(path.parent().expect("dir"))
        .expect("dir")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    assert_eq!(files_under(&g.env.dirs().artifacts()), vec![path.clone()]);

    // Deleting the notebook deletes its files.
    g.env
        .mentor(&["notebook", "delete", "Biology", "--yes"])
        .ok();
    wait_until("the files to go", Duration::from_secs(10), || {
        files_under(&g.env.dirs().artifacts()).is_empty()
    });
}

#[test]
fn a_french_brief_podcast_speaks_with_a_french_voice() {
    let g = Gen::new(TestEnv::new().french(), "");
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "podcast", "format": "brief", "length": "short"}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("completed"));
    let data = g.artifact(&id)["data"].clone();
    assert_eq!(data["speakers"], json!(["Camille"]));
    assert_eq!(data["language"], "fr-FR");
    assert_eq!(data["audio"]["voices"], json!(["fr-fr+m3"]));
    let request = g.server.requests()[0]["messages"].to_string();
    assert!(request.contains("French"), "{request}");
    // The progress stages read in French.
    let shown = g.env.mentor(&["jobs", "show", &id]).ok().to_string();
    assert!(shown.contains("terminée"), "{shown}");
}

#[test]
fn a_transcript_only_podcast_says_so_and_the_openai_engine_speaks_through_http() {
    let g = Gen::new(TestEnv::new(), "[tts]\nengine = \"none\"\n");
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "podcast", "length": "short"}));
    g.follow(&mut cursor, &id, |_| false);
    let data = g.artifact(&id)["data"].clone();
    assert!(data["audio"].is_null(), "{data:#}");
    assert!(data["transcript"]
        .as_str()
        .unwrap_or("")
        .contains("**Alex:**"));
    assert!(files_under(&g.env.dirs().artifacts()).is_empty());

    let url = g.server.base_url();
    let h = Gen::new(
        TestEnv::new(),
        &format!("[tts]\nengine = \"openai\"\nbase_url = \"{url}\"\nmodel = \"kokoro\"\n"),
    );
    let mut cursor = h.cursor();
    let id = h.submit(json!({"kind": "podcast", "length": "short"}));
    let records = h.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("completed"));
    let data = h.artifact(&id)["data"].clone();
    assert_eq!(data["audio"]["engine"], "openai");
    assert_eq!(data["audio"]["voices"], json!(["am_michael", "af_heart"]));
    let path = PathBuf::from(data["audio"]["path"].as_str().unwrap_or(""));
    assert_eq!(wav_info(&path).1, 24_000);
    // Each turn was one speech request.
    assert_eq!(g.server.speech_requests().len(), 8);
}

/// A config whose speech program is `program`, with one attempt per job.
fn speech_config(program: &str, extra: &str) -> String {
    format!("[jobs]\nmax_attempts = 1\n\n[tts]\nprogram = \"{program}\"\n{extra}\n")
}

/// Runs a podcast whose speech fails; returns the failed job and its artifact.
fn failing_speech(program_body: Option<&str>, extra: &str) -> (Gen, Value, Value) {
    let env = TestEnv::new();
    let program = match program_body {
        Some(body) => script(&env, "speech", body),
        None => "/nonexistent/espeak-ng".to_string(),
    };
    let g = Gen::new(env, &speech_config(&program, extra));
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "podcast", "length": "short"}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("error"));
    let job = g.env.job(&id);
    let art = g.artifact(&id);
    (g, job, art)
}

#[test]
fn speech_failures_fail_the_job_and_keep_the_transcript() {
    // Missing: a permanent error naming the package.
    let (g, job, art) = failing_speech(None, "");
    let error = job["error_message"].as_str().unwrap_or("");
    assert!(
        error.contains("espeak-ng") && error.contains("apt-get install"),
        "{error}"
    );
    assert_eq!(art["status"], "failed");
    assert!(
        art["data"]["transcript"]
            .as_str()
            .unwrap_or("")
            .contains("**Sam:**"),
        "{art:#}"
    );
    assert!(art["data"]["outline"]
        .as_str()
        .unwrap_or("")
        .contains("Part 1"));
    assert!(files_under(&g.env.dirs().artifacts()).is_empty());

    // Exits non-zero.
    let (g, job, art) = failing_speech(Some("echo 'voice broke' >&2\nexit 3"), "");
    let error = job["error_message"].as_str().unwrap_or("");
    assert!(error.contains("voice broke"), "{error}");
    assert!(art["data"]["transcript"].is_string());
    assert!(files_under(&g.env.dirs().artifacts()).is_empty());

    // Hangs: stopped after the timeout (transient, so the one attempt is used up).
    let started = Instant::now();
    let (g, job, art) = failing_speech(Some("exec sleep 60"), "timeout_secs = 1");
    assert!(started.elapsed() < Duration::from_secs(40));
    let error = job["error_message"].as_str().unwrap_or("");
    assert!(
        error.contains("1 s") || error.contains("1 second"),
        "{error}"
    );
    assert!(art["data"]["transcript"].is_string());
    assert!(files_under(&g.env.dirs().artifacts()).is_empty());
}

#[test]
fn a_podcast_resumes_from_its_checkpoints_after_the_daemon_is_killed() {
    let env = TestEnv::new();
    let log = env.path().join("speech.log");
    let program = script(
        &env,
        "speech",
        &format!(
            "echo run >> '{}'\nsleep 0.3\nexec espeak-ng \"$@\"",
            log.display()
        ),
    );
    let config = format!("[tts]\nprogram = \"{program}\"\nparallel = 1\n");
    let g = Gen::new(env, &config);
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "podcast", "length": "short"}));
    // Wait until three clips are recorded, then kill the daemon.
    g.follow(&mut cursor, &id, |job| {
        job.progress
            .as_ref()
            .is_some_and(|p| p.stage == "stage-speech" && p.current >= 3)
    });
    g.env.kill_daemon();
    let runs_before = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(runs_before >= 3);

    // A new daemon (started by the CLI) finishes the job.
    let shown = g.env.mentor(&["jobs", "watch", &id]);
    assert_eq!(shown.code, 0, "{}\n{}", shown.stdout, shown.stderr);
    let job = g.env.job(&id);
    assert_eq!(job["status"], "completed", "{job:#}");
    assert_eq!(job["attempts"], 2, "{job:#}");
    // No second outline or transcript request, and no clip recorded twice (the one being
    // recorded when the daemon died is the only one that may have run twice).
    assert_eq!(g.requests_named("podcast_outline"), 1);
    assert_eq!(g.requests_named("podcast_segment"), 2);
    let runs = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(runs <= 8 + 1, "{runs} speech runs for 8 clips");
    let art = g.artifact(&id);
    let path = PathBuf::from(art["data"]["audio"]["path"].as_str().unwrap_or(""));
    assert_eq!(wav_info(&path).1, 22_050);
    assert_eq!(files_under(&g.env.dirs().artifacts()), vec![path]);
    // The new daemon removed the killed one's part files before the job resumed, not while
    // the resumed job was writing its own.
    let log = g.env.log();
    let second = log.rsplit("mentord starting").next().unwrap_or("");
    let (swept, resumed) = (
        second.find("stray artifact files removed"),
        second.find("recovered jobs from a stopped worker"),
    );
    assert!(
        swept.is_some() && resumed.is_some() && swept < resumed,
        "{second}"
    );
}

#[test]
fn a_quiz_is_written_one_question_a_request_and_its_bar_moves_at_each() {
    let g = Gen::new(TestEnv::new(), "");
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "quiz", "questions": 3}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("completed"));
    assert_eq!(
        stages(&records),
        [
            ("stage-quiz-question".to_string(), 1, 3),
            ("stage-quiz-question".to_string(), 2, 3),
            ("stage-quiz-question".to_string(), 3, 3),
        ]
    );
    assert_moves_forward(&records);
    let percents: Vec<u8> = records
        .iter()
        .filter_map(|j| j.progress.as_ref().map(|p| p.percentage))
        .collect();
    for step in [33, 66, 99, 100] {
        assert!(percents.contains(&step), "{step} % missing: {percents:?}");
    }
    // One request per question, each bounded, each told the questions already written.
    let asked = g.requests_of("quiz_question");
    assert_eq!(asked.len(), 3);
    for (i, r) in asked.iter().enumerate() {
        assert_eq!(mentor_tests::answers::question_number(r), i as u64 + 1);
        assert!(r["max_tokens"].as_u64().is_some_and(|n| n <= 2048), "{r}");
        let system = r["messages"][0]["content"].as_str().unwrap_or("");
        for earlier in 1..=i {
            assert!(
                system.contains(&format!("Question {earlier}: which statement is true?")),
                "question {} is not told question {earlier}: {system}",
                i + 1
            );
        }
    }
    let quiz = g.artifact(&id)["data"].clone();
    assert_eq!(quiz["title"], "Quiz: cells");
    // `mentor jobs watch` shows a line for every step.
    let watched = g.env.mentor(&[
        "generate",
        "quiz",
        "--notebook",
        "Biology",
        "--questions",
        "3",
        "--wait",
    ]);
    let out = watched.ok();
    for step in ["33% · Writing question 2/3", "66% · Writing question 3/3"] {
        assert!(out.contains(step), "{step} missing:\n{out}");
    }
    let texts: Vec<&str> = quiz["questions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["question"].as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "Question 1: which statement is true?",
            "Question 2: which statement is true?",
            "Question 3: which statement is true?"
        ]
    );
}

#[test]
fn a_quiz_killed_mid_way_resumes_from_the_questions_already_written() {
    let g = Gen::new(TestEnv::new(), "");
    // Question 3 never comes the first time: the daemon is killed while it is asked.
    let stalled = Arc::new(AtomicUsize::new(0));
    let seen = stalled.clone();
    g.server.set_responder(move |r| {
        if schema_name(r) == "quiz_question"
            && mentor_tests::answers::question_number(r) == 3
            && seen.fetch_add(1, Ordering::SeqCst) == 0
        {
            return Reply::sse(vec![mentor_tests::openai::Frame::Stall]);
        }
        good_answer(r)
    });
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "quiz", "questions": 5}));
    g.follow(&mut cursor, &id, |job| {
        job.progress
            .as_ref()
            .is_some_and(|p| p.stage == "stage-quiz-question" && p.current == 3)
    });
    assert!(
        g.server.wait_requests(3, T),
        "question 3 was asked before the kill"
    );
    let before = g.env.job(&id)["progress"]["percentage"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(before, 40, "two of five written");
    g.env.kill_daemon();

    // A new daemon (started by the CLI) finishes the quiz from question 3.
    let shown = g.env.mentor(&["jobs", "watch", &id]);
    assert_eq!(shown.code, 0, "{}\n{}", shown.stdout, shown.stderr);
    let job = g.env.job(&id);
    assert_eq!(job["status"], "completed", "{job:#}");
    assert_eq!(job["attempts"], 2, "{job:#}");
    let asked = g.requests_of("quiz_question");
    let numbers: Vec<u64> = asked
        .iter()
        .map(mentor_tests::answers::question_number)
        .collect();
    // Questions 1 and 2 were asked once; 3 twice (the killed request, then its answer).
    assert_eq!(numbers, [1, 2, 3, 3, 4, 5], "{numbers:?}");
    let resumed = asked.get(3).cloned().unwrap_or_default();
    let system = resumed["messages"][0]["content"].as_str().unwrap_or("");
    assert!(
        system.contains("1. Question 1: which statement is true?")
            && system.contains("2. Question 2: which statement is true?"),
        "the resumed request is told the questions already written: {system}"
    );
    let quiz = g.artifact(&id)["data"].clone();
    let texts: Vec<String> = quiz["questions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["question"].as_str().map(str::to_string))
        .collect();
    let expected: Vec<String> = (1..=5)
        .map(|n| format!("Question {n}: which statement is true?"))
        .collect();
    assert_eq!(texts, expected, "each question once, in order");
}

/// Microseconds since the epoch, as the scripted server's timelines count them.
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// A quiz of 3 questions on a server that answers one request at a time, whose answer to
/// question 2 takes `slow` the first time; a chat message sent while it is being written.
/// Returns the home, the job's records, the time the message was sent, and the timelines.
fn chat_during_a_slow_step(
    preempt_after_ms: u64,
    slow: Duration,
) -> (
    Gen,
    Vec<Job>,
    i64,
    Vec<(Value, mentor_tests::openai::Exchange)>,
) {
    let g = Gen::new(
        TestEnv::new(),
        &format!("max_concurrent = 1\npreempt_after_ms = {preempt_after_ms}\n"),
    );
    g.server.set_slots(Some(1));
    let slowed = Arc::new(AtomicUsize::new(0));
    let seen = slowed.clone();
    g.server.set_responder(move |r| {
        if schema_name(r).is_empty() {
            return Reply::text("Rain is water falling from clouds.");
        }
        if mentor_tests::answers::question_number(r) == 2
            && seen.fetch_add(1, Ordering::SeqCst) == 0
        {
            let text = json!({"question": "Slow: what turns sugar into ATP?",
                "options": ["Mitochondria", "The membrane", "The nucleus", "Ribosomes"],
                "answer": 0, "explanation": "Mitochondria turn sugar into ATP.", "source": 1})
            .to_string();
            return Reply::sse(vec![
                mentor_tests::openai::Frame::Delay(slow),
                mentor_tests::openai::Frame::Raw(format!(
                    "data: {}\n\n",
                    json!({"choices": [{"index": 0, "delta": {"content": text}}]})
                )),
                mentor_tests::openai::Frame::Data(
                    json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                        .to_string(),
                ),
                mentor_tests::openai::Frame::Data("[DONE]".into()),
            ]);
        }
        good_answer(r)
    });
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "quiz", "questions": 3}));
    wait_until("question 2 to be asked", T, || {
        g.server
            .requests()
            .iter()
            .any(|r| mentor_tests::answers::question_number(r) == 2)
    });
    std::thread::sleep(Duration::from_millis(100));
    let sent_us = now_us();
    g.rt.block_on(async {
        answer(
            g.client
                .chat_send(ctx(T), "Biology".into(), "What is rain?".into())
                .await,
        )
    })
    .expect("the message is taken");
    let records = g.follow(&mut cursor, &id, |_| false);
    wait_until("the chat's answer", T, || {
        g.server
            .exchanges()
            .iter()
            .zip(g.server.requests())
            .any(|(e, r)| schema_name(&r).is_empty() && e.finished_us.is_some())
    });
    let timelines = g
        .server
        .requests()
        .into_iter()
        .zip(g.server.exchanges())
        .collect();
    (g, records, sent_us, timelines)
}

#[test]
fn a_chat_preempts_a_job_step_on_a_one_slot_server_and_the_step_goes_back_to_the_queue() {
    let (g, records, sent_us, timelines) = chat_during_a_slow_step(300, Duration::from_secs(30));
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("completed"));
    let id = records[0].id.to_string();
    // The job's request was cancelled (its client left) once the chat had waited 300 ms,
    // and the chat was answered right after.
    let (_, slow) = timelines
        .iter()
        .find(|(r, _)| mentor_tests::answers::question_number(r) == 2)
        .expect("question 2's first request");
    let left_ms = (slow.left_us.expect("the job's request was cancelled") - sent_us) / 1000;
    assert!(
        (300..1_500).contains(&left_ms),
        "the job's request made way {left_ms} ms after the chat came"
    );
    let (_, chat) = timelines
        .iter()
        .find(|(r, _)| schema_name(r).is_empty())
        .expect("the chat's request");
    let served_ms = (chat.served_us.expect("served") - sent_us) / 1000;
    assert!(
        served_ms < 300 + 1_000,
        "the chat was served {served_ms} ms after it was sent"
    );
    // The step went back to the queue (pending, then processing again), kept what was done
    // (question 1 was asked once) and did not count as an attempt.
    let statuses: Vec<&str> = records.iter().map(|j| j.status.as_str()).collect();
    let requeued = statuses.windows(2).any(|w| w == ["processing", "pending"]);
    assert!(requeued, "{statuses:?}");
    assert_eq!(g.env.job(&id)["attempts"], 1);
    assert!(records.iter().all(|j| j.attempts <= 1), "{records:#?}");
    let numbers: Vec<u64> = timelines
        .iter()
        .filter(|(r, _)| schema_name(r) == "quiz_question")
        .map(|(r, _)| mentor_tests::answers::question_number(r))
        .collect();
    assert_eq!(numbers, [1, 2, 2, 3]);
    assert_moves_forward(&records);
    let quiz = g.artifact(&id)["data"].clone();
    assert_eq!(quiz["questions"].as_array().map(Vec::len), Some(3));
}

#[test]
fn with_preemption_off_the_chat_waits_for_the_jobs_step() {
    let slow = Duration::from_millis(1_500);
    let (g, records, sent_us, timelines) = chat_during_a_slow_step(0, slow);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("completed"));
    let (_, step) = timelines
        .iter()
        .find(|(r, _)| mentor_tests::answers::question_number(r) == 2)
        .expect("question 2's request");
    assert_eq!(step.left_us, None, "the job's request ran to its end");
    let (_, chat) = timelines
        .iter()
        .find(|(r, _)| schema_name(r).is_empty())
        .expect("the chat's request");
    assert!(
        chat.arrived_us >= step.finished_us.expect("the step finished"),
        "the chat went after the step"
    );
    assert!((chat.arrived_us - sent_us) / 1000 >= 1_000);
    assert_eq!(g.requests_named("quiz_question"), 3);
}

#[test]
fn cancelling_a_podcast_stops_it_within_a_second_and_kills_its_speech() {
    let env = TestEnv::new();
    let pids = env.path().join("pids");
    // The first two clips are real; from the third on, the speech program hangs.
    let program = script(
        &env,
        "speech",
        &format!(
            "n=$(cat '{p}' 2>/dev/null | wc -l)\necho $$ >> '{p}'\n\
             if [ \"$n\" -ge 2 ]; then exec sleep 60; fi\nexec espeak-ng \"$@\"",
            p = pids.display()
        ),
    );
    let g = Gen::new(env, &speech_config(&program, "parallel = 2"));
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "podcast", "length": "short"}));
    g.follow(&mut cursor, &id, |job| {
        job.progress
            .as_ref()
            .is_some_and(|p| p.stage == "stage-speech" && p.current >= 2)
    });
    wait_until(
        "the hanging speech to start",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&pids)
                .unwrap_or_default()
                .lines()
                .count()
                >= 3
        },
    );
    let asked = Instant::now();
    g.rt.block_on(async { answer(g.client.job_cancel(ctx(T), id.clone()).await) })
        .expect("cancel");
    let records = g.follow(&mut cursor, &id, |_| false);
    let took = asked.elapsed();
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("cancelled"));
    assert!(took < Duration::from_secs(1), "cancelled after {took:?}");
    assert_eq!(g.artifact(&id)["status"], "cancelled");
    // Every speech process is gone, and so are the partial files.
    let alive = |pid: &str| Path::new(&format!("/proc/{pid}")).exists();
    wait_until(
        "the speech processes to die",
        Duration::from_secs(2),
        || {
            std::fs::read_to_string(&pids)
                .unwrap_or_default()
                .lines()
                .all(|pid| !alive(pid.trim()))
        },
    );
    wait_until("the partial files to go", Duration::from_secs(5), || {
        files_under(&g.env.dirs().artifacts()).is_empty()
    });
}

#[test]
fn invalid_model_output_gets_one_repair_then_a_clear_failure() {
    // Broken JSON first, then a good answer: the repair works.
    let g = Gen::new(TestEnv::new(), "[jobs]\nmax_attempts = 1\n");
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    g.server.set_responder(move |r| {
        if schema_name(r) == "quiz_question" && seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::text("{\"question\": \"What?\", \"options\": [}")
        } else {
            good_answer(r)
        }
    });
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "quiz", "questions": 3, "difficulty": "easy"}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("completed"));
    // The first question, its repair, then one request for each of the two others.
    assert_eq!(g.requests_named("quiz_question"), 4);
    let repair = g.server.requests()[1]["messages"].to_string();
    assert!(repair.contains("not valid JSON"), "{repair}");
    let quiz = g.artifact(&id)["data"].clone();
    assert_eq!(quiz["questions"].as_array().map(Vec::len), Some(3));
    assert_eq!(quiz["questions"][0]["answer"], 1);
    assert_eq!(quiz["questions"][0]["source"]["title"], "Cells");
    assert_eq!(quiz["difficulty"], "easy");

    // Two correct answers, twice: the job fails and says why.
    g.server.set_responder(|r| {
        if schema_name(r) == "quiz_question" {
            json_reply(json!({
                "question": "Which?", "options": ["Yes", "yes", "No", "Maybe"],
                "answer": "Yes", "explanation": "x", "source": 1}))
        } else {
            good_answer(r)
        }
    });
    let id = g.submit(json!({"kind": "quiz", "questions": 1}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("error"));
    let error = g.env.job(&id)["error_message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        error.contains("exactly one option must be correct") && error.contains("correct itself"),
        "{error}"
    );
    assert_eq!(g.artifact(&id)["status"], "failed");

    // A wrong schema for the outline, and an empty transcript: failed, the outline kept.
    g.server.set_responder(|r| match schema_name(r).as_str() {
        "podcast_segment" => json_reply(json!({"turns": []})),
        _ => good_answer(r),
    });
    let id = g.submit(json!({"kind": "podcast", "length": "short"}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("error"));
    let error = g.env.job(&id)["error_message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(error.contains("segment 1 is empty"), "{error}");
    let art = g.artifact(&id);
    assert!(art["data"]["outline"]
        .as_str()
        .unwrap_or("")
        .contains("Part 2"));
    assert!(art["data"]["transcript"].is_null());

    g.server.set_responder(|r| match schema_name(r).as_str() {
        "podcast_outline" => json_reply(json!({"name": "not an outline"})),
        _ => good_answer(r),
    });
    let id = g.submit(json!({"kind": "podcast"}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("error"));
    let error = g.env.job(&id)["error_message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(error.contains("does not match the schema"), "{error}");
    assert!(files_under(&g.env.dirs().artifacts()).is_empty());
}

#[test]
fn a_job_waits_as_long_as_the_servers_retry_after_before_trying_again() {
    // The backoff alone would retry after 50 ms; the server asks for 2 s.
    let g = Gen::new(
        TestEnv::new(),
        "[jobs]\nretry_base_ms = 50\nretry_max_ms = 100\nmax_attempts = 3\n",
    );
    let asked = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let seen = asked.clone();
    g.server.set_responder(move |r| {
        if schema_name(r) != "quiz_question" {
            return good_answer(r);
        }
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.push(Instant::now());
        if seen.len() == 1 {
            Reply::status(429, r#"{"error":{"message":"Rate limit reached"}}"#)
                .with_header("Retry-After", "2")
        } else {
            good_answer(r)
        }
    });
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "quiz", "questions": 3}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("completed"));
    assert_eq!(g.env.job(&id)["attempts"], 2);
    let asked = asked.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(
        asked.len(),
        4,
        "one refusal, then an answer for each of the 3 questions"
    );
    let waited = asked[1] - asked[0];
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
    // Between the two attempts the job was pending, saying why.
    let waiting = records
        .iter()
        .find(|j| j.status.as_str() == "pending" && j.attempts == 1)
        .unwrap_or_else(|| panic!("no pending record between the attempts: {records:#?}"));
    let said = waiting.error_message.clone().unwrap_or_default();
    assert!(said.contains("asks to wait 2 s"), "{said}");
}

#[test]
fn a_study_guide_has_its_sections_and_cites_the_sources() {
    let g = Gen::new(TestEnv::new(), "");
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "study_guide"}));
    let records = g.follow(&mut cursor, &id, |_| false);
    assert_eq!(records.last().map(|j| j.status.as_str()), Some("completed"));
    // A request per section, the status line moving at each.
    assert_eq!(
        stages(&records),
        [
            ("stage-guide-overview".to_string(), 1, 4),
            ("stage-guide-concepts".to_string(), 2, 4),
            ("stage-guide-glossary".to_string(), 3, 4),
            ("stage-guide-questions".to_string(), 4, 4),
        ]
    );
    assert_moves_forward(&records);
    for name in [
        "study_guide_overview",
        "study_guide_key_concepts",
        "study_guide_glossary",
        "study_guide_questions",
    ] {
        assert_eq!(g.requests_named(name), 1, "{name}");
    }
    // Each section's request is told what the guide says so far.
    let last = g.server.requests().last().cloned().unwrap_or_default();
    let told = last["messages"][0]["content"].as_str().unwrap_or("");
    assert!(
        told.contains("Key concepts: Mitochondria")
            && told.contains("Glossary terms: Mitochondria; energy"),
        "{told}"
    );
    let md = g.artifact(&id)["data"]["markdown"]
        .as_str()
        .unwrap_or("")
        .to_string();
    for part in [
        "# Biology: Mitochondria",
        "## Key concepts",
        "## Glossary",
        "- **membrane**:",
        "## Questions to think about",
        "## Sources",
        "- Cells (src:",
    ] {
        assert!(md.contains(part), "{part} missing:\n{md}");
    }
}

/// A quiz in a notebook whose sources hold more than a small window, against a server with
/// that window: every request the server answers fits it.
fn quiz_in_a_small_window(reported: bool) -> (Gen, Vec<Job>) {
    let g = Gen::new(TestEnv::new(), "");
    let manual = mentor_tests::fixture("documents/users-and-groups.html");
    g.env
        .mentor(&["source", "add", "Biology", manual.to_str().unwrap_or("?")])
        .ok();
    g.server.set_window(Some((2_500, reported)));
    let mut cursor = g.cursor();
    // The whole notebook: passages from every source, more than the window holds.
    let id = g.submit_on("", json!({"kind": "quiz", "questions": 2}));
    let records = g.follow(&mut cursor, &id, |_| false);
    (g, records)
}

#[test]
fn a_job_fits_the_window_the_server_reports() {
    let (g, records) = quiz_in_a_small_window(true);
    let last = records.last().expect("records");
    assert_eq!(last.status.as_str(), "completed", "{last:#?}");
    let asked = g.requests_of("quiz_question");
    assert_eq!(asked.len(), 2, "no request was refused");
    for r in &asked {
        let tokens = mentor_tests::openai::prompt_tokens(r);
        assert!(tokens <= 2_500, "{tokens} tokens");
        // The answer's room is within the window too.
        let room = r["max_tokens"].as_u64().unwrap_or(u64::MAX);
        assert!(room <= 2_500, "max_tokens {room}");
        // Passages were still shown: the window shrank them, it did not drop them.
        let system = r["messages"][0]["content"].as_str().unwrap_or("");
        assert!(system.contains("<<<PASSAGE 1 "), "{system}");
    }
}

#[test]
fn a_job_whose_prompt_overflows_an_unreported_window_shrinks_and_retries_once() {
    let (g, records) = quiz_in_a_small_window(false);
    let last = records.last().expect("records");
    assert_eq!(last.status.as_str(), "completed", "{last:#?}");
    assert_eq!(last.attempts, 1, "the refit is not an attempt: {last:#?}");
    let exchanges = g.server.exchanges();
    let requests = g.server.requests();
    let refused: Vec<u32> = requests
        .iter()
        .map(mentor_tests::openai::prompt_tokens)
        .filter(|&t| t > 2_500)
        .collect();
    assert_eq!(refused.len(), 1, "one overflow, then it fits: {refused:?}");
    assert_eq!(exchanges.len(), requests.len());
    // The questions written after it came from shorter prompts.
    let quiz = g.artifact(&last.id.to_string())["data"].clone();
    assert_eq!(quiz["questions"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_window_too_small_for_any_prompt_fails_the_job_with_what_to_do() {
    let g = Gen::new(TestEnv::new(), "[jobs]\nmax_attempts = 1\n");
    g.server.set_window(Some((120, false)));
    let mut cursor = g.cursor();
    let id = g.submit(json!({"kind": "quiz", "questions": 2}));
    let records = g.follow(&mut cursor, &id, |_| false);
    let last = records.last().expect("records");
    assert_eq!(last.status.as_str(), "error", "{last:#?}");
    let error = g.env.job(&id)["error_message"].to_string();
    assert!(
        error.contains("context window") && error.contains("llama-server -c"),
        "{error}"
    );
    // Once shrunk, then failed: no loop of retries.
    assert!(
        g.server.request_count() <= 3,
        "{}",
        g.server.request_count()
    );
}
