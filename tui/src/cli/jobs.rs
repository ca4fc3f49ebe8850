//! `mentor jobs`: list, show, watch, cancel and retry background jobs.
//!
//! Watching is push, not polling: the client long-polls `events_next`, which the daemon answers
//! the moment an event is published. A cursor taken *before* the snapshot guarantees that no
//! change between the snapshot and the first poll is lost. When the daemon restarts, the
//! watcher reconnects (starting it if needed), takes a new cursor and a new snapshot, and goes
//! on. `mentor generate --wait` follows its job through [`follow`], so both behave alike.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::IsTerminal;
use std::time::Duration;

use clap::{Args, Subcommand};
use mentor_shared::error::job_status_name;
use mentor_shared::i18n::{self, FluentArgs, Localizer};
use mentor_shared::ids::JobId;
use mentor_shared::jobs::{
    EventBody, EventFilter, FailureKind, Job, JobFilter, JobKind, JobStatus, Progress,
};
use mentor_shared::t;
use mentor_shared::time::{format_duration, Timestamp};

use super::events::{call, current_cursor, poll, recover, Trouble};
use super::{output, Env};
use crate::client::{self, answer, ctx, Client};
use crate::error::CliError;

/// Width of the progress bar, between its brackets.
const BAR_WIDTH: usize = 10;
/// Spinner frames; one step per event, never on a timer.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Separator of the parts of a status line.
const SEP: &str = " · ";

/// `mentor jobs …`
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List(ListArgs),
    /// Show everything about one job.
    Show(JobArg),
    /// Follow a job live until it ends (with no id: every job).
    Watch(WatchArgs),
    /// Cancel a pending or running job.
    Cancel(JobArg),
    /// Queue a failed or cancelled job again.
    Retry(JobArg),
}

/// Arguments of `jobs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs with this status.
    #[arg(long, value_parser = parse_status, hide_possible_values = true)]
    pub status: Option<JobStatus>,
    /// Only jobs of this kind.
    #[arg(long, value_parser = parse_kind, hide_possible_values = true)]
    pub kind: Option<JobKind>,
    /// Only jobs of this notebook (id or title).
    #[arg(short, long)]
    pub notebook: Option<String>,
    /// Most jobs to show.
    #[arg(long, value_parser = super::usage::number_in(1, 1000))]
    pub limit: Option<u32>,
}

/// A job, by id.
#[derive(Debug, Args)]
pub struct JobArg {
    /// Job id (with or without `job:`).
    pub job: String,
}

/// Arguments of `jobs watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Job id; with none, every job of every notebook until interrupted.
    pub job: Option<String>,
}

/// Parses `--status` with a complaint in the learner's language.
pub fn parse_status(s: &str) -> Result<JobStatus, String> {
    JobStatus::parse(s).ok_or_else(|| {
        let values: Vec<&str> = JobStatus::ALL.iter().map(|k| k.as_str()).collect();
        t!(i18n::ui(), "jobs-usage-one-of", values = values.join(", "))
    })
}

/// Parses `--kind` with a complaint in the learner's language. The scripted test kind is
/// accepted but not advertised.
pub fn parse_kind(s: &str) -> Result<JobKind, String> {
    JobKind::parse(s).ok_or_else(|| {
        let values: Vec<&str> = JobKind::ALL
            .iter()
            .filter(|k| **k != JobKind::Test)
            .map(|k| k.as_str())
            .collect();
        t!(i18n::ui(), "jobs-usage-one-of", values = values.join(", "))
    })
}

