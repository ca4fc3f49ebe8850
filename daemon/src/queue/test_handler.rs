//! The scripted job the test suite and the benchmarks run (kind `test`): it does what its
//! [`TestScript`] says — steps with checkpoints and progress, failures, a handler that ignores
//! cancellation — so the queue can be proven against the real daemon. A daemon registers it
//! only when started with `MENTORD_TEST_HANDLERS=1`.
//!
//! Every step it actually runs is appended to `test-steps.log` in the data directory
//! (`<job> <step> <attempt>`), so a test can show that a resumed job did not redo the steps
//! its checkpoints record.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;
use mentor_shared::jobs::{JobKind, TestFailure, TestScript};
use serde::Deserialize;

use mentor_shared::ApiError;

use super::pool::{JobContext, JobError, JobHandler};
use crate::llm::{ChatRequest, Llm, Priority, WireMessage};

/// The scripted handler.
pub struct TestHandler {
    log: Option<PathBuf>,
    kind: JobKind,
    llm: Option<Llm>,
}

impl TestHandler {
    /// A handler logging the steps it runs to `log` (if given).
    pub fn new(log: Option<PathBuf>) -> TestHandler {
        TestHandler {
            log,
            kind: JobKind::Test,
            llm: None,
        }
    }

    /// The same handler, able to make model requests (`llm_calls`).
    pub fn with_llm(mut self, llm: Llm) -> TestHandler {
        self.llm = Some(llm);
        self
    }

    /// A stand-in for a real generator (`podcast`, `quiz`, `study_guide`), so the chat's
    /// `generate_artifact` story can be tested end to end without a model or speech. Its
    /// script comes from words in brackets in the topic: `[steps=N]`, `[step_ms=N]`,
    /// `[fail]` (permanent failure after the steps), `[hold=PATH]` (after the steps, wait until
    /// the file exists). It records an `outline` checkpoint first,
    /// as the real generators do, so a failure walkthrough has material to use.
    pub fn stand_in(kind: JobKind, log: Option<PathBuf>) -> TestHandler {
        TestHandler {
            log,
            kind,
            llm: None,
        }
    }

    /// One model request at job priority, read to its end.
    async fn ask_model(&self, ctx: &JobContext, step: u32) -> Result<(), JobError> {
        let Some(llm) = &self.llm else {
            return Err(JobError::Permanent("no model client".into()));
        };
        let request = ChatRequest {
            messages: vec![WireMessage::User(format!(
                "Mentor test job {} step {step}",
                ctx.job().id
            ))],
            ..ChatRequest::default()
        };
        let fail = |e: ApiError| {
            if crate::llm::is_transient(&e) {
                JobError::Transient(e.to_string())
            } else {
                JobError::Permanent(e.to_string())
            }
        };
        let mut stream = llm.stream(&request, Priority::Job).await.map_err(fail)?;
        while stream.next().await.map_err(fail)?.is_some() {}
        Ok(())
    }

    fn record(&self, ctx: &JobContext, step: u32) {
        let Some(path) = &self.log else { return };
        let line = format!("{} {} {}\n", ctx.job().id, step, ctx.job().attempts);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::warn!(error = %e, "test handler cannot write its step log");
        }
    }
}

/// The script a stand-in reads from its topic.
fn stand_in_script(topic: &str) -> TestScript {
    let mut script = TestScript {
        steps: 3,
        step_ms: 200,
        fail: None,
        fail_times: 0,
        ignore_cancel: false,
        artifact: true,
        llm_calls: 0,
        hold: None,
    };
    for word in topic.split('[').skip(1).filter_map(|w| w.split(']').next()) {
        match word.split_once('=') {
            Some(("steps", n)) => script.steps = n.parse().unwrap_or(script.steps),
            Some(("step_ms", n)) => script.step_ms = n.parse().unwrap_or(script.step_ms),
            Some(("hold", path)) => script.hold = Some(PathBuf::from(path)),
            None if word == "fail" => script.fail = Some(TestFailure::Permanent),
            _ => {}
        }
    }
    script
}

#[derive(Deserialize)]
struct Params {
    spec: serde_json::Value,
}

impl JobHandler for TestHandler {
    fn kind(&self) -> JobKind {
        self.kind
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<serde_json::Value, JobError>> {
        Box::pin(async move {
            let script = if self.kind == JobKind::Test {
                let params: Params = ctx.params()?;
                let mut spec = params.spec;
                if let Some(obj) = spec.as_object_mut() {
                    obj.remove("kind");
                }
                serde_json::from_value(spec)
                    .map_err(|e| JobError::Permanent(format!("invalid test script: {e}")))?
            } else {
                let script = stand_in_script(&ctx.job().topic);
                if ctx.checkpoint_data("outline").is_none() {
                    let outline = format!("1. What {} is\n2. Why it matters", ctx.job().topic);
                    ctx.checkpoint("outline", &serde_json::json!({ "text": outline }))
                        .await?;
                }
                script
            };
            let mut ran = 0;
            let mut skipped = 0;
            for step in 0..script.steps {
                let name = format!("step-{step}");
                if ctx.checkpoint_data(&name).is_some() {
                    skipped += 1;
                    continue;
                }
                if !script.ignore_cancel {
                    ctx.check()?;
                }
                let pause = tokio::time::sleep(Duration::from_millis(script.step_ms));
                if script.ignore_cancel {
                    pause.await;
                } else {
                    tokio::select! {
                        _ = pause => {}
                        _ = ctx.cancelled().cancelled() => return Err(JobError::Cancelled),
                    }
                }
                if step < script.llm_calls {
                    self.ask_model(ctx, step).await?;
                }
                self.record(ctx, step);
                ran += 1;
                let done = serde_json::json!({ "attempt": ctx.job().attempts });
                ctx.step_done(&name, &done, (step + 1, script.steps, "stage-test-step"))
                    .await?;
            }
            if let Some(path) = &script.hold {
                while !tokio::fs::try_exists(path).await.unwrap_or(false) {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                        _ = ctx.cancelled().cancelled() => return Err(JobError::Cancelled),
                    }
                }
            }
            if let Some(fail) = script.fail {
                // Failures are counted in checkpoints, so the count survives retries and
                // restarts alike.
                let failures = (0..)
                    .take_while(|n| ctx.checkpoint_data(&format!("failure-{n}")).is_some())
                    .count() as u32;
                if script.fail_times == 0 || failures < script.fail_times {
                    ctx.checkpoint(&format!("failure-{failures}"), &ctx.job().attempts)
                        .await?;
                    let message = format!("scripted failure {}", failures + 1);
                    return Err(match fail {
                        TestFailure::Transient => JobError::Transient(message),
                        TestFailure::Permanent => JobError::Permanent(message),
                    });
                }
            }
            Ok(serde_json::json!({
                "ran": ran,
                "skipped": skipped,
                "attempt": ctx.job().attempts,
            }))
        })
    }
}
