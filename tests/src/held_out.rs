//! The held-out set run end to end: a real document from `tests/fixtures/documents` added to a
//! notebook, each generator run on it through the real `mentor` and `mentord`, and what ends
//! ready read by the independent [`judge`](crate::judge). The test suite runs one document
//! a run (in turn); `mentor-bench quality` runs them all.

use std::time::Instant;

use serde_json::Value;

use crate::judge::{judge, Verdict};
use crate::TestEnv;

/// The held-out documents and a topic for each (see the fixtures' README).
pub const DOCUMENTS: [(&str, &str); 7] = [
    ("shared-mime-info-spec.pdf", "Shared MIME-info Database"),
    ("camlidl-1.04.doc.pdf", "Interface Description Language"),
    ("zlib_how.html", "flush parameter"),
    ("users-and-groups.html", "users and groups"),
    ("zstd-README.md", "dictionary compression"),
    ("systemd-UIDS-GIDS.md", "UID ranges"),
    ("ascii.7.txt", "ASCII character set"),
];

/// What a learner asks for, as `mentor generate` arguments: a quiz of 3 questions, a study
/// guide, a brief short podcast.
pub const KINDS: [(&str, &[&str]); 3] = [
    ("quiz", &["--questions", "3"]),
    ("study_guide", &[]),
    ("podcast", &["--format", "brief", "--length", "short"]),
];

/// How one job on one document ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The document.
    pub document: String,
    /// `quiz`, `study_guide` or `podcast`.
    pub kind: String,
    /// Seconds from submission to the end.
    pub seconds: f64,
    /// Ready (else failed).
    pub ready: bool,
    /// The job's error message, when it failed.
    pub error: Option<String>,
    /// The judge's verdict on a ready artifact.
    pub verdict: Option<Verdict>,
    /// The artifact as `mentor artifacts show --json` prints it (ready or failed).
    pub artifact: Option<Value>,
}

/// A home with the built-in model at `model` and no server (its port closed): a 2048-token
/// window per sequence (4096 tokens, 2 sequences), `threads` CPU threads, espeak-ng speech.
pub fn home(model: &std::path::Path, threads: u32) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!(
        "[llm]\nbase_url = \"{}\"\n\n[llm.local]\nmodel = \"{}\"\ncontext_tokens = 4096\n\
         sequences = 2\nthreads = {threads}\n\n[jobs]\nmax_attempts = 1\n",
        crate::openai::closed_port_url(),
        model.display()
    ));
    env
}

/// Runs every kind in `kinds` on `document` in a fresh notebook of `env`, one after the
/// other, and judges what ends ready.
pub fn run(
    env: &TestEnv,
    (document, topic): (&str, &str),
    kinds: &[(&str, &[&str])],
) -> Vec<Outcome> {
    let notebook = document.replace('.', "-");
    env.mentor(&["notebook", "create", &notebook]).ok();
    let path = crate::fixture(&format!("documents/{document}"));
    let added = env
        .mentor(&[
            "source",
            "add",
            &notebook,
            path.to_str().unwrap_or("?"),
            "--json",
        ])
        .json();
    let source_id = added
        .as_array()
        .and_then(|a| a.first())
        .and_then(|s| s["id"].as_str())
        .or_else(|| added["id"].as_str())
        .unwrap_or_else(|| panic!("no source id: {added}"))
        .to_string();
    let shown = env.mentor(&["source", "show", &source_id, "--json"]).json();
    let text = shown["text"].as_str().unwrap_or_default().to_string();
    assert!(!text.is_empty(), "no text for {document}: {shown}");
    // What the artifact may draw words from: the source, the topic, the notebook's title
    // (a quiz is titled after the topic).
    let reference = format!("{text}\n{topic}\n{notebook}");
    kinds
        .iter()
        .map(|(kind, extra)| {
            let command = kind.replace('_', "-");
            let mut args = vec![
                "generate",
                command.as_str(),
                "--notebook",
                notebook.as_str(),
                "--topic",
                topic,
                "--wait",
                "--json",
            ];
            args.extend_from_slice(extra);
            let started = Instant::now();
            let run = env.mentor(&args);
            let seconds = started.elapsed().as_secs_f64();
            let last: Value = run
                .stdout
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str(l).ok())
                .unwrap_or_else(|| panic!("no job events for {kind} on {document}: {run:#?}"));
            let ready = last["status"] == "completed";
            let artifact = last["artifact_id"].as_str().map(|id| {
                let shown = env.mentor(&["artifacts", "show", id, "--json"]);
                serde_json::from_str::<Value>(&shown.stdout).unwrap_or(Value::Null)
            });
            let verdict =
                ready.then(|| judge(kind, artifact.as_ref().unwrap_or(&Value::Null), &reference));
            Outcome {
                document: document.to_string(),
                kind: kind.to_string(),
                seconds,
                ready,
                error: last["error_message"].as_str().map(str::to_string),
                verdict,
                artifact,
            }
        })
        .collect()
}
