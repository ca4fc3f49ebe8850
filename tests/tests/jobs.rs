//! The job queue end to end: the real `mentord` (with its scripted `test` job kind) and the
//! real `mentor` CLI — submit, list, show, watch by push, cancel, retry, and survive SIGKILL.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mentor_tests::TestEnv;
use serde_json::Value;

fn env_with(config: &str) -> TestEnv {
    let env = TestEnv::new().with_test_jobs();
    env.write_config(config);
    env.mentor(&["notebook", "create", "Biology"]).ok();
    env
}

/// A running `mentor jobs watch …` whose stdout lines arrive on a channel.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watcher {
    fn start(env: &TestEnv, args: &[&str]) -> Watcher {
        let mut child = env
            .command("mentor")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mentor");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher { child, lines }
    }

    fn next_line(&self, within: Duration) -> String {
        self.lines
            .recv_timeout(within)
            .expect("the watcher printed nothing")
    }

    /// Waits for the end; returns the exit code, the remaining stdout lines and stderr.
    fn finish(mut self, within: Duration) -> (i32, Vec<String>, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the watcher did not end within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            lines.push(line);
        }
        (status.code().unwrap_or(-1), lines, stderr)
    }
}

fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn progress(job: &Value) -> u64 {
    job["progress"]["current"].as_u64().unwrap_or(0)
}

#[test]
fn jobs_are_submitted_listed_shown_and_followed() {
    let env = env_with("");
    let run = env.mentor(&[
        "generate",
        "test",
        "--notebook",
        "biology",
        "--topic",
        "light reactions",
        "--script",
        r#"{"steps":3,"step_ms":20,"artifact":true}"#,
        "--wait",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("Test job queued as job:"), "{run:#?}");
    let jobs = env.mentor(&["jobs", "list", "--json"]).json();
    let jobs = jobs.as_array().expect("array");
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job["status"], "completed");
    assert_eq!(job["topic"], "light reactions");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["progress"]["percentage"], 100);
    assert!(job["artifact_id"]
        .as_str()
        .is_some_and(|a| a.starts_with("art:")));
    let id = job["id"].as_str().expect("id");

    // Ids with or without the prefix, in any case.
    let bare = id.trim_start_matches("job:").to_lowercase();
    assert_eq!(env.job(&bare)["id"], id);
    let show = env.mentor(&["jobs", "show", id]).ok().to_string();
    assert!(
        show.contains("completed") && show.contains("light reactions"),
        "{show}"
    );

    // Filters.
    let count = |args: &[&str]| {
        let mut all = vec!["jobs", "list", "--json"];
        all.extend_from_slice(args);
        env.mentor(&all).json().as_array().map_or(0, Vec::len)
    };
    assert_eq!(count(&["--status", "completed"]), 1);
    assert_eq!(count(&["--status", "pending"]), 0);
    assert_eq!(count(&["--kind", "test"]), 1);
    assert_eq!(count(&["--kind", "podcast"]), 0);
    assert_eq!(count(&["--notebook", "Biology"]), 1);
    env.mentor(&["notebook", "create", "Chemistry"]).ok();
    assert_eq!(count(&["--notebook", "Chemistry"]), 0);

    // A job that is already over: `watch` prints it and exits with its outcome.
    let run = env.mentor(&["jobs", "watch", id]);
    assert_eq!(run.code, 0, "{run:#?}");

    // Bad input.
    let unknown = env.mentor(&["jobs", "show", "job:01JB0000000000000000000000"]);
    assert!(
        unknown.fails().contains("No job has the id"),
        "{unknown:#?}"
    );
    let garbage = env.mentor(&["jobs", "cancel", "not-an-id"]);
    assert!(
        garbage.fails().contains("No job has the id"),
        "{garbage:#?}"
    );
    assert_eq!(env.mentor(&["jobs", "list", "--status", "done"]).code, 2);
    assert_eq!(env.mentor(&["jobs", "list", "--kind", "essay"]).code, 2);
    let missing = env.mentor(&["jobs", "list", "--notebook", "Physics"]);
    assert!(missing.fails().contains("Physics"), "{missing:#?}");
    let missing = env.mentor(&["generate", "test", "-n", "Physics", "--script", "{}"]);
    assert!(missing.fails().contains("Physics"), "{missing:#?}");
    let long_topic = "x".repeat(2001);
    let run = env.mentor(&[
        "generate",
        "test",
        "-n",
        "Biology",
        "--topic",
        &long_topic,
        "--script",
        "{}",
    ]);
    assert!(run.fails().contains("too long"), "{run:#?}");
    assert_eq!(count(&[]), 1, "nothing was queued by the refused requests");
}

