//! The crash soak: jobs of every kind (a podcast spoken by the real espeak-ng, a quiz, a study
//! guide) through the real daemon and the scripted model server, while the daemon is killed
//! with SIGKILL at random moments and started again, and a client keeps chatting. Then the
//! books are checked: every acknowledged job ended in exactly one terminal state with the
//! artifact its end calls for, no artifact twice, no file without its record, every
//! acknowledged message in the conversation, `PRAGMA integrity_check` ok.
//!
//! `mentor-bench soak` runs it at full size; `tests/tests/soak.rs` runs a short form in CI.
//! The caller brings the home (its `Dirs`) and a way to run `mentor` in it, so the same
//! driver runs the release binaries (the bench) or the debug ones (the test).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use mentor_shared::artifacts::Podcast;
use mentor_shared::ids::{JobId, MessageId};
use mentor_shared::jobs::{ArtifactStatus, Job, JobFilter, JobRequest, JobStatus};
use mentor_shared::paths::Dirs;
use mentor_shared::service::MentorClient;
use serde_json::{json, Value};

use crate::answers;
use crate::files_under;
use crate::openai::{Reply, ScriptedServer};
use crate::rpc::{answer, connect, ctx};

/// How big a soak is.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Jobs to submit (a third of each kind).
    pub jobs: usize,
    /// SIGKILLs of the daemon.
    pub kills: usize,
    /// Time between two submissions.
    pub submit_every: Duration,
    /// The daemon lives between these two durations before each kill.
    pub kill_after: (Duration, Duration),
    /// How long the model takes before the first token of each generator's answer (so that
    /// kills land in the middle of jobs).
    pub model_delay: Duration,
    /// Seed of the random moments.
    pub seed: u64,
}

/// What the soak found. Everything but `jobs`, `kills`, `messages`, `completed` and `failed`
/// should be zero (and `integrity_ok` true).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Jobs the daemon acknowledged.
    pub jobs: usize,
    /// SIGKILLs done.
    pub kills: usize,
    /// Acknowledged jobs missing, not ended, or ended without what their end calls for (a
    /// completed job with no ready artifact, a ready podcast whose audio file is gone).
    pub lost: usize,
    /// Jobs with more than one artifact.
    pub duplicated: usize,
    /// Files under the artifacts directory that no ready artifact names, and artifacts
    /// whose job is gone.
    pub orphan_files: usize,
    /// `PRAGMA integrity_check` said `ok`.
    pub integrity_ok: bool,
    /// Acknowledged learner messages missing from the conversation.
    pub messages_lost: usize,
    /// Learner messages the daemon acknowledged.
    pub messages: usize,
    /// Acknowledged jobs that completed, and that failed (error or cancelled).
    pub completed: usize,
    pub failed: usize,
    /// Acknowledged jobs a kill interrupted (claimed more than once).
    pub interrupted: usize,
    /// Panics in the daemon's log.
    pub panics: usize,
    /// What each problem was, for the log.
    pub problems: Vec<String>,
}

/// The home under test: its directories and a way to run `mentor ARGS…` in it (with the
/// environment that finds the right `mentord`).
pub struct Home<'a> {
    pub dirs: Dirs,
    pub mentor: &'a (dyn Fn(&[&str]) -> Command + Sync),
}

impl Home<'_> {
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = (self.mentor)(args)
            .output()
            .with_context(|| format!("run mentor {}", args.join(" ")))?;
        ensure!(
            out.status.success(),
            "mentor {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts the daemon, retrying while a killed one's lock is being released.
    fn start(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.run(&["daemon", "start"]) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// SIGKILLs the daemon and waits until it is gone; false when none ran.
    fn kill(&self) -> Result<bool> {
        let Some(pid) = self.dirs.running_daemon_pid() else {
            return Ok(false);
        };
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .context("run kill")?;
        ensure!(status.success(), "kill -9 {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.dirs.running_daemon_pid() == Some(pid) {
            ensure!(Instant::now() < deadline, "daemon {pid} survived SIGKILL");
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(true)
    }
}

/// The notebook every job and message goes to.
const NOTEBOOK: &str = "Soak";
/// Longest wait for every job to end once the kills are over.
const SETTLE: Duration = Duration::from_secs(300);

/// The model: the generators get good answers after `delay`, the chat a short reply.
fn model(delay: Duration) -> impl Fn(&Value) -> Reply + Send + Sync + 'static {
    move |request: &Value| {
        if answers::is_structured(request) {
            answers::good_answer(request).delay_first(delay)
        } else {
            Reply::text("Mitochondria turn sugar into ATP, the cell's energy.")
        }
    }
}

/// A client that connects again after the daemon died (calls fail meanwhile).
struct Link {
    rt: tokio::runtime::Runtime,
    dirs: Dirs,
    client: Option<MentorClient>,
}

impl Link {
    fn new(dirs: &Dirs) -> Result<Link> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("runtime")?;
        Ok(Link {
            rt,
            dirs: dirs.clone(),
            client: None,
        })
    }

    /// One call; on any failure the connection is dropped, to be made again next time.
    fn call<T, F, Fut>(&mut self, f: F) -> Result<T>
    where
        F: FnOnce(MentorClient) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        if self.client.is_none() {
            let client = self.rt.block_on(connect(&self.dirs))?;
            self.client = Some(client);
        }
        let client = self.client.clone().context("no client")?;
        let result = self.rt.block_on(f(client));
        if result.is_err() {
            self.client = None;
        }
        result
    }
}

