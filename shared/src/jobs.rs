//! Background jobs and the events that report them: what `mentor jobs`, `mentor generate` and
//! the status lines of the terminal client read. The queue itself lives in the daemon.

use serde::{Deserialize, Serialize};

use crate::chat::{ChatMessage, ToolCall, TurnOutcome};
use crate::ids::{ArtifactId, JobId, MessageId, NotebookId};
use crate::time::Timestamp;

/// What a job produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// An audio overview: outline, transcript, speech.
    Podcast,
    /// A multiple-choice quiz.
    Quiz,
    /// A study guide in Markdown.
    StudyGuide,
    /// A scripted job used by the test suite and the benchmarks (only a daemon started with
    /// `MENTORD_TEST_HANDLERS=1` runs it).
    Test,
}

impl JobKind {
    /// Every kind, in display order.
    pub const ALL: [JobKind; 4] = [
        JobKind::Podcast,
        JobKind::Quiz,
        JobKind::StudyGuide,
        JobKind::Test,
    ];

    /// Stable lowercase name (as stored and as typed on the command line).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Podcast => "podcast",
            JobKind::Quiz => "quiz",
            JobKind::StudyGuide => "study_guide",
            JobKind::Test => "test",
        }
    }

    /// Parses [`JobKind::as_str`]'s output (a `-` is accepted for `_`).
    pub fn parse(s: &str) -> Option<JobKind> {
        let s = s.trim().replace('-', "_").to_ascii_lowercase();
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether jobs of this kind produce an artifact (and so get a placeholder at submission).
    pub fn makes_artifact(self) -> bool {
        !matches!(self, JobKind::Test)
    }

    /// The Fluent id of the kind's display name (`job-kind-podcast`, …).
    pub fn message_id(self) -> &'static str {
        match self {
            JobKind::Podcast => "job-kind-podcast",
            JobKind::Quiz => "job-kind-quiz",
            JobKind::StudyGuide => "job-kind-study_guide",
            JobKind::Test => "job-kind-test",
        }
    }
}

/// Where a job stands. `Pending → Processing → Completed | Error | Cancelled`; a retry takes
/// `Error` or `Cancelled` back to `Pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker (possibly until a retry's backoff has passed).
    Pending,
    /// A worker holds it.
    Processing,
    /// Finished with a result.
    Completed,
    /// Failed for good.
    Error,
    /// Cancelled by the learner.
    Cancelled,
}