/// Runs a jobs command.
pub async fn run(env: &Env, cmd: JobsCommand) -> Result<(), CliError> {
    env.config()?;
    let l = i18n::ui();
    let c = client::connect(&env.dirs).await?;
    match cmd {
        JobsCommand::List(a) => {
            let filtered = a.status.is_some() || a.kind.is_some() || a.notebook.is_some();
            let filter = JobFilter {
                status: a.status,
                kind: a.kind,
                notebook: a.notebook,
                limit: a.limit,
            };
            let jobs = answer(c.rpc.job_list(ctx(30), filter).await)?;
            if env.json {
                return output::json(&jobs);
            }
            if jobs.is_empty() {
                if filtered {
                    outln!("{}", t!(l, "jobs-list-none-match"));
                } else {
                    outln!("{}", t!(l, "jobs-list-empty"));
                }
                return Ok(());
            }
            print_table(l, &jobs);
            Ok(())
        }
        JobsCommand::Show(a) => {
            let job = answer(c.rpc.job_show(ctx(30), a.job).await)?;
            if env.json {
                return output::json(&job);
            }
            print_job(l, &job, Timestamp::now());
            Ok(())
        }
        JobsCommand::Watch(a) => match a.job {
            Some(job) => follow(env, c, job).await,
            None => watch_all(env, c).await,
        },
        JobsCommand::Cancel(a) => {
            let job = answer(c.rpc.job_cancel(ctx(30), a.job).await)?;
            if env.json {
                return output::json(&job);
            }
            let id = job.id.to_string();
            if job.status == JobStatus::Cancelled {
                outln!("{}", t!(l, "jobs-cancelled", job = id.as_str()));
            } else {
                outln!("{}", t!(l, "jobs-cancelling", job = id.as_str()));
            }
            Ok(())
        }
        JobsCommand::Retry(a) => {
            let job = answer(c.rpc.job_retry(ctx(30), a.job).await)?;
            if env.json {
                return output::json(&job);
            }
            let id = job.id.to_string();
            outln!("{}", t!(l, "jobs-retried", job = id.as_str()));
            outln!("{}", t!(l, "jobs-watch-hint", job = id.as_str()));
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Words and lines: pure functions of a job and the current time.

/// A job kind's display name.
pub fn kind_name(l: &Localizer, kind: JobKind) -> String {
    l.text(kind.message_id(), None)
}

/// A progress stage in the reader's language; the raw id when this client does not know it
/// (a newer daemon may report stages an older client has no words for).
pub fn stage_text(l: &Localizer, p: &Progress) -> String {
    if !l.has(&p.stage) {
        return p.stage.clone();
    }
    let mut args = FluentArgs::new();
    args.set("current", p.current);
    args.set("total", p.total);
    l.text(&p.stage, Some(&args))
}

/// `[####------]` for a percentage.
pub fn progress_bar(percentage: u8, width: usize) -> String {
    let filled = usize::from(percentage.min(100)) * width / 100;
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

/// The PROGRESS cell of `jobs list`: `42% Step 2/5`, the stage alone when the total is
/// unknown, `—` when nothing was reported.
pub fn progress_cell(l: &Localizer, job: &Job) -> String {
    match &job.progress {
        Some(p) if p.total > 0 => format!("{}% {}", p.percentage, stage_text(l, p)),
        Some(p) => stage_text(l, p),
        None => "—".to_string(),
    }
}

/// How long until a pending job may run again, when it waits for a retry's backoff.
pub fn retry_delay(job: &Job, now: Timestamp) -> Option<Duration> {
    if job.status != JobStatus::Pending || job.run_at <= now {
        return None;
    }
    // Rounded up: "retrying in 0s" would be wrong while time remains.
    let ms = (job.run_at.millis() - now.millis()).max(0) as u64;
    Some(Duration::from_secs(ms.div_ceil(1000)))
}

/// How a status line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStyle {
    /// The spinner frame to lead with (a live terminal line), if any.
    pub spinner: Option<&'static str>,
    /// Whether to draw a progress bar before the percentage.
    pub bar: bool,
}

impl LineStyle {
    /// One line per event, for logs and screen readers: no spinner, no bar.
    pub const PLAIN: LineStyle = LineStyle {
        spinner: None,
        bar: false,
    };
}

/// The status line of a job: spinner · "Generating podcast…" · bar and percentage · stage ·
/// retry delay, attempt, cancellation · elapsed time. An ended job gets its final line.
pub fn status_line(l: &Localizer, job: &Job, now: Timestamp, style: LineStyle) -> String {
    if job.status.is_terminal() {
        return final_line(l, job);
    }
    let heading = t!(l, "job-line-running", kind = job.kind.as_str());
    let mut parts = vec![match style.spinner {
        Some(frame) => format!("{frame} {heading}"),
        None => heading,
    }];
    if let Some(p) = job.progress.as_ref().filter(|p| p.total > 0) {
        parts.push(if style.bar {
            format!(
                "{} {}%",
                progress_bar(p.percentage, BAR_WIDTH),
                p.percentage
            )
        } else {
            format!("{}%", p.percentage)
        });
    }
    match &job.progress {
        Some(p) => parts.push(stage_text(l, p)),
        None if job.status == JobStatus::Pending => parts.push(t!(l, "stage-queued")),
        None => {}
    }
    if let Some(delay) = retry_delay(job, now) {
        let delay = format_duration(delay);
        parts.push(match job.error_message.as_deref().map(str::trim) {
            Some(reason) if !reason.is_empty() => t!(
                l,
                "job-line-retry-after-error",
                reason = output::clip(reason, 60),
                delay = delay
            ),
            _ => t!(l, "job-line-retry-in", delay = delay),
        });
    }
    if job.attempts > 1 && job.status == JobStatus::Processing {
        parts.push(t!(
            l,
            "job-line-attempt",
            attempt = job.attempts,
            max = job.max_attempts
        ));
    }
    if job.cancel_requested {
        parts.push(t!(l, "job-line-cancelling"));
    }
    parts.push(format_duration(job.created.age(now)));
    parts.join(SEP)
}

/// The line that ends a job: `✓ Podcast ready · art:… · 1m 05s`, `✗ Podcast failed: …`,
/// `✗ Podcast cancelled`.
pub fn final_line(l: &Localizer, job: &Job) -> String {
    let kind = job.kind.as_str();
    match job.status {
        JobStatus::Completed => {
            let mut parts = vec![format!("✓ {}", t!(l, "job-line-ready", kind = kind))];
            if let Some(a) = &job.artifact_id {
                parts.push(a.to_string());
            }
            let end = job.finished.unwrap_or(job.updated);
            parts.push(format_duration(job.created.age(end)));
            parts.join(SEP)
        }
        JobStatus::Error => {
            let reason = match (&job.error_message, job.failure) {
                (Some(m), _) if !m.trim().is_empty() => m.trim().to_string(),
                (_, Some(f)) => failure_name(l, f),
                _ => t!(l, "job-line-no-reason"),
            };
            format!(
                "✗ {}",
                t!(l, "job-line-failed", kind = kind, reason = reason)
            )
        }
        JobStatus::Cancelled => format!("✗ {}", t!(l, "job-line-cancelled", kind = kind)),
        JobStatus::Pending | JobStatus::Processing => {
            status_line(l, job, Timestamp::now(), LineStyle::PLAIN)
        }
    }
}

/// The nature of a failure, in words.
pub fn failure_name(l: &Localizer, f: FailureKind) -> String {
    match f {
        FailureKind::Permanent => t!(l, "job-failure-kind-permanent"),
        FailureKind::Exhausted => t!(l, "job-failure-kind-exhausted"),
        FailureKind::Interrupted => t!(l, "job-failure-kind-interrupted"),
        FailureKind::TimedOut => t!(l, "job-failure-kind-timed-out"),
    }
}

/// A timestamp with its age: `2026-11-24T11:32:53.500Z (3m 05s ago)`.
pub fn when(l: &Localizer, t: Timestamp) -> String {
    format!("{t} ({})", t!(l, "age-ago", age = output::age(t)))
}

/// The `key  value` lines of `jobs show`, labels aligned.
pub fn job_fields(l: &Localizer, job: &Job, now: Timestamp) -> Vec<(String, String)> {
    let mut fields = vec![
        (t!(l, "jobs-show-id"), job.id.to_string()),
        (t!(l, "jobs-show-kind"), kind_name(l, job.kind)),
        (
            t!(l, "jobs-show-status"),
            job_status_name(l, job.status.as_str()),
        ),
    ];
    if let Some(nb) = &job.notebook_id {
        fields.push((t!(l, "jobs-show-notebook"), nb.to_string()));
    }
    if let Some(a) = &job.artifact_id {
        fields.push((t!(l, "jobs-show-artifact"), a.to_string()));
    }
    let topic = if job.topic.trim().is_empty() {
        t!(l, "jobs-topic-whole-notebook")
    } else {
        job.topic.clone()
    };
    fields.push((t!(l, "jobs-show-topic"), topic));
    fields.push((t!(l, "jobs-show-progress"), progress_cell(l, job)));
    fields.push((
        t!(l, "jobs-show-attempts"),
        format!("{}/{}", job.attempts, job.max_attempts),
    ));
    if let Some(delay) = retry_delay(job, now) {
        fields.push((
            t!(l, "jobs-show-next-attempt"),
            t!(l, "jobs-show-retry-in", delay = format_duration(delay)),
        ));
    }
    // Once the job has ended, the request is history: its status says how it ended.
    if job.cancel_requested && !job.status.is_terminal() {
        fields.push((
            t!(l, "jobs-show-cancel"),
            t!(l, "jobs-show-cancel-requested"),
        ));
    }
    fields.push((t!(l, "jobs-show-created"), when(l, job.created)));
    fields.push((t!(l, "jobs-show-updated"), when(l, job.updated)));
    if let Some(f) = job.finished {
        fields.push((t!(l, "jobs-show-finished"), when(l, f)));
    }
    if let Some(f) = job.failure {
        fields.push((t!(l, "jobs-show-failure"), failure_name(l, f)));
    }
    if let Some(m) = &job.error_message {
        fields.push((t!(l, "jobs-show-error"), m.clone()));
    }
    if !job.params.is_null() {
        fields.push((t!(l, "jobs-show-params"), job.params.to_string()));
    }
    fields
}

fn print_job(l: &Localizer, job: &Job, now: Timestamp) {
    output::fields(&job_fields(l, job, now));
    if let Some(result) = &job.result {
        outln!("{}", t!(l, "jobs-show-result"));
        let text = serde_json::to_string_pretty(result).unwrap_or_else(|_| result.to_string());
        for line in text.lines() {
            outln!("  {line}");
        }
    }
}

fn print_table(l: &Localizer, jobs: &[Job]) {
    let headers = [
        t!(l, "col-id"),
        t!(l, "jobs-col-kind"),
        t!(l, "jobs-col-status"),
        t!(l, "jobs-col-progress"),
        t!(l, "jobs-col-attempts"),
        t!(l, "jobs-col-age"),
        t!(l, "jobs-col-topic"),
    ];
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                kind_name(l, j.kind),
                job_status_name(l, j.status.as_str()),
                output::clip(&progress_cell(l, j), 32),
                format!("{}/{}", j.attempts, j.max_attempts),
                output::age(j.created),
                if j.topic.trim().is_empty() {
                    "—".to_string()
                } else {
                    output::clip(&j.topic, 40)
                },
            ]
        })
        .collect();
    output::table(&headers, &rows);
}

