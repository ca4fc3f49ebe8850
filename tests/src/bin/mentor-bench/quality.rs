//! `quality`: what the built-in model makes of real documents, judged. Every held-out
//! document (`tests/fixtures/documents`, see `mentor_tests::held_out`) goes into a notebook of
//! a fresh home with the built-in model (the test model, SmolLM2-135M-Instruct, at a
//! 2048-token window: 4096 tokens in 2 sequences, 2 threads, no model server), and the release
//! `mentor` asks for a quiz of 3 questions, a study guide and a brief short podcast on the
//! document's topic, one after the other, each followed to its end (`--wait`).
//!
//! For each kind: `<kind>_ready_share` (jobs that ended ready ÷ jobs) and `<kind>_mean_s`
//! (submission to the end, ready or failed). `judge_rejected_ready` counts the ready
//! artifacts the independent judge (`mentor_tests::judge`) calls unusable: the quality gates'
//! promise is that it stays 0. `--samples N` runs the first N documents. With
//! `MENTOR_BENCH_QUALITY_OUT=DIR`, every artifact (ready or failed) and its verdict is written
//! to `DIR/<document>-<kind>.json`, to be read.
//!
//! Then the chat, in this process (the model client and the local engine as `mentord` has
//! them, 2 threads): the same teaching questions (each held-out topic, asked
//! [`CHAT_SAMPLES_PER_TOPIC`] times, at the chat's default sampling, replies of up to
//! [`CHAT_REPLY_TOKENS`] tokens, the whole reply read) with the DRY penalty off and at
//! `llm.local.dry_multiplier`'s default. `chat_loop_share_off` and `chat_loop_share_dry` are
//! the shares of replies the loop detector (`quality::looping`) would stop;
//! `chat_trigram_variety_off` and `…_dry` the mean share of distinct word trigrams in a
//! reply (1: no three words said twice in the same order).

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use mentor_daemon::llm::{ChatRequest, Delta, Llm, Priority, WireMessage};
use mentor_shared::config::{LlmConfig, LocalLlmConfig, DEFAULT_DRY_MULTIPLIER};
use mentor_tests::held_out::{self, Outcome};
use serde_json::json;

use super::{progress, Bench, Report};

/// Times each topic is asked in the chat measurement, per setting.
const CHAT_SAMPLES_PER_TOPIC: usize = 4;
/// The longest reply in the chat measurement.
const CHAT_REPLY_TOKENS: u32 = 384;

/// The share of replies that loop, and the mean trigram variety, with DRY at `dry`.
async fn chat_loops(model: &std::path::Path, dry: f32, samples: usize) -> Result<(f64, f64)> {
    let config = LlmConfig {
        provider: "local".into(),
        ..LlmConfig::default()
    };
    let local = LocalLlmConfig {
        context_tokens: 4096,
        sequences: 2,
        threads: 2,
        dry_multiplier: dry,
        ..LocalLlmConfig::default()
    };
    let llm = Llm::new(&config)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_local(model.to_path_buf(), &local, Duration::ZERO);
    let (mut loops, mut variety, mut n) = (0usize, 0.0, 0usize);
    for (_, topic) in &held_out::DOCUMENTS {
        for _ in 0..samples {
            let request = ChatRequest {
                messages: vec![
                    WireMessage::System(
                        "You are a patient teacher. Explain clearly, with examples.".into(),
                    ),
                    WireMessage::User(format!("Explain {topic} to me, step by step.")),
                ],
                max_tokens: Some(CHAT_REPLY_TOKENS),
                ..ChatRequest::default()
            };
            let mut stream = llm
                .stream(&request, Priority::Chat)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut text = String::new();
            while let Some(delta) = stream.next().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                if let Delta::Text(t) = delta {
                    text.push_str(&t);
                }
            }
            if mentor_daemon::jobs::quality::looping(&text).is_some() {
                loops += 1;
            }
            variety += trigram_variety(&text);
            n += 1;
        }
    }
    let n = n.max(1) as f64;
    Ok((loops as f64 / n, variety / n))
}

/// Distinct word trigrams ÷ trigrams (1 for a text too short to have any).
fn trigram_variety(text: &str) -> f64 {
    let words: Vec<String> = mentor_daemon::jobs::quality::words(text);
    let trigrams: Vec<&[String]> = words.windows(3).collect();
    if trigrams.is_empty() {
        return 1.0;
    }
    let distinct: std::collections::HashSet<&[String]> = trigrams.iter().copied().collect();
    distinct.len() as f64 / trigrams.len() as f64
}