impl JobStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Pending,
        JobStatus::Processing,
        JobStatus::Completed,
        JobStatus::Error,
        JobStatus::Cancelled,
    ];

    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Completed => "completed",
            JobStatus::Error => "error",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Parses [`JobStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<JobStatus> {
        let s = s.trim().to_ascii_lowercase();
        JobStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for the three end states.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Error | JobStatus::Cancelled
        )
    }
}

/// How far a running job has got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Steps done.
    pub current: u32,
    /// Steps in all (0 when unknown).
    pub total: u32,
    /// How much of the whole job is done, in percent (0–100): weighted over its steps, so it
    /// only grows, and reaches 100 only once the job has ended.
    pub percentage: u8,
    /// The step under way, as a Fluent message id (`stage-outline`, …) that the client shows
    /// in its own language with `current` and `total` as arguments.
    pub stage: String,
}

impl Progress {
    /// A progress record; the percentage is derived and clamped.
    pub fn new(current: u32, total: u32, stage: impl Into<String>) -> Progress {
        let percentage = if total == 0 {
            0
        } else {
            ((u64::from(current.min(total)) * 100) / u64::from(total)) as u8
        };
        Progress {
            current,
            total,
            percentage,
            stage: stage.into(),
        }
    }

    /// A progress record whose percentage is the whole job's (`current` and `total` count
    /// the steps of the stage under way).
    pub fn weighted(
        current: u32,
        total: u32,
        stage: impl Into<String>,
        percentage: u8,
    ) -> Progress {
        Progress {
            current,
            total,
            percentage: percentage.min(100),
            stage: stage.into(),
        }
    }
}

/// Why a job failed, for the client to word it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The handler said retrying cannot help (bad input, missing program, …).
    Permanent,
    /// Every attempt failed with a transient error.
    Exhausted,
    /// The daemon stopped (or a worker got stuck) during the last attempt.
    Interrupted,
    /// The last attempt ran past `jobs.timeout_secs`.
    TimedOut,
}

/// A job as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Id (`job:…`).
    pub id: JobId,
    /// What it produces.
    pub kind: JobKind,
    /// Where it stands.
    pub status: JobStatus,
    /// The notebook it works on.
    pub notebook_id: Option<NotebookId>,
    /// The artifact it fills, if its kind makes one.
    pub artifact_id: Option<ArtifactId>,
    /// The learner's topic or focus ("" for the whole notebook).
    pub topic: String,
    /// The job's parameters, as submitted.
    pub params: serde_json::Value,
    /// Last reported progress.
    pub progress: Option<Progress>,
    /// The handler's result, once completed.
    pub result: Option<serde_json::Value>,
    /// Why it failed (in the daemon's language), once failed — or the last transient error
    /// while a retry waits.
    pub error_message: Option<String>,
    /// The nature of the failure.
    pub failure: Option<FailureKind>,
    /// Attempts started so far.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When a pending job becomes eligible (later than now while a retry backs off).
    pub run_at: Timestamp,
    /// True once cancellation was asked for a running job (it ends within a second).
    pub cancel_requested: bool,
    /// Submission time.
    pub created: Timestamp,
    /// Last change.
    pub updated: Timestamp,
    /// When it reached its end state.
    pub finished: Option<Timestamp>,
}

/// Options of a podcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PodcastFormat {
    /// Two hosts in conversation.
    #[default]
    DeepDive,
    /// One speaker.
    Brief,
}

/// How long a podcast runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PodcastLength {
    /// A few segments.
    Short,
    /// The usual.
    #[default]
    Default,
    /// More segments.
    Long,
}

/// How hard a quiz is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    /// Recall.
    Easy,
    /// Understanding.
    #[default]
    Medium,
    /// Application.
    Hard,
}

/// Questions in a quiz when the learner does not say.
pub const DEFAULT_QUIZ_QUESTIONS: u32 = 5;

/// What to generate, with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSpec {
    /// A podcast.
    Podcast {
        /// Format.
        #[serde(default)]
        format: PodcastFormat,
        /// Length.
        #[serde(default)]
        length: PodcastLength,
    },
    /// A quiz.
    Quiz {
        /// Number of questions (1–50).
        questions: u32,
        /// Difficulty.
        #[serde(default)]
        difficulty: Difficulty,
    },
    /// A study guide.
    StudyGuide,
    /// A scripted test job.
    Test(TestScript),
}

impl JobSpec {
    /// The job kind this spec makes.
    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Podcast { .. } => JobKind::Podcast,
            JobSpec::Quiz { .. } => JobKind::Quiz,
            JobSpec::StudyGuide => JobKind::StudyGuide,
            JobSpec::Test(_) => JobKind::Test,
        }
    }
}

/// What the test handler does: `steps` steps of `step_ms` each, each recorded as a checkpoint
/// (skipped when resumed), then fails as told.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TestScript {
    /// Steps to run.
    pub steps: u32,
    /// Milliseconds per step.
    pub step_ms: u64,
    /// Fail the first `fail_times` runs with this error (after the steps).
    pub fail: Option<TestFailure>,
    /// How many runs fail, counted across retries and restarts (all when 0).
    pub fail_times: u32,
    /// Ignore cancellation (to prove the pool stops a handler that does not listen).
    pub ignore_cancel: bool,
    /// Make an artifact placeholder, as generation jobs do.
    pub artifact: bool,
    /// Make one model request (at job priority, through the daemon's gate) in each of the
    /// first `llm_calls` steps, as generators do.
    pub llm_calls: u32,
    /// After the steps, wait until this file exists (so a test decides when the job ends).
    pub hold: Option<std::path::PathBuf>,
}

/// A scripted failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestFailure {
    /// Retry with backoff.
    Transient,
    /// Fail at once.
    Permanent,
}

/// A request to start a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    /// The notebook (id or title).
    pub notebook: String,
    /// Topic or focus ("" for the whole notebook).
    pub topic: String,
    /// The learner's language (`en-US`, `fr-FR`); the daemon's when absent.
    pub language: Option<String>,
    /// What to generate.
    pub spec: JobSpec,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSubmitted {
    /// The job, pending.
    pub job: Job,
    /// Its artifact placeholder (status "generating"), if the kind makes one.
    pub artifact_id: Option<ArtifactId>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFilter {
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only this kind.
    pub kind: Option<JobKind>,
    /// Only this notebook (id or title).
    pub notebook: Option<String>,
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

/// Where an artifact stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactStatus {
    /// Its job runs.
    Generating,
    /// Done.
    Ready,
    /// Its job failed.
    Failed,
    /// Its job was cancelled.
    Cancelled,
}

impl ArtifactStatus {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactStatus::Generating => "generating",
            ArtifactStatus::Ready => "ready",
            ArtifactStatus::Failed => "failed",
            ArtifactStatus::Cancelled => "cancelled",
        }
    }

    /// Parses [`ArtifactStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<ArtifactStatus> {
        [
            ArtifactStatus::Generating,
            ArtifactStatus::Ready,
            ArtifactStatus::Failed,
            ArtifactStatus::Cancelled,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The artifact status that goes with a job's end state.
    pub fn for_job(status: JobStatus) -> ArtifactStatus {
        match status {
            JobStatus::Pending | JobStatus::Processing => ArtifactStatus::Generating,
            JobStatus::Completed => ArtifactStatus::Ready,
            JobStatus::Error => ArtifactStatus::Failed,
            JobStatus::Cancelled => ArtifactStatus::Cancelled,
        }
    }
}

/// Something a job made (or is making).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Id (`art:…`).
    pub id: ArtifactId,
    /// The notebook it belongs to.
    pub notebook_id: NotebookId,
    /// The job that makes it.
    pub job_id: JobId,
    /// What it is.
    pub kind: JobKind,
    /// Title (the topic, or the notebook's title).
    pub title: String,
    /// Where it stands.
    pub status: ArtifactStatus,
    /// Its content once ready (kind-specific JSON), or what was saved before a failure.
    pub data: Option<serde_json::Value>,
    /// Creation time.
    pub created: Timestamp,
    /// Last change.
    pub updated: Timestamp,
}

/// A position in the daemon's event stream. `epoch` changes when the daemon restarts, so a
/// cursor from an earlier daemon is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The daemon run the sequence numbers belong to.
    pub epoch: u64,
    /// The last sequence number received.
    pub seq: u64,
}