// ---------------------------------------------------------------------------------------------
// The screen: where the lines of a followed job go.

/// How followed jobs are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One line redrawn in place (stdout is a terminal).
    Live,
    /// One plain line per change (stdout is a pipe or a file).
    Lines,
    /// JSON Lines, one job record per change.
    Json,
}

impl Mode {
    fn detect(json: bool, live_allowed: bool) -> Mode {
        if json {
            Mode::Json
        } else if live_allowed && std::io::stdout().is_terminal() {
            Mode::Live
        } else {
            Mode::Lines
        }
    }
}

/// The watcher's output. It remembers the last record printed for each job so that a record
/// seen twice (a snapshot after a reconnection, say) is not printed twice.
struct Screen {
    mode: Mode,
    /// Lead each line with the job id (when watching every job).
    with_ids: bool,
    /// A live line is on screen, with the cursor at its end.
    live_open: bool,
    frame: usize,
    last: HashMap<JobId, Job>,
}

impl Screen {
    fn new(mode: Mode, with_ids: bool) -> Screen {
        Screen {
            mode,
            with_ids,
            live_open: false,
            frame: 0,
            last: HashMap::new(),
        }
    }

    /// Shows a job's new state.
    fn show(&mut self, job: &Job) -> Result<(), CliError> {
        if self.last.get(&job.id) == Some(job) {
            return Ok(());
        }
        self.last.insert(job.id, job.clone());
        let l = i18n::ui();
        match self.mode {
            Mode::Json => output::json_line("job", job),
            Mode::Lines => {
                let text = status_line(l, job, Timestamp::now(), LineStyle::PLAIN);
                if self.with_ids {
                    outln!("{}  {text}", job.id);
                } else {
                    outln!("{text}");
                }
                Ok(())
            }
            Mode::Live => {
                self.frame = (self.frame + 1) % SPINNER.len();
                self.draw(job);
                Ok(())
            }
        }
    }