#[test]
fn a_kind_without_a_handler_is_refused_and_queues_nothing() {
    // A normal daemon has no scripted `test` kind.
    let env = TestEnv::new();
    env.mentor(&["notebook", "create", "Biology"]).ok();
    let run = env.mentor(&["generate", "test", "-n", "Biology", "--script", "{}"]);
    assert!(run.fails().contains("cannot make test jobs"), "{run:#?}");
    assert_eq!(
        env.mentor(&["jobs", "list", "--json"]).json(),
        serde_json::json!([])
    );
    // Usage errors: exit 2, nothing sent.
    let run = env.mentor(&["generate", "quiz", "-n", "Biology", "--questions", "0"]);
    assert_eq!(run.code, 2, "{run:#?}");
    let run = env.mentor(&["generate", "quiz", "-n", "Biology", "--questions", "51"]);
    assert_eq!(run.code, 2, "{run:#?}");
    let run = env.mentor(&["generate", "test", "-n", "Biology", "--script", "{nope"]);
    assert_eq!(run.code, 2, "{run:#?}");
    // In French.
    let fr = TestEnv::new().french();
    fr.mentor(&["notebook", "create", "Biologie"]).ok();
    let run = fr.mentor(&["generate", "test", "-n", "Biologie", "--script", "{}"]);
    assert!(run.fails().contains("ne sait pas encore"), "{run:#?}");
}

