//! The screen's sentences, in the learner's language: pure functions of the state, so the
//! widgets only place them.

use std::time::{Duration, Instant};

use mentor_shared::chat::ToolCall;
use mentor_shared::i18n::Localizer;
use mentor_shared::jobs::{Artifact, JobStatus};
use mentor_shared::t;
use mentor_shared::time::format_duration;

use crate::app::jobs::JobLine;
use crate::app::keymap::{keys_of, Action, Context};
use crate::cli::jobs::{failure_name, stage_text};
use crate::cli::output::clip;

/// Spinner frames (one every `SPINNER_FRAME`).
pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The spinner frame of a line at `now` (each line turns from its own start, so a frame is a
/// pure function of the state and the time).
pub fn spinner(since: Instant, now: Instant) -> &'static str {
    let ticks = now.saturating_duration_since(since).as_millis()
        / crate::app::SPINNER_FRAME.as_millis().max(1);
    SPINNER[(ticks % SPINNER.len() as u128) as usize]
}

/// A tool call in a few words: "Started a podcast on photosynthesis".
pub fn tool_call(l: &Localizer, call: &ToolCall) -> String {
    let args: serde_json::Value = serde_json::from_str(&call.arguments).unwrap_or_default();
    let text = |k: &str| args.get(k).and_then(|v| v.as_str()).unwrap_or("").trim();
    if call.name == "generate_artifact" {
        let topic = clip(text("topic"), 60);
        return t!(
            l,
            "tui-tool-started",
            kind = text("artifact_type"),
            topic = topic.as_str()
        );
    }
    t!(l, "tui-tool-used", tool = call.name.as_str())
}

/// The heading of a job's line: "Generating podcast…", "Podcast ready", "Podcast failed: …".
pub fn job_heading(l: &Localizer, line: &JobLine) -> String {
    let job = &line.job;
    let kind = job.kind.as_str();
    match job.status {
        JobStatus::Pending | JobStatus::Processing => t!(l, "job-line-running", kind = kind),
        JobStatus::Completed => t!(l, "job-line-ready", kind = kind),
        JobStatus::Cancelled => t!(l, "job-line-cancelled", kind = kind),
        JobStatus::Error => {
            let reason = match (&job.error_message, job.failure) {
                (Some(m), _) if !m.trim().is_empty() => clip(m, 200),
                (_, Some(f)) => failure_name(l, f),
                _ => t!(l, "job-line-no-reason"),
            };
            t!(l, "job-line-failed", kind = kind, reason = reason.as_str())
        }
    }
}

/// The stage of a running job ("Recording the voices, clip 3/12"), or that it waits.
pub fn job_stage(l: &Localizer, line: &JobLine) -> Option<String> {
    match &line.job.progress {
        Some(p) if !p.stage.is_empty() => Some(stage_text(l, p)),
        _ if line.job.status == JobStatus::Pending => Some(t!(l, "stage-queued")),
        _ => None,
    }
}

/// An elapsed time as the status lines show it.
pub fn elapsed(d: Duration) -> String {
    format_duration(d)
}

/// "Ctrl+D dismiss".
pub fn dismiss_hint(l: &Localizer) -> String {
    let key = first_key(Context::Global, Action::DismissFailed);
    t!(l, "tui-job-dismiss", key = key.as_str())
}

/// The first key of an action, for hints.
pub fn first_key(context: Context, action: Action) -> String {
    keys_of(context, action)
        .split(" / ")
        .next()
        .unwrap_or("")
        .to_string()
}

/// The footer under the input when no job has a line.
pub fn footer(l: &Localizer) -> String {
    let send = first_key(Context::Chat, Action::Send);
    let newline = first_key(Context::Chat, Action::Newline);
    let artifacts = first_key(Context::Global, Action::ToggleArtifacts);
    let help = first_key(Context::Global, Action::Help);
    t!(
        l,
        "tui-footer",
        send = send.as_str(),
        newline = newline.as_str(),
        artifacts = artifacts.as_str(),
        help = help.as_str()
    )
}

/// Said when an artifact has nothing to show yet.
pub fn nothing_to_open(artifact: &Artifact) -> String {
    let l = mentor_shared::i18n::ui();
    t!(l, "tui-nothing-to-open", title = artifact.title.as_str())
}

/// The letter of a quiz option.
pub fn letter(index: usize) -> char {
    crate::cli::quiz::letter(index)
}