    /// Redraws the live line (its elapsed time) without advancing the spinner.
    fn refresh(&mut self, job: &Job) {
        if self.mode == Mode::Live {
            self.draw(job);
        }
    }

    fn draw(&mut self, job: &Job) {
        let style = LineStyle {
            spinner: Some(SPINNER[self.frame]),
            bar: true,
        };
        let text = status_line(i18n::ui(), job, Timestamp::now(), style);
        // A line wider than the terminal would wrap, and `\r` would then redraw only its tail.
        let text = output::clip(&text, terminal_width().saturating_sub(1).max(10));
        out!("\r{text}\x1b[K");
        self.live_open = true;
    }

    /// Takes the live line off the screen, so that something else can be written.
    fn clear_live(&mut self) {
        if self.live_open {
            out!("\r\x1b[K");
            self.live_open = false;
        }
    }

    /// Says something on stderr (a lost connection…), off the live line.
    fn note(&mut self, text: &str) {
        self.clear_live();
        eprintln!("{text}");
    }

    /// Prints the end of a followed job; the exit code follows its outcome (a failure or a
    /// cancellation exits with 1, its reason already said).
    fn finish(&mut self, job: &Job) -> Result<(), CliError> {
        let completed = job.status == JobStatus::Completed;
        match self.mode {
            Mode::Json => self.show(job)?,
            Mode::Lines | Mode::Live => {
                self.clear_live();
                let text = final_line(i18n::ui(), job);
                if completed {
                    outln!("{text}");
                } else {
                    eprintln!("{text}");
                }
            }
        }
        if completed {
            Ok(())
        } else {
            Err(CliError::Quiet)
        }
    }