#[test]
fn watch_exits_with_the_outcome_of_the_job() {
    let env = env_with("");
    let failing = env.submit_test_job("Biology", r#"{"steps":1,"fail":"permanent"}"#);
    let run = env.mentor(&["jobs", "watch", &failing]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("scripted failure 1"), "{run:#?}");
    let job = env.job(&failing);
    assert_eq!(job["status"], "error");
    assert_eq!(job["failure"], "permanent");
    assert_eq!(job["attempts"], 1);

    // JSON Lines: every line a job record, the last one terminal.
    let ok = env.submit_test_job("Biology", r#"{"steps":4,"step_ms":30}"#);
    let run = env.mentor(&["jobs", "watch", &ok, "--json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let records: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(records.last().expect("lines")["status"], "completed");
    assert!(records.iter().all(|r| r["id"] == ok.as_str()));
}

#[test]
fn cancel_works_on_pending_and_running_jobs() {
    let env = env_with("[jobs]\nconcurrency = 1\n");
    let running = env.submit_test_job("Biology", r#"{"steps":200,"step_ms":50,"artifact":true}"#);
    let pending = env.submit_test_job("Biology", r#"{"steps":1,"artifact":true}"#);
    wait_until("the first job to run", Duration::from_secs(10), || {
        progress(&env.job(&running)) >= 1
    });
    let run = env.mentor(&["jobs", "cancel", &pending]);
    assert!(run.ok().contains("Cancelled job"), "{run:#?}");
    assert_eq!(env.job(&pending)["status"], "cancelled");

    let watcher = Watcher::start(&env, &["jobs", "watch", &running, "--json"]);
    watcher.next_line(Duration::from_secs(10));
    let asked = Instant::now();
    let run = env.mentor(&["jobs", "cancel", &running]);
    assert!(run.ok().contains("it stops within a second"), "{run:#?}");
    let (code, _, _) = watcher.finish(Duration::from_secs(5));
    let took = asked.elapsed();
    assert_eq!(code, 1);
    assert!(took < Duration::from_millis(1500), "cancel took {took:?}");
    assert_eq!(env.job(&running)["status"], "cancelled");
    // An ended job cannot be cancelled again.
    let again = env.mentor(&["jobs", "cancel", &running]);
    assert!(
        again.fails().contains("only a pending or running job"),
        "{again:#?}"
    );
}

#[test]
fn a_failed_job_is_retried_from_its_checkpoints() {
    let env = env_with("[jobs]\nretry_base_ms = 50\nretry_max_ms = 100\nmax_attempts = 2\n");
    // Fails three times: both attempts are spent (with a backoff between them)…
    let id = env.submit_test_job(
        "Biology",
        r#"{"steps":3,"step_ms":10,"fail":"transient","fail_times":3}"#,
    );
    let run = env.mentor(&["jobs", "watch", &id]);
    assert_eq!(run.code, 1, "{run:#?}");
    let job = env.job(&id);
    assert_eq!(job["status"], "error");
    assert_eq!(job["failure"], "exhausted");
    assert_eq!(job["attempts"], 2);
    assert!(
        job["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("Gave up after 2 attempts")),
        "{job}"
    );
    // …then a retry from the CLI gets fresh attempts and skips the finished steps.
    let run = env.mentor(&["jobs", "retry", &id]);
    assert!(run.ok().contains("queued again"), "{run:#?}");
    let run = env.mentor(&["jobs", "watch", &id]);
    assert_eq!(run.code, 0, "{run:#?}");
    let job = env.job(&id);
    assert_eq!(job["status"], "completed");
    assert_eq!(job["result"]["skipped"], 3, "{job}");
    assert_eq!(job["result"]["ran"], 0, "{job}");
    let again = env.mentor(&["jobs", "retry", &id]);
    assert!(
        again.fails().contains("only a failed or cancelled job"),
        "{again:#?}"
    );
}

#[test]
fn an_attempt_past_the_timeout_fails_as_timed_out() {
    let env = env_with("[jobs]\ntimeout_secs = 1\nmax_attempts = 1\n");
    let id = env.submit_test_job("Biology", r#"{"steps":1,"step_ms":60000}"#);
    let started = Instant::now();
    let run = env.mentor(&["jobs", "watch", &id]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let job = env.job(&id);
    assert_eq!(job["failure"], "timed_out");
    assert!(job["error_message"]
        .as_str()
        .is_some_and(|m| m.contains("Timed out")));
}

#[test]
fn two_watchers_see_every_event_in_the_same_order() {
    let env = env_with("[jobs]\nconcurrency = 1\n");
    // A blocker holds the only worker until both watchers are attached.
    let blocker = env.submit_test_job("Biology", r#"{"steps":1000,"step_ms":20}"#);
    let job = env.submit_test_job("Biology", r#"{"steps":8,"step_ms":40}"#);
    let a = Watcher::start(&env, &["jobs", "watch", &job, "--json"]);
    let b = Watcher::start(&env, &["jobs", "watch", &job, "--json"]);
    let first_a = a.next_line(Duration::from_secs(10));
    let first_b = b.next_line(Duration::from_secs(10));
    env.mentor(&["jobs", "cancel", &blocker]).ok();
    let (code_a, mut lines_a, _) = a.finish(Duration::from_secs(20));
    let (code_b, mut lines_b, _) = b.finish(Duration::from_secs(20));
    assert_eq!((code_a, code_b), (0, 0));
    lines_a.insert(0, first_a);
    lines_b.insert(0, first_b);
    let parse = |lines: &[String]| -> Vec<(String, u64, u64)> {
        lines
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("JSON line");
                (
                    v["status"].as_str().unwrap_or_default().to_string(),
                    progress(&v),
                    v["attempts"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let seen_a = parse(&lines_a);
    let seen_b = parse(&lines_b);
    assert_eq!(seen_a, seen_b);
    // Every step, in order: pending, claimed, 8 progress changes, completed.
    let steps: Vec<u64> = seen_a
        .iter()
        .filter(|(s, _, _)| s == "processing")
        .map(|(_, p, _)| *p)
        .collect();
    assert_eq!(steps, (0..=8).collect::<Vec<_>>(), "{seen_a:?}");
    assert_eq!(seen_a.first().map(|s| s.0.as_str()), Some("pending"));
    assert_eq!(seen_a.last().map(|s| s.0.as_str()), Some("completed"));
}

#[test]
fn a_watcher_resumes_after_the_daemon_restarts() {
    let env = env_with("");
    let id = env.submit_test_job("Biology", r#"{"steps":25,"step_ms":80}"#);
    let watcher = Watcher::start(&env, &["jobs", "watch", &id, "--json"]);
    wait_until("some progress", Duration::from_secs(10), || {
        progress(&env.job(&id)) >= 3
    });
    // A graceful stop gives the job back without spending its attempt…
    env.mentor(&["daemon", "stop"]).ok();
    env.mentor(&["daemon", "start"]).ok();
    let (code, lines, stderr) = watcher.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Reconnected"), "{stderr}");
    let last: Value = serde_json::from_str(lines.last().expect("lines")).expect("JSON");
    assert_eq!(last["status"], "completed");
    // …and the resumed attempt skipped the steps already done.
    let job = env.job(&id);
    assert_eq!(job["attempts"], 1, "{job}");
    assert!(job["result"]["skipped"].as_u64().unwrap_or(0) >= 3, "{job}");
    assert_eq!(
        job["result"]["skipped"].as_u64().unwrap_or(0) + job["result"]["ran"].as_u64().unwrap_or(0),
        25
    );
}

#[test]
fn sigkill_while_jobs_run_loses_nothing() {
    const JOBS: usize = 12;
    const STEPS: u64 = 6;
    const KILLS: usize = 3;
    let env = env_with("[jobs]\nconcurrency = 2\nmax_attempts = 10\n");
    let mut ids = Vec::new();
    for _ in 0..JOBS {
        ids.push(env.submit_test_job("Biology", r#"{"steps":6,"step_ms":40,"artifact":true}"#));
    }
    for _ in 0..KILLS {
        // Kill while some job is midway, so there is work to resume.
        wait_until("a job midway", Duration::from_secs(20), || {
            env.mentor(&["jobs", "list", "--status", "processing", "--json"])
                .json()
                .as_array()
                .is_some_and(|jobs| jobs.iter().any(|j| progress(j) >= 2))
        });
        env.kill_daemon();
        env.mentor(&["daemon", "start"]).ok();
    }
    for id in &ids {
        let run = env.mentor(&["jobs", "watch", id]);
        assert_eq!(run.code, 0, "{id}: {run:#?}");
    }
    env.mentor(&["daemon", "stop"]).ok();

    // Every job in exactly one terminal state: completed.
    let db = rusqlite::Connection::open(env.dirs().database()).expect("open db");
    let statuses: Vec<(String, i64)> = db
        .prepare("SELECT status, attempts FROM jobs")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .expect("jobs");
    assert_eq!(statuses.len(), JOBS);
    assert!(
        statuses.iter().all(|(s, _)| s == "completed"),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|(_, a)| *a > 1),
        "no job was interrupted: {statuses:?}"
    );
    // One artifact per job, ready; none orphaned or duplicated.
    let (artifacts, distinct, ready): (i64, i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COUNT(DISTINCT job_id), SUM(status = 'ready') FROM artifacts",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("artifacts");
    assert_eq!(
        (artifacts, distinct, ready),
        (JOBS as i64, JOBS as i64, JOBS as i64)
    );
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(integrity, "ok");

    // Checkpoints were honoured: each step ran once, except one whose checkpoint a kill
    // beat by a hair (at most one per job running at each kill).
    let log = std::fs::read_to_string(env.dirs().data.join("test-steps.log")).expect("step log");
    let mut runs: HashMap<(String, String), usize> = HashMap::new();
    for line in log.lines() {
        let mut parts = line.split(' ');
        let (Some(job), Some(step)) = (parts.next(), parts.next()) else {
            continue;
        };
        *runs.entry((job.to_string(), step.to_string())).or_default() += 1;
    }
    assert_eq!(runs.len(), JOBS * STEPS as usize, "every step ran");
    let repeats: usize = runs.values().map(|n| n - 1).sum();
    assert!(repeats <= KILLS * 2, "{repeats} steps ran again: {runs:?}");
    // And the resumed jobs say so.
    let resumed = ids
        .iter()
        .filter(|id| env.job(id)["result"]["skipped"].as_u64().unwrap_or(0) > 0)
        .count();
    assert!(resumed >= 1, "no job resumed from a checkpoint");
}

#[test]
fn deleting_a_notebook_ends_its_jobs_for_their_watchers() {
    let env = env_with("[jobs]\nconcurrency = 1\n");
    let running = env.submit_test_job("Biology", r#"{"steps":500,"step_ms":20,"artifact":true}"#);
    let pending = env.submit_test_job("Biology", r#"{"steps":1}"#);
    wait_until("the job to run", Duration::from_secs(10), || {
        progress(&env.job(&running)) >= 1
    });
    let watch_running = Watcher::start(&env, &["jobs", "watch", &running, "--json"]);
    let watch_pending = Watcher::start(&env, &["jobs", "watch", &pending, "--json"]);
    watch_running.next_line(Duration::from_secs(10));
    watch_pending.next_line(Duration::from_secs(10));
    env.mentor(&["notebook", "delete", "Biology", "--yes"]).ok();
    for watcher in [watch_running, watch_pending] {
        let (code, lines, stderr) = watcher.finish(Duration::from_secs(5));
        assert_eq!(code, 1, "{stderr}");
        let last: Value = serde_json::from_str(lines.last().expect("a final line")).expect("JSON");
        assert_eq!(last["status"], "cancelled");
    }
    assert_eq!(
        env.mentor(&["jobs", "list", "--json"]).json(),
        serde_json::json!([])
    );
    // The daemon goes on serving.
    env.mentor(&["notebook", "create", "Chemistry"]).ok();
    let id = env.submit_test_job("Chemistry", r#"{"steps":1}"#);
    assert_eq!(env.mentor(&["jobs", "watch", &id]).code, 0);
}

/// What a status line asks for over the socket: only job events, lingering, progress
/// coalesced. Every status change still comes, in order, with the last progress of each
/// answer; a conversation-only poll hears nothing of the job.
#[test]
fn a_status_line_poll_gets_every_status_change_and_fewer_progress_events() {
    use mentor_shared::ids::NotebookId;
    use mentor_shared::jobs::{EventBody, EventFilter, EventKinds, EventsRequest, JobStatus};
    use mentor_tests::rpc::{answer, connect, ctx};

    let env = env_with("");
    let notebook: NotebookId = env
        .mentor(&["notebook", "show", "Biology", "--json"])
        .json()["id"]
        .as_str()
        .expect("notebook id")
        .parse()
        .expect("a notebook id");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = rt.block_on(connect(&env.dirs())).expect("connect");
    let request = |after, kinds, linger_ms, coalesce_progress| EventsRequest {
        after,
        max_wait_ms: 5_000,
        max_events: 1000,
        filter: EventFilter {
            job: None,
            notebook: Some(notebook),
            kinds,
        },
        linger_ms,
        coalesce_progress,
    };
    let poll = |r: EventsRequest| {
        rt.block_on(async { answer(client.events_next(ctx(Duration::from_secs(15)), r).await) })
            .expect("events_next")
    };
    let start = poll(request(None, EventKinds::All, 0, false)).cursor;
    let id = env.submit_test_job("Biology", r#"{"steps":40,"step_ms":10}"#);
    // The status line: lingering answers, coalesced.
    let (mut cursor, mut seen, mut answers) = (start, Vec::new(), 0);
    while !seen
        .last()
        .is_some_and(|(s, _): &(JobStatus, u32)| s.is_terminal())
    {
        let batch = poll(request(Some(cursor), EventKinds::Jobs, 200, true));
        assert!(!batch.reload);
        answers += 1;
        assert!(answers < 100, "the job never ended: {seen:?}");
        cursor = batch.cursor;
        for event in batch.events {
            let EventBody::Job { job } = event.body else {
                panic!("a jobs poll got {:?}", event.body)
            };
            assert_eq!(job.id.to_string(), id);
            seen.push((job.status, job.progress.map_or(0, |p| p.current)));
        }
    }
    let statuses: Vec<JobStatus> = seen.iter().map(|(s, _)| *s).fold(Vec::new(), |mut v, s| {
        if v.last() != Some(&s) {
            v.push(s);
        }
        v
    });
    assert_eq!(
        statuses,
        [
            JobStatus::Pending,
            JobStatus::Processing,
            JobStatus::Completed
        ],
        "{seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].1 <= w[1].1),
        "progress went back: {seen:?}"
    );
    // 40 steps of 10 ms take about 0.4 s: a few answers, not one per step.
    assert!(seen.len() < 25, "progress was not coalesced: {seen:?}");
    // Every event, for a watcher that wants them all: one per step.
    let all = poll(request(Some(start), EventKinds::Jobs, 0, false));
    let progress = all
        .events
        .iter()
        .filter(
            |e| matches!(&e.body, EventBody::Job { job } if job.status == JobStatus::Processing),
        )
        .count();
    assert!(progress >= 41, "{progress} processing events for 40 steps");
    // The conversation's poll heard none of it.
    let quiet = poll(EventsRequest {
        max_wait_ms: 0,
        ..request(Some(start), EventKinds::Conversation, 0, false)
    });
    assert!(
        quiet.events.is_empty() && !quiet.reload,
        "{:?}",
        quiet.events
    );
}