/// What a subscriber wants to hear about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Only this job.
    pub job: Option<JobId>,
    /// Only this notebook.
    pub notebook: Option<NotebookId>,
    /// Only jobs, or only the conversation (absent: both).
    #[serde(default)]
    pub kinds: EventKinds,
}

/// The two families of events. A client that follows both a conversation and its jobs holds
/// one long-poll for each, so a busy job (a progress event every few milliseconds) never
/// puts the teacher's next token behind a round trip; the global sequence numbers still
/// order the two streams against each other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKinds {
    /// Every event.
    #[default]
    All,
    /// `job` events only.
    Jobs,
    /// Everything but `job` events: messages, tokens, tool calls, ends of turns.
    Conversation,
}

impl EventKinds {
    /// Whether `body` is of these kinds.
    pub fn admit(self, body: &EventBody) -> bool {
        let job = matches!(body, EventBody::Job { .. });
        match self {
            EventKinds::All => true,
            EventKinds::Jobs => job,
            EventKinds::Conversation => !job,
        }
    }
}

/// The linger Mentor's own clients ask for on their job-events long-poll when they follow a
/// conversation too (`mentor chat`, the terminal client): a status line redrawn ten times a
/// second loses nothing, and busy jobs cost a few round trips a second instead of hundreds.
pub const JOBS_LINGER_MS: u64 = 100;

/// A long-poll for events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsRequest {
    /// Where the client is; `None` starts at the current end of the stream.
    pub after: Option<Cursor>,
    /// Longest wait for a first event, in milliseconds (capped by the daemon at 60 000).
    pub max_wait_ms: u64,
    /// Most events returned at once (capped at 1 000).
    pub max_events: u32,
    /// Which events.
    pub filter: EventFilter,
    /// Once an event is there, how long to wait for more before answering, in milliseconds
    /// (capped at 1 000; 0, the default: answer at once). For clients that draw what the
    /// events say, such as a status line: fewer round trips when jobs are busy.
    #[serde(default)]
    pub linger_ms: u64,
    /// Of several `job` events of one job with the same status in one answer, send only the
    /// last (each carries the whole record, so only intermediate progress is left out; every
    /// status change stays). For status lines, with `linger_ms`.
    #[serde(default)]
    pub coalesce_progress: bool,
}

/// Events after a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    /// The cursor to send next time.
    pub cursor: Cursor,
    /// The events, in order (possibly none, when the wait ended).
    pub events: Vec<Event>,
    /// True when the client's cursor is from another daemon run or fell out of the daemon's
    /// bounded history: events were missed, so the client must reload its state (e.g.
    /// `job_list`) and go on from `cursor`.
    pub reload: bool,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the stream.
    pub seq: u64,
    /// When it was published, in microseconds since the Unix epoch (for latency measurements).
    pub at_us: i64,
    /// What happened.
    pub body: EventBody,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// A job changed (state or progress); the full record after the change.
    Job {
        /// The job.
        job: Job,
    },
    /// A message was added to a conversation: the learner's, a notice, a tool result, or the
    /// start of a reply (state `streaming`, text empty).
    Message {
        /// The message as stored.
        message: ChatMessage,
    },
    /// More text of a streaming reply.
    Token {
        /// The conversation's notebook.
        notebook_id: NotebookId,
        /// The reply.
        message_id: MessageId,
        /// The text to append.
        text: String,
    },
    /// The teacher called a tool (the call is complete; its result follows as a `message`).
    ToolCall {
        /// The conversation's notebook.
        notebook_id: NotebookId,
        /// The reply that made the call.
        message_id: MessageId,
        /// The call.
        call: ToolCall,
    },
    /// A reply ended (complete, stopped or failed): the final record.
    MessageDone {
        /// The message as stored.
        message: ChatMessage,
    },
    /// A turn (the teacher's replies and tool calls after a learner message) ended.
    TurnEnded {
        /// The conversation's notebook.
        notebook_id: NotebookId,
        /// How it ended.
        outcome: TurnOutcome,
    },
}

impl EventBody {
    /// The notebook the event concerns, if any.
    pub fn notebook(&self) -> Option<NotebookId> {
        match self {
            EventBody::Job { job } => job.notebook_id,
            EventBody::Message { message } | EventBody::MessageDone { message } => {
                Some(message.notebook_id)
            }
            EventBody::Token { notebook_id, .. }
            | EventBody::ToolCall { notebook_id, .. }
            | EventBody::TurnEnded { notebook_id, .. } => Some(*notebook_id),
        }
    }
}