    /// Leaves the terminal tidy after Ctrl+C: the last state stays visible on its own line.
    fn interrupted(&mut self) {
        if self.live_open {
            out!("\n");
            self.live_open = false;
        }
    }
}

/// The terminal's width in columns (80 when it cannot be told).
fn terminal_width() -> usize {
    rustix::termios::tcgetwinsize(std::io::stdout())
        .map(|w| usize::from(w.ws_col))
        .ok()
        .filter(|w| *w > 0)
        .unwrap_or(80)
}

// ---------------------------------------------------------------------------------------------
// Following jobs.

/// Runs a watch until it ends; Ctrl+C ends it with exit code 130, leaving the job running.
async fn interruptible<F>(screen: &mut Screen, work: F) -> Result<(), CliError>
where
    F: AsyncFnOnce(&mut Screen) -> Result<(), CliError>,
{
    let outcome = {
        let work = work(&mut *screen);
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => Some(r),
            Ok(()) = tokio::signal::ctrl_c() => None,
        }
    };
    match outcome {
        Some(r) => r,
        None => {
            screen.interrupted();
            std::process::exit(130)
        }
    }
}

/// Follows one job until it ends: 0 when it completes, 1 when it fails or is cancelled.
/// `job` is an id as the learner typed it.
pub async fn follow(env: &Env, c: Client, job: String) -> Result<(), CliError> {
    let mut screen = Screen::new(Mode::detect(env.json, true), false);
    interruptible(&mut screen, async move |screen: &mut Screen| {
        let mut c = c;
        let mut job_ref = job;
        let mut losses = 0;
        loop {
            match follow_session(&c, screen, &mut job_ref, &mut losses).await {
                Ok(ended) => return screen.finish(&ended),
                Err(Trouble::Failed(e)) => return Err(e),
                Err(Trouble::Lost(reason)) => {
                    c = recover(env, &mut |t: &str| screen.note(t), &mut losses, reason).await?;
                }
            }
        }
    })
    .await
}