pub fn scenario_quality(bench: &Bench) -> Result<Report> {
    ensure!(
        bench.bins.is_some(),
        "quality runs the release binaries: cargo build --release -p mentor-daemon -p mentor-tui"
    );
    mentor_tests::use_release_binaries();
    let model = std::env::var_os("MENTOR_TEST_MODEL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(mentor_tests::test_model_path);
    ensure!(
        model.is_file(),
        "the test model {} is missing: run ./install.sh --test",
        model.display()
    );
    let out = std::env::var_os("MENTOR_BENCH_QUALITY_OUT").map(std::path::PathBuf::from);
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let documents = bench
        .samples(held_out::DOCUMENTS.len())
        .min(held_out::DOCUMENTS.len());
    let mut all: Vec<Outcome> = Vec::new();
    for document in &held_out::DOCUMENTS[..documents] {
        progress(&format!("{}: quiz, study guide, brief podcast", document.0));
        // A fresh home (and daemon) per document, as a learner's first notebook.
        let env = held_out::home(&model, 2);
        let outcomes = held_out::run(&env, *document, &held_out::KINDS);
        for o in &outcomes {
            progress(&format!(
                "  {}: {} in {:.0} s{}",
                o.kind,
                if o.ready { "ready" } else { "failed" },
                o.seconds,
                match (&o.verdict, &o.error) {
                    (Some(v), _) => format!(" — judge: {v}"),
                    (None, Some(e)) => format!(" — {e}"),
                    _ => String::new(),
                }
            ));
            if let Some(dir) = &out {
                let file = dir.join(format!("{}-{}.json", o.document, o.kind));
                let record = json!({
                    "document": o.document, "kind": o.kind, "ready": o.ready,
                    "seconds": o.seconds, "error": o.error,
                    "verdict": o.verdict.as_ref().map(|v| json!({"usable": v.usable, "reasons": v.reasons})),
                    "artifact": o.artifact,
                });
                std::fs::write(&file, serde_json::to_string_pretty(&record)?)
                    .with_context(|| format!("write {}", file.display()))?;
            }
        }
        all.extend(outcomes);
    }
    let mut metrics: Vec<(&'static str, f64)> = Vec::new();
    for (kind, ready_key, mean_key) in [
        ("quiz", "quiz_ready_share", "quiz_mean_s"),
        (
            "study_guide",
            "study_guide_ready_share",
            "study_guide_mean_s",
        ),
        ("podcast", "podcast_ready_share", "podcast_mean_s"),
    ] {
        let runs: Vec<&Outcome> = all.iter().filter(|o| o.kind == kind).collect();
        let n = runs.len().max(1) as f64;
        let ready = runs.iter().filter(|o| o.ready).count() as f64;
        let seconds: f64 = runs.iter().map(|o| o.seconds).sum();
        metrics.push((ready_key, ready / n));
        metrics.push((mean_key, seconds / n));
    }
    let rejected = all
        .iter()
        .filter(|o| o.verdict.as_ref().is_some_and(|v| !v.usable))
        .count();
    metrics.push(("judge_rejected_ready", rejected as f64));
    metrics.push(("documents", documents as f64));
    let samples = bench.samples.map_or(CHAT_SAMPLES_PER_TOPIC, |n| {
        n.clamp(1, CHAT_SAMPLES_PER_TOPIC)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("a runtime for the chat measurement")?;
    progress("chat replies with DRY off");
    let (loops_off, variety_off) = runtime.block_on(chat_loops(&model, 0.0, samples))?;
    progress(&format!(
        "chat replies with DRY at {DEFAULT_DRY_MULTIPLIER}"
    ));
    let (loops_dry, variety_dry) =
        runtime.block_on(chat_loops(&model, DEFAULT_DRY_MULTIPLIER, samples))?;
    metrics.push(("chat_loop_share_off", loops_off));
    metrics.push(("chat_loop_share_dry", loops_dry));
    metrics.push(("chat_trigram_variety_off", variety_off));
    metrics.push(("chat_trigram_variety_dry", variety_dry));
    Ok(Report {
        scenario: "quality",
        metrics,
    })
}