/// xorshift64*: the random moments, repeatable from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }

    fn between(&mut self, (low, high): (Duration, Duration)) -> Duration {
        let span = high.saturating_sub(low).as_millis() as u64;
        low + Duration::from_millis(self.below(span + 1))
    }
}

/// The spec of the `i`-th job: podcast, quiz, study guide in turn.
fn spec(i: usize) -> Value {
    match i % 3 {
        0 => json!({"kind": "podcast", "length": "short"}),
        1 => json!({"kind": "quiz", "questions": 3}),
        _ => json!({"kind": "study_guide"}),
    }
}

/// Runs a soak in `home` (no daemon running yet), saying how it goes through `progress`.
pub fn run(home: &Home, plan: Plan, progress: &(dyn Fn(&str) + Sync)) -> Result<Report> {
    let server = ScriptedServer::start();
    server.set_responder(model(plan.model_delay));
    server.forget_bodies();
    let config = home.dirs.config_file();
    if let Some(dir) = config.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    // Enough attempts that a job killed again and again still ends by completing: the soak
    // is about what a crash leaves behind, not about giving up.
    std::fs::write(
        &config,
        format!(
            "[llm]\nbase_url = \"{}\"\nmodel = \"scripted\"\n\n[jobs]\nmax_attempts = 50\n",
            server.base_url()
        ),
    )
    .with_context(|| format!("write {}", config.display()))?;
    home.start()?;
    home.run(&["notebook", "create", NOTEBOOK])?;
    let source = home.dirs.config_file().with_file_name("cells.md");
    std::fs::write(
        &source,
        "# Cells\n\nMitochondria turn sugar into ATP, the energy of the cell. The membrane \
         filters what enters the cell, and the nucleus keeps the genes.\n",
    )
    .context("write the source")?;
    home.run(&["source", "add", NOTEBOOK, &source.display().to_string()])?;

    let started = Instant::now();
    let submitted: Mutex<Vec<JobId>> = Mutex::new(Vec::new());
    let said: Mutex<Vec<MessageId>> = Mutex::new(Vec::new());
    let submitting = AtomicBool::new(true);
    let chatting = AtomicBool::new(true);
    let kills = AtomicUsize::new(0);
    let outcome: Result<()> = std::thread::scope(|scope| {
        // Submitter: one job every `submit_every`, each retried until acknowledged.
        let submitter = scope.spawn(|| -> Result<()> {
            let mut link = Link::new(&home.dirs)?;
            for i in 0..plan.jobs {
                let request: JobRequest = serde_json::from_value(json!({
                    "notebook": NOTEBOOK,
                    "topic": format!("cells {i}"),
                    "language": null,
                    "spec": spec(i),
                }))
                .context("job request")?;
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let r = request.clone();
                    match link.call(|c| async move {
                        answer(c.job_submit(ctx(Duration::from_secs(10)), r).await)
                    }) {
                        Ok(done) => {
                            lock(&submitted).push(done.job.id);
                            break;
                        }
                        Err(e) if Instant::now() > deadline => {
                            return Err(e.context(format!("job {i} never acknowledged")));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
                std::thread::sleep(plan.submit_every);
            }
            submitting.store(false, Ordering::SeqCst);
            Ok(())
        });
        // Chatter: a message about every 150 ms while the soak runs.
        let chatter = scope.spawn(|| -> Result<()> {
            let mut link = Link::new(&home.dirs)?;
            let mut n = 0;
            while chatting.load(Ordering::SeqCst) {
                let text = format!("Question {n}: what do mitochondria do?");
                let sent = link.call(|c| async move {
                    answer(
                        c.chat_send(ctx(Duration::from_secs(10)), NOTEBOOK.into(), text)
                            .await,
                    )
                });
                if let Ok(sent) = sent {
                    lock(&said).push(sent.message.id);
                    n += 1;
                }
                std::thread::sleep(Duration::from_millis(150));
            }
            Ok(())
        });
        // Killer: SIGKILL at random moments, then start a new daemon.
        let mut rng = Rng(plan.seed | 1);
        let mut result = Ok(());
        for k in 0..plan.kills {
            std::thread::sleep(rng.between(plan.kill_after));
            match home.kill() {
                Ok(true) => {
                    kills.fetch_add(1, Ordering::SeqCst);
                }
                Ok(false) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(rng.below(200)));
            if let Err(e) = home.start() {
                result = Err(e);
                break;
            }
            if (k + 1) % 5 == 0 {
                progress(&format!(
                    "  {} kills, {} jobs acknowledged, {} messages",
                    k + 1,
                    lock(&submitted).len(),
                    lock(&said).len()
                ));
            }
        }
        // Let the submitter finish (the daemon is up for good now).
        let submitted_ok = submitter
            .join()
            .map_err(|_| anyhow::anyhow!("the submitter panicked"))?;
        chatting.store(false, Ordering::SeqCst);
        let chatted_ok = chatter
            .join()
            .map_err(|_| anyhow::anyhow!("the chatter panicked"))?;
        result.and(submitted_ok).and(chatted_ok)
    });
    outcome?;
    ensure!(
        !submitting.load(Ordering::SeqCst),
        "submissions did not end"
    );
    let submitted = into_inner(submitted);
    let said = into_inner(said);
    progress(&format!(
        "kills done after {:.1} s: {} jobs acknowledged, {} messages; waiting for every job to end",
        started.elapsed().as_secs_f64(),
        submitted.len(),
        said.len()
    ));

    let mut report = Report {
        jobs: submitted.len(),
        kills: kills.load(Ordering::SeqCst),
        messages: said.len(),
        ..Report::default()
    };
    let mut link = Link::new(&home.dirs)?;
    let jobs = settle(&mut link, &submitted)?;
    // The conversation's last turn ends too.
    let deadline = Instant::now() + Duration::from_secs(60);
    let history = loop {
        let history = link.call(|c| async move {
            answer(
                c.chat_history(ctx(Duration::from_secs(30)), NOTEBOOK.into(), 0)
                    .await,
            )
        })?;
        if !history.busy || Instant::now() > deadline {
            break history;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    progress(&format!(
        "every job ended after {:.1} s; checking",
        started.elapsed().as_secs_f64()
    ));
    let artifacts = link.call(|c| async move {
        answer(
            c.artifact_list(ctx(Duration::from_secs(30)), NOTEBOOK.into())
                .await,
        )
    })?;

    // Jobs: each acknowledged one ended, with the artifact its end calls for.
    let by_id: BTreeMap<JobId, &Job> = jobs.iter().map(|j| (j.id, j)).collect();
    let mut artifacts_of: BTreeMap<JobId, Vec<&mentor_shared::jobs::Artifact>> = BTreeMap::new();
    for a in &artifacts {
        artifacts_of.entry(a.job_id).or_default().push(a);
    }
    let mut audio: BTreeSet<PathBuf> = BTreeSet::new();
    for id in &submitted {
        let Some(job) = by_id.get(id) else {
            report.lost += 1;
            report.problems.push(format!("{id}: missing"));
            continue;
        };
        if job.attempts > 1 {
            report.interrupted += 1;
        }
        match job.status {
            JobStatus::Completed => report.completed += 1,
            JobStatus::Error | JobStatus::Cancelled => report.failed += 1,
            other => {
                report.lost += 1;
                report.problems.push(format!("{id}: still {other:?}"));
                continue;
            }
        }
        let mine = artifacts_of.get(id).map(Vec::as_slice).unwrap_or_default();
        if mine.len() > 1 {
            report.duplicated += 1;
            report
                .problems
                .push(format!("{id}: {} artifacts", mine.len()));
        }
        let Some(artifact) = mine.first() else {
            report.lost += 1;
            report.problems.push(format!("{id}: no artifact"));
            continue;
        };
        let expected = match job.status {
            JobStatus::Completed => ArtifactStatus::Ready,
            JobStatus::Cancelled => ArtifactStatus::Cancelled,
            _ => ArtifactStatus::Failed,
        };
        if artifact.status != expected {
            report.lost += 1;
            report.problems.push(format!(
                "{id}: job {:?} but artifact {:?}",
                job.status, artifact.status
            ));
            continue;
        }
        if expected == ArtifactStatus::Ready && job.kind == mentor_shared::jobs::JobKind::Podcast {
            let id = artifact.id.to_string();
            let shown = link.call(|c| async move {
                answer(c.artifact_show(ctx(Duration::from_secs(30)), id).await)
            })?;
            let podcast: Option<Podcast> = shown.data.and_then(|d| serde_json::from_value(d).ok());
            match podcast.and_then(|p| p.audio) {
                Some(a) if Path::new(&a.path).is_file() => {
                    audio.insert(PathBuf::from(a.path));
                }
                other => {
                    report.lost += 1;
                    report.problems.push(format!(
                        "{}: ready podcast without its audio ({other:?})",
                        job.id
                    ));
                }
            }
        }
    }

    // Messages: every acknowledged one is in the conversation.
    let kept: HashSet<MessageId> = history.messages.iter().map(|m| m.id).collect();
    for id in &said {
        if !kept.contains(id) {
            report.messages_lost += 1;
            report.problems.push(format!("message {id} lost"));
        }
    }
    drop(link);

    // Files: after a clean restart (the janitor sweeps at start), every file under the
    // artifacts directory is the audio of a ready podcast.
    home.run(&["daemon", "stop"])?;
    home.start()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let orphans = loop {
        let orphans: Vec<PathBuf> = files_under(&home.dirs.artifacts())
            .into_iter()
            .filter(|f| !audio.contains(f))
            .collect();
        if orphans.is_empty() || Instant::now() > deadline {
            break orphans;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    report.orphan_files += orphans.len();
    for f in &orphans {
        report.problems.push(format!("orphan file {}", f.display()));
    }
    home.run(&["daemon", "stop"])?;
    let log = std::fs::read_to_string(home.dirs.log_file()).unwrap_or_default();
    report.panics = log.matches("panicked").count();
    if report.panics > 0 {
        report
            .problems
            .push(format!("{} panics in the daemon's log", report.panics));
    }

    // The database, with no daemon: intact, and no artifact twice or without its job.
    let db = rusqlite::Connection::open_with_flags(
        home.dirs.database(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .context("open the database")?;
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .context("integrity_check")?;
    report.integrity_ok = check == "ok";
    if !report.integrity_ok {
        report.problems.push(format!("integrity_check: {check}"));
    }
    let twice: i64 = db
        .query_row(
            "SELECT count(*) FROM (SELECT job_id FROM artifacts GROUP BY job_id HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .context("count duplicated artifacts")?;
    // Counted once per job, whether the API or the table showed it.
    report.duplicated = report.duplicated.max(twice as usize);
    let homeless: i64 = db
        .query_row(
            "SELECT count(*) FROM artifacts a LEFT JOIN jobs j ON j.id = a.job_id WHERE j.id IS NULL",
            [],
            |r| r.get(0),
        )
        .context("count artifacts without a job")?;
    report.orphan_files += homeless as usize;
    if homeless > 0 {
        report
            .problems
            .push(format!("{homeless} artifacts without their job"));
    }
    progress(&format!(
        "soak done in {:.1} s: {} jobs ({} completed, {} failed, {} interrupted by a kill), {} kills, {} messages",
        started.elapsed().as_secs_f64(),
        report.jobs,
        report.completed,
        report.failed,
        report.interrupted,
        report.kills,
        report.messages
    ));
    for p in report.problems.iter().take(20) {
        progress(&format!("  problem: {p}"));
    }
    Ok(report)
}

/// Every acknowledged job, once each has ended (or the wait is over).
fn settle(link: &mut Link, submitted: &[JobId]) -> Result<Vec<Job>> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let filter = JobFilter {
            limit: Some(10_000),
            ..JobFilter::default()
        };
        let listed =
            link.call(
                |c| async move { answer(c.job_list(ctx(Duration::from_secs(30)), filter).await) },
            );
        let jobs = match listed {
            Ok(jobs) => jobs,
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let ended: HashSet<JobId> = jobs
            .iter()
            .filter(|j| j.status.is_terminal())
            .map(|j| j.id)
            .collect();
        if submitted.iter().all(|id| ended.contains(id)) || Instant::now() > deadline {
            return Ok(jobs);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Fails unless the report is clean (for the CI test).
pub fn check(report: &Report) -> Result<()> {
    if report.lost + report.duplicated + report.orphan_files + report.messages_lost > 0
        || !report.integrity_ok
    {
        bail!("the soak found problems: {report:#?}");
    }
    Ok(())
}