/// One connection's worth of following a job; returns the job once it has ended.
async fn follow_session(
    c: &Client,
    screen: &mut Screen,
    job_ref: &mut String,
    losses: &mut u32,
) -> Result<Job, Trouble> {
    // The cursor before the snapshot: whatever changes after the snapshot is an event after it.
    let mut cursor = current_cursor(c).await?;
    let job = call(c.rpc.job_show(ctx(30), job_ref.clone()).await)?;
    *job_ref = job.id.to_string();
    if job.status.is_terminal() {
        return Ok(job);
    }
    screen.show(&job)?;
    let id = job.id;
    let filter = EventFilter {
        job: Some(id),
        notebook: None,
        ..EventFilter::default()
    };
    let mut current = job;
    loop {
        let batch = poll(c, cursor, &filter).await?;
        *losses = 0;
        cursor = batch.cursor;
        let updates: Vec<Job> = if batch.reload {
            // Events were missed (another daemon run, or too far behind): ask for the state.
            vec![call(c.rpc.job_show(ctx(30), job_ref.clone()).await)?]
        } else {
            batch
                .events
                .into_iter()
                .filter_map(|e| match e.body {
                    EventBody::Job { job } => Some(job),
                    _ => None,
                })
                .filter(|j| j.id == id)
                .collect()
        };
        if updates.is_empty() {
            screen.refresh(&current);
        }
        for job in updates {
            if job.status.is_terminal() {
                return Ok(job);
            }
            screen.show(&job)?;
            current = job;
        }
    }
}

/// Watches every job of every notebook until interrupted, one line per change.
async fn watch_all(env: &Env, c: Client) -> Result<(), CliError> {
    let mut screen = Screen::new(Mode::detect(env.json, false), true);
    interruptible(&mut screen, async move |screen: &mut Screen| {
        let mut c = c;
        let mut since = None;
        let mut losses = 0;
        loop {
            match watch_all_session(&c, screen, &mut since, &mut losses).await {
                Ok(never) => match never {},
                Err(Trouble::Failed(e)) => return Err(e),
                Err(Trouble::Lost(reason)) => {
                    c = recover(env, &mut |t: &str| screen.note(t), &mut losses, reason).await?;
                }
            }
        }
    })
    .await
}

/// One connection's worth of watching every job. `since` is when the watcher last knew it
/// had seen everything; `None` before the first look.
async fn watch_all_session(
    c: &Client,
    screen: &mut Screen,
    since: &mut Option<Timestamp>,
    losses: &mut u32,
) -> Result<Infallible, Trouble> {
    let mut cursor = current_cursor(c).await?;
    catch_up(c, screen, *since).await?;
    let filter = EventFilter::default();
    loop {
        let asked = Timestamp::now();
        let batch = poll(c, cursor, &filter).await?;
        *losses = 0;
        cursor = batch.cursor;
        if batch.reload {
            catch_up(c, screen, *since).await?;
        } else {
            for event in batch.events {
                // Chat events share the stream; a job watcher only shows jobs.
                if let EventBody::Job { job } = event.body {
                    screen.show(&job)?;
                }
            }
        }
        *since = Some(asked);
    }
}

/// Shows the jobs a watcher may have missed: the active ones at first, afterwards every job
/// changed since it last knew the whole picture. Oldest first, so lines read in order.
async fn catch_up(
    c: &Client,
    screen: &mut Screen,
    since: Option<Timestamp>,
) -> Result<(), Trouble> {
    let jobs = call(c.rpc.job_list(ctx(30), JobFilter::default()).await)?;
    for job in jobs.iter().rev() {
        let missed = match since {
            None => !job.status.is_terminal(),
            Some(t) => job.updated >= t,
        };
        if missed {
            screen.show(job)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};
    use mentor_shared::ids::{ArtifactId, NotebookId};

    const T0: i64 = 1_800_000_000_000;

    fn job(status: JobStatus, progress: Option<Progress>) -> Job {
        Job {
            id: JobId::new(),
            kind: JobKind::Podcast,
            status,
            notebook_id: Some(NotebookId::new()),
            artifact_id: Some(ArtifactId::new()),
            topic: "Photosynthesis".into(),
            params: serde_json::json!({"format": "deep_dive"}),
            progress,
            result: None,
            error_message: None,
            failure: None,
            attempts: 1,
            max_attempts: 3,
            run_at: Timestamp(T0),
            cancel_requested: false,
            created: Timestamp(T0),
            updated: Timestamp(T0),
            finished: None,
        }
    }

    fn en() -> &'static Localizer {
        localizer(Lang::EnUs)
    }

    fn fr() -> &'static Localizer {
        localizer(Lang::FrFr)
    }

    #[test]
    fn progress_bars_fill_with_the_percentage() {
        assert_eq!(progress_bar(0, 10), "[----------]");
        assert_eq!(progress_bar(42, 10), "[####------]");
        assert_eq!(progress_bar(100, 10), "[##########]");
        assert_eq!(progress_bar(255, 4), "[####]");
    }

    #[test]
    fn stages_are_localized_with_their_numbers() {
        let p = Progress::new(2, 5, "stage-test-step");
        assert_eq!(stage_text(en(), &p), "Step 2/5");
        assert_eq!(stage_text(fr(), &p), "Étape 2/5");
        // A stage this client has no words for is shown as it came.
        let unknown = Progress::new(1, 2, "stage-from-the-future");
        assert_eq!(stage_text(en(), &unknown), "stage-from-the-future");
    }

    #[test]
    fn the_live_line_has_spinner_bar_stage_and_elapsed_time() {
        let j = job(
            JobStatus::Processing,
            Some(Progress::new(2, 5, "stage-test-step")),
        );
        let style = LineStyle {
            spinner: Some("⠋"),
            bar: true,
        };
        let now = Timestamp(T0 + 65_000);
        assert_eq!(
            status_line(en(), &j, now, style),
            "⠋ Generating podcast… · [####------] 40% · Step 2/5 · 1m 05s"
        );
        assert_eq!(
            status_line(fr(), &j, now, LineStyle::PLAIN),
            "Génération du podcast… · 40% · Étape 2/5 · 1m 05s"
        );
    }

    #[test]
    fn no_bar_without_a_known_total() {
        let j = job(JobStatus::Processing, Some(Progress::new(0, 0, "stage-x")));
        let style = LineStyle {
            spinner: None,
            bar: true,
        };
        let line = status_line(en(), &j, Timestamp(T0), style);
        assert!(!line.contains('['), "{line}");
        assert!(!line.contains('%'), "{line}");
    }

    #[test]
    fn a_waiting_retry_says_when_it_runs() {
        let mut j = job(JobStatus::Pending, None);
        j.run_at = Timestamp(T0 + 2_100);
        j.error_message = Some("connection refused".into());
        let line = status_line(en(), &j, Timestamp(T0), LineStyle::PLAIN);
        assert_eq!(
            line,
            "Generating podcast… · Waiting for a worker · connection refused — retrying in 3s · 0s"
        );
        j.error_message = None;
        let line = status_line(fr(), &j, Timestamp(T0), LineStyle::PLAIN);
        assert!(line.contains("nouvel essai dans 3s"), "{line}");
        assert_eq!(retry_delay(&j, Timestamp(T0 + 2_100)), None);
        let fields = job_fields(en(), &j, Timestamp(T0));
        assert!(
            fields
                .iter()
                .any(|(k, v)| k == "Next attempt" && v == "in 3s"),
            "{fields:?}"
        );
    }

    #[test]
    fn a_second_attempt_and_a_pending_cancel_are_shown() {
        let mut j = job(JobStatus::Processing, None);
        j.attempts = 2;
        j.cancel_requested = true;
        let line = status_line(en(), &j, Timestamp(T0), LineStyle::PLAIN);
        assert_eq!(line, "Generating podcast… · attempt 2/3 · cancelling… · 0s");
    }

    #[test]
    fn final_lines_say_how_the_job_ended() {
        let mut done = job(JobStatus::Completed, None);
        done.finished = Some(Timestamp(T0 + 5_000));
        let art = done.artifact_id.map(|a| a.to_string()).unwrap_or_default();
        assert_eq!(
            final_line(en(), &done),
            format!("✓ Podcast ready · {art} · 5s")
        );
        done.kind = JobKind::StudyGuide;
        assert!(final_line(fr(), &done).starts_with("✓ Fiche de révision prête"));

        let mut failed = job(JobStatus::Error, None);
        failed.error_message = Some("espeak-ng is not installed".into());
        assert_eq!(
            final_line(en(), &failed),
            "✗ Podcast failed: espeak-ng is not installed"
        );
        failed.error_message = None;
        failed.failure = Some(FailureKind::TimedOut);
        assert_eq!(final_line(en(), &failed), "✗ Podcast failed: timed out");

        let cancelled = job(JobStatus::Cancelled, None);
        assert_eq!(final_line(en(), &cancelled), "✗ Podcast cancelled");
        assert_eq!(final_line(fr(), &cancelled), "✗ Podcast annulé");
    }

    #[test]
    fn progress_cells_read_like_the_list_shows_them() {
        let j = job(
            JobStatus::Processing,
            Some(Progress::new(2, 5, "stage-test-step")),
        );
        assert_eq!(progress_cell(en(), &j), "40% Step 2/5");
        let queued = job(
            JobStatus::Pending,
            Some(Progress::new(0, 0, "stage-queued")),
        );
        assert_eq!(progress_cell(en(), &queued), "Waiting for a worker");
        assert_eq!(progress_cell(en(), &job(JobStatus::Pending, None)), "—");
    }

    #[test]
    fn statuses_and_kinds_parse_and_bad_ones_list_the_choices() {
        assert_eq!(parse_status("error"), Ok(JobStatus::Error));
        assert_eq!(parse_status(" Pending "), Ok(JobStatus::Pending));
        assert_eq!(parse_kind("study-guide"), Ok(JobKind::StudyGuide));
        assert_eq!(parse_kind("study_guide"), Ok(JobKind::StudyGuide));
        let bad = parse_status("done").unwrap_err();
        assert!(
            bad.contains("completed") && bad.contains("cancelled"),
            "{bad}"
        );
        let bad = parse_kind("essay").unwrap_err();
        assert!(bad.contains("study_guide"), "{bad}");
        assert!(!bad.contains("test"), "{bad}");
    }

    #[test]
    fn a_bad_status_is_a_localized_usage_error() {
        let l = fr();
        let cmd =
            crate::cli::help::localize(<crate::cli::Cli as clap::CommandFactory>::command(), l);
        let err = cmd
            .try_get_matches_from(["mentor", "jobs", "list", "--status", "done"])
            .expect_err("a bad status parsed");
        assert_eq!(err.exit_code(), 2);
        let text = crate::cli::usage::render(&err, l);
        assert!(text.contains("« done »"), "{text}");
        assert!(text.contains("pending, processing"), "{text}");
    }

    #[test]
    fn show_lists_every_field_that_is_set() {
        let mut j = job(JobStatus::Error, None);
        j.failure = Some(FailureKind::Permanent);
        j.error_message = Some("bad input".into());
        j.finished = Some(Timestamp(T0 + 1_000));
        j.topic = String::new();
        let fields = job_fields(en(), &j, Timestamp(T0 + 2_000));
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        for key in [
            "ID", "Kind", "Status", "Notebook", "Artifact", "Topic", "Attempts", "Finished",
            "Failure", "Error",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert!(fields
            .iter()
            .any(|(k, v)| k == "Topic" && v == "(the whole notebook)"));
        assert!(fields.iter().any(|(k, v)| k == "Status" && v == "failed"));
    }
}
