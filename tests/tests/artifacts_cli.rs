//! `mentor artifacts show|export|play` and `mentor quiz take|attempts` through the real
//! binaries, in English and in French.
//!
//! Two sorts of artifacts. *Seeded* ones test the commands themselves: a scripted stand-in
//! generator makes the artifact (`MENTORD_TEST_HANDLERS=stand-in`), then the test writes a
//! known content into its row, so every assertion can name the exact question, option and
//! file. *Made* ones test the whole story: the real generators ask the scripted
//! OpenAI-compatible server (answers shaped by the JSON schema each request names) and
//! espeak-ng speaks the podcast.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mentor_shared::artifacts::{
    Audio, Outline, OutlineSegment, Podcast, Question, Quiz, SourceRef, StudyGuide, Turn,
};
use mentor_shared::ids::ArtifactId;
use mentor_shared::jobs::{Difficulty, PodcastFormat};
use mentor_tests::openai::{Reply, ScriptedServer};
use mentor_tests::{Run, TestEnv};
use serde_json::{json, Value};

/// Runs `mentor ARGS…` in `dir`, with `path` as PATH when given.
fn mentor_in(env: &TestEnv, dir: &Path, path: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = env.command("mentor");
    cmd.args(args).current_dir(dir);
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().expect("run mentor");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The questions every quiz of these tests asks; the answers are B, D, A.
fn questions() -> Vec<Question> {
    let source = Some(SourceRef {
        id: "src:01JB0000000000000000000000".into(),
        title: "cells.md".into(),
    });
    let q = |question: &str, options: [&str; 4], answer: usize, explanation: &str| Question {
        question: question.into(),
        options: options.iter().map(|o| o.to_string()).collect(),
        answer,
        explanation: explanation.into(),
        source: source.clone(),
    };
    vec![
        q(
            "Which organelle makes ATP?",
            ["Ribosome", "Mitochondrion", "Nucleus", "Golgi apparatus"],
            1,
            "Mitochondria turn sugar into ATP.",
        ),
        q(
            "What does the membrane do?",
            [
                "Stores DNA",
                "Makes proteins",
                "Captures light",
                "Filters what enters the cell",
            ],
            3,
            "The membrane filters what enters the cell.",
        ),
        q(
            "What is ATP?",
            [
                "The cell's energy currency",
                "A membrane protein",
                "A kind of DNA",
                "A sugar",
            ],
            0,
            "ATP carries energy inside the cell.",
        ),
    ]
}

fn quiz() -> Quiz {
    Quiz {
        title: "Cells quiz".into(),
        difficulty: Difficulty::Medium,
        language: "en-US".into(),
        questions: questions(),
    }
}

fn podcast(audio: Option<&Path>) -> Podcast {
    Podcast {
        title: "Inside the cell".into(),
        format: PodcastFormat::DeepDive,
        language: "en-US".into(),
        speakers: vec!["Alex".into(), "Sam".into()],
        outline: Outline {
            title: "Inside the cell".into(),
            segments: vec![OutlineSegment {
                title: "Energy".into(),
                points: vec!["Mitochondria make ATP".into()],
            }],
        },
        turns: vec![
            Turn {
                speaker: "Alex".into(),
                text: "Where does a cell get its energy?".into(),
            },
            Turn {
                speaker: "Sam".into(),
                text: "From its mitochondria.".into(),
            },
        ],
        transcript:
            "**Alex:** Where does a cell get its energy?\n\n**Sam:** From its mitochondria.\n"
                .into(),
        audio: audio.map(|path| Audio {
            path: path.display().to_string(),
            duration_ms: 4_000,
            sample_rate: 22_050,
            engine: "espeak-ng".into(),
            voices: vec!["en-us+m3".into(), "en-us+f2".into()],
        }),
        sources: vec![],
    }
}

/// A short, valid WAV file (mono, 16-bit, silence).
fn write_wav(path: &Path) -> Vec<u8> {
    let samples = 2205u32;
    let data = samples * 2;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&22_050u32.to_le_bytes());
    bytes.extend_from_slice(&44_100u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    bytes.resize(bytes.len() + data as usize, 0);
    std::fs::write(path, &bytes).expect("write wav");
    bytes
}

/// A home with stand-in generators and a notebook "Biology".
fn stand_in_home(env: TestEnv) -> TestEnv {
    let env = env.with_stand_ins();
    env.mentor(&["notebook", "create", "Biology"]).ok();
    env
}

/// The artifact id in `generate --json` output (its first line is the submission).
fn submitted_artifact(run: &Run) -> String {
    let first = run.stdout.lines().next().unwrap_or("");
    let v: Value = serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
    v["artifact_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no artifact id: {run:#?}"))
        .to_string()
}

/// Has a stand-in make an artifact of `kind` (`quiz`, `podcast`, `study-guide`) and waits
/// for it; returns its id.
fn stand_in(env: &TestEnv, kind: &str, topic: &str) -> String {
    let run = env.mentor(&[
        "generate",
        kind,
        "--notebook",
        "Biology",
        "--topic",
        topic,
        "--wait",
        "--json",
    ]);
    submitted_artifact(&run)
}

/// A ready artifact of `kind` holding `content`: made by a stand-in, its data then replaced.
fn seeded<T: serde::Serialize>(env: &TestEnv, kind: &str, content: &T) -> String {
    let id = stand_in(env, kind, "cells [steps=1] [step_ms=10]");
    let ulid = ArtifactId::parse(&id).expect("artifact id").ulid();
    let db = rusqlite::Connection::open(env.dirs().database()).expect("open db");
    db.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    let data = serde_json::to_string(content).expect("json");
    let changed = db
        .execute(
            "UPDATE artifacts SET data = ?1, status = 'ready' WHERE id = ?2",
            rusqlite::params![data, ulid],
        )
        .expect("seed the artifact");
    assert_eq!(changed, 1);
    id
}

/// A player that writes its arguments, one per line, to `log`.
fn recording_player(dir: &Path, log: &Path) -> PathBuf {
    let script = dir.join("player.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n", log.display()),
    )
    .expect("write player");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

// ---------------------------------------------------------------------------------------------
// Taking quizzes.

#[test]
fn a_quiz_is_taken_with_piped_answers_and_its_attempts_are_listed() {
    let env = stand_in_home(TestEnv::new());
    let id = seeded(&env, "quiz", &quiz());

    // A bad answer is asked again; B right, D right, B wrong (A was right).
    let run = env.mentor_with_stdin(&["quiz", "take", &id], "x\nb\n4\nB\n");
    let out = run.ok();
    for expected in [
        "Cells quiz — 3 questions",
        "Question 1 of 3: Which organelle makes ATP?",
        "   A. Ribosome\n   B. Mitochondrion\n   C. Nucleus\n   D. Golgi apparatus\n",
        "Answer with A, B, C or D.",
        "✓ Correct!",
        "Why: Mitochondria turn sugar into ATP.",
        "Source: cells.md",
        "✗ Not quite: the answer was A. The cell's energy currency",
        "Score: 2/3",
        "Attempt 1 saved",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    assert_eq!(out.matches("Your answer (A–D):").count(), 4, "{out}");

    let attempts = env.mentor(&["quiz", "attempts", &id, "--json"]).json();
    assert_eq!(attempts.as_array().map(Vec::len), Some(1), "{attempts}");
    assert_eq!(attempts[0]["number"], 1);
    assert_eq!(attempts[0]["answers"], json!([1, 3, 1]));
    assert_eq!(
        (attempts[0]["score"].as_u64(), attempts[0]["total"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(attempts[0]["artifact_id"], id.as_str());

    // With --json the conversation goes to stderr and stdout is the attempt alone.
    let bare = &id["art:".len()..];
    let run = env.mentor_with_stdin(&["quiz", "take", bare, "--json"], "2\nd\na\n");
    let attempt = run.json();
    assert_eq!(attempt["number"], 2);
    assert_eq!(attempt["score"], 3);
    assert!(run.stderr.contains("Question 3 of 3"), "{run:#?}");

    let table = env.mentor(&["quiz", "attempts", &id]);
    let text = table.ok();
    for expected in ["#", "SCORE", "WHEN", "2/3", "3/3", "ago"] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "oldest first: {text}");
    assert!(
        lines[1].starts_with('1') && lines[2].starts_with('2'),
        "{text}"
    );
}

#[test]
fn a_quiz_is_taken_in_french() {
    let env = stand_in_home(TestEnv::new().french());
    let id = seeded(&env, "quiz", &quiz());
    let run = env.mentor_with_stdin(&["quiz", "take", &id], "e\nB\nA\nA\n");
    let out = run.ok();
    for expected in [
        "Question 1 sur 3 : Which organelle makes ATP?",
        "Votre réponse (A–D) :",
        "Répondez par A, B, C ou D.",
        "Bonne réponse !",
        "Pas tout à fait : la réponse était D. Filters what enters the cell",
        "Pourquoi : ",
        "Source : cells.md",
        "Score : 2/3",
        "Tentative 1 enregistrée",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    let none = env.mentor(&["quiz", "attempts", "art:01JB0000000000000000000000"]);
    assert!(none.fails().contains("Aucun contenu généré"), "{none:#?}");
}

#[test]
fn the_end_of_input_mid_quiz_saves_nothing() {
    let env = stand_in_home(TestEnv::new());
    let id = seeded(&env, "quiz", &quiz());
    let run = env.mentor_with_stdin(&["quiz", "take", &id], "b\nd\n");
    let err = run.fails();
    assert!(err.contains("nothing was saved"), "{err}");
    assert!(err.contains(&format!("mentor quiz take {id}")), "{err}");
    assert!(run.stdout.contains("Question 3 of 3"), "{run:#?}");
    assert!(!run.stdout.contains("Score"), "{run:#?}");
    let attempts = env.mentor(&["quiz", "attempts", &id, "--json"]).json();
    assert_eq!(attempts, json!([]));
    let empty = env.mentor(&["quiz", "attempts", &id]);
    assert!(empty.ok().contains("No attempts"), "{empty:#?}");
}

#[test]
fn only_a_ready_quiz_can_be_taken() {
    let env = stand_in_home(TestEnv::new());
    let unknown = env.mentor(&["quiz", "take", "art:01JB0000000000000000000000"]);
    assert!(unknown.fails().contains("No artifact"), "{unknown:#?}");
    let garbage = env.mentor(&["quiz", "take", "nonsense"]);
    assert!(garbage.fails().contains("No artifact"), "{garbage:#?}");

    let guide = stand_in(&env, "study-guide", "cells [steps=1] [step_ms=10]");
    for args in [["quiz", "take", &guide], ["quiz", "attempts", &guide]] {
        let run = env.mentor(&args);
        let err = run.fails();
        assert!(err.contains("is a study guide, not a quiz"), "{err}");
    }

    // Still being made: say which job to watch.
    let run = env.mentor(&[
        "generate",
        "quiz",
        "--notebook",
        "Biology",
        "--topic",
        "cells [steps=200] [step_ms=100]",
        "--json",
    ]);
    let submitted = run.json();
    let pending = submitted["artifact_id"].as_str().expect("artifact id");
    let job = submitted["job"]["id"].as_str().expect("job id");
    let run = env.mentor_with_stdin(&["quiz", "take", pending], "a\n");
    let err = run.fails();
    assert!(err.contains("still being made"), "{err}");
    assert!(err.contains(&format!("mentor jobs watch {job}")), "{err}");
    env.mentor(&["jobs", "cancel", job]).ok();
}

// ---------------------------------------------------------------------------------------------
// Showing.

#[test]
fn artifacts_are_shown_for_their_kind() {
    let env = stand_in_home(TestEnv::new());
    let home = env.path().to_path_buf();
    let wav = home.join("seeded.wav");
    write_wav(&wav);

    let pod = seeded(&env, "podcast", &podcast(Some(&wav)));
    let shown = env.mentor(&["artifacts", "show", &pod]);
    let out = shown.ok();
    for expected in [
        "Inside the cell",
        "Duration",
        "4s",
        wav.to_str().unwrap_or("?"),
        "Speakers",
        "Alex: Where does a cell get its energy?\nSam: From its mitochondria.",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    assert!(!out.contains('\x1b'), "no styling in a pipe: {out}");
    let json = env.mentor(&["artifact", "show", &pod, "--json"]).json();
    assert_eq!(json["data"]["audio"]["path"], wav.to_str().unwrap_or("?"));

    let words = seeded(&env, "podcast", &podcast(None));
    let out = env.mentor(&["artifacts", "show", &words]);
    assert!(out.ok().contains("transcript only"), "{out:#?}");

    let q = seeded(&env, "quiz", &quiz());
    let out = env.mentor(&["artifacts", "show", &q]);
    let text = out.ok();
    assert!(
        text.contains("1. Which organelle makes ATP?\n   A. Ribosome"),
        "{text}"
    );
    assert!(!text.contains("Answer:"), "answers hidden: {text}");
    let revealed = env.mentor(&["artifacts", "show", &q, "--answers"]);
    assert!(
        revealed.ok().contains("Answer: B. Mitochondrion"),
        "{revealed:#?}"
    );

    let guide = StudyGuide {
        title: "The cell".into(),
        language: "en-US".into(),
        markdown: "# The cell\n\n## Key concepts\n\n- **Mitochondria** make ATP.\n".into(),
        sources: vec![],
    };
    let g = seeded(&env, "study-guide", &guide);
    let out = env.mentor(&["artifacts", "show", &g]);
    assert!(
        out.ok()
            .contains("## Key concepts\n\n- **Mitochondria** make ATP."),
        "{out:#?}"
    );

    // A failed stand-in keeps its outline; the failure and the way out are shown.
    let failed = stand_in(&env, "podcast", "cells [steps=1] [step_ms=10] [fail]");
    let out = env.mentor(&["artifacts", "show", &failed]);
    let text = out.ok();
    for expected in [
        "Failed: scripted failure 1",
        "Outline made before the failure:",
        "Why it matters",
        "mentor jobs retry job:",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Exporting.

#[test]
fn a_quiz_is_exported_as_json_or_markdown_and_nothing_is_overwritten_by_accident() {
    let env = stand_in_home(TestEnv::new());
    let id = seeded(&env, "quiz", &quiz());
    let dir = tempfile::tempdir().expect("tempdir");

    // A relative path, in the command's own directory; JSON by default.
    let run = mentor_in(
        &env,
        dir.path(),
        None,
        &["artifacts", "export", &id, "quiz.json"],
    );
    let out = run.ok();
    let written = dir.path().join("quiz.json");
    assert!(out.contains("Wrote ") && out.contains("quiz.json"), "{out}");
    let back: Quiz = serde_json::from_slice(&std::fs::read(&written).expect("read")).expect("quiz");
    assert_eq!(back, quiz());

    let md = dir.path().join("quiz.md");
    let run = env.mentor(&[
        "artifacts",
        "export",
        &id,
        md.to_str().unwrap_or("?"),
        "--format",
        "md",
        "--json",
    ]);
    let report = run.json();
    assert_eq!(report["format"], "md");
    assert_eq!(report["artifact"], id.as_str());
    let text = std::fs::read_to_string(&md).expect("read md");
    for expected in [
        "# Cells quiz",
        "## 1. Which organelle makes ATP?",
        "- B. Mitochondrion",
        "Answer: B. Mitochondrion",
        "Why: Mitochondria turn sugar into ATP.",
        "Source: cells.md",
        "Answer: A. The cell's energy currency",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    assert_eq!(report["bytes"].as_u64(), Some(text.len() as u64));

    // The file exists: refused, and left as it was.
    std::fs::write(&written, "mine").expect("overwrite");
    let again = mentor_in(
        &env,
        dir.path(),
        None,
        &["artifacts", "export", &id, "quiz.json"],
    );
    let err = again.fails();
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&written).ok().as_deref(),
        Some("mine")
    );
    let forced = mentor_in(
        &env,
        dir.path(),
        None,
        &["artifacts", "export", &id, "quiz.json", "--force"],
    );
    forced.ok();
    assert!(std::fs::read_to_string(&written)
        .unwrap_or_default()
        .contains("Cells quiz"));

    let wav = env.mentor(&["artifacts", "export", &id, "q.wav", "--format", "wav"]);
    assert!(
        wav.fails().contains("cannot be exported as wav"),
        "{wav:#?}"
    );
    let nowhere = env.mentor(&["artifacts", "export", &id, "/no/such/dir/q.json"]);
    assert!(nowhere.fails().contains("does not exist"), "{nowhere:#?}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_podcast_is_exported_as_sound_or_transcript() {
    let env = stand_in_home(TestEnv::new().french());
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("source.wav");
    let bytes = write_wav(&wav);
    let id = seeded(&env, "podcast", &podcast(Some(&wav)));

    let out = dir.path().join("episode.wav");
    let run = env.mentor(&["artifacts", "export", &id, out.to_str().unwrap_or("?")]);
    assert!(run.ok().contains("écrit"), "{run:#?}");
    assert_eq!(std::fs::read(&out).ok(), Some(bytes));

    let md = dir.path().join("episode.md");
    env.mentor(&[
        "artifacts",
        "export",
        &id,
        md.to_str().unwrap_or("?"),
        "--format",
        "md",
    ])
    .ok();
    let text = std::fs::read_to_string(&md).expect("md");
    assert!(
        text.starts_with("# Inside the cell\n\n**Alex:** Where"),
        "{text}"
    );

    // The sound file has gone: say so, and what to do instead.
    std::fs::remove_file(&wav).expect("remove");
    let gone = env.mentor(&["artifacts", "export", &id, "x.wav"]);
    let err = gone.fails();
    assert!(
        err.contains("a disparu") && err.contains("--format md"),
        "{err}"
    );

    // Transcript only: Markdown by default, no WAV.
    let words = seeded(&env, "podcast", &podcast(None));
    let md2 = dir.path().join("words.md");
    env.mentor(&["artifacts", "export", &words, md2.to_str().unwrap_or("?")])
        .ok();
    assert!(std::fs::read_to_string(&md2)
        .unwrap_or_default()
        .contains("**Sam:**"));
    let no_wav = env.mentor(&["artifacts", "export", &words, "w.wav", "--format", "wav"]);
    assert!(
        no_wav.fails().contains("transcription seule"),
        "{no_wav:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Playing.

#[test]
fn a_podcast_is_played_by_the_player_given_or_configured() {
    let env = stand_in_home(TestEnv::new());
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("episode.wav");
    write_wav(&wav);
    let id = seeded(&env, "podcast", &podcast(Some(&wav)));
    let log = dir.path().join("args.txt");
    let player = recording_player(dir.path(), &log);

    let flag = format!("{}  --volume 50", player.display());
    let run = env.mentor(&["artifacts", "play", &id, "--player", &flag]);
    let out = run.ok();
    assert!(
        out.contains("Playing “Inside the cell” (4s) with player.sh"),
        "{out}"
    );
    assert!(
        out.contains("Alex: Where does a cell get its energy?"),
        "{out}"
    );
    let args = std::fs::read_to_string(&log).expect("the player ran");
    assert_eq!(args, format!("--volume\n50\n{}\n", wav.display()));

    // From the configuration.
    std::fs::remove_file(&log).expect("rm log");
    env.write_config(&format!(
        "[artifacts]\nplayer = \"{} --cfg\"\n",
        player.display()
    ));
    env.mentor(&["artifacts", "play", &id]).ok();
    let args = std::fs::read_to_string(&log).expect("the configured player ran");
    assert_eq!(args, format!("--cfg\n{}\n", wav.display()));

    // Not a podcast, no sound, a player that is not there.
    let q = seeded(&env, "quiz", &quiz());
    let run = env.mentor(&["artifacts", "play", &q, "--player", "true"]);
    assert!(run.fails().contains("is a quiz, not a podcast"), "{run:#?}");
    let words = seeded(&env, "podcast", &podcast(None));
    let run = env.mentor(&["artifacts", "play", &words, "--player", "true"]);
    assert!(run.fails().contains("transcript-only"), "{run:#?}");
    let run = env.mentor(&["artifacts", "play", &id, "--player", "/no/such/player"]);
    assert!(run.fails().contains("Cannot start the player"), "{run:#?}");
}

#[test]
fn without_any_player_the_message_says_where_it_looked() {
    let env = stand_in_home(TestEnv::new());
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("episode.wav");
    write_wav(&wav);
    let id = seeded(&env, "podcast", &podcast(Some(&wav)));
    // The daemon runs already; mentor itself gets a PATH with no player on it.
    let empty = dir.path().join("bin");
    std::fs::create_dir(&empty).expect("mkdir");
    let run = mentor_in(&env, dir.path(), Some(&empty), &["artifacts", "play", &id]);
    let err = run.fails();
    for expected in [
        "mpv, ffplay, paplay, aplay, afplay",
        "[artifacts]",
        "--player",
    ] {
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// With the real generators (the scripted model server answers their requests).

/// The schema a structured request names (`quiz`, `podcast_outline`, …); without
/// `response_format`, the name found in its system message.
fn request_name(request: &Value) -> String {
    if let Some(name) = request["response_format"]["json_schema"]["name"].as_str() {
        return name.to_string();
    }
    let system: String = request["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["role"] == "system")
                .filter_map(|m| m["content"].as_str())
                .collect()
        })
        .unwrap_or_default();
    ["podcast_segment", "podcast_outline", "quiz"]
        .into_iter()
        .find(|name| system.contains(name))
        .unwrap_or("")
        .to_string()
}

/// Answers the generators' requests: the quiz of [`questions`], a podcast of Alex and Sam.
fn model(request: &Value) -> Reply {
    let schema = &request["response_format"]["json_schema"]["schema"];
    let answer = match request_name(request).as_str() {
        "quiz" | "quiz_question" => {
            // One question a request, the one it asks for ("Write question 2 now.").
            let by_index = schema["properties"]["answer"]["type"] == "integer";
            let asked = questions();
            let i = (mentor_tests::answers::question_number(request).max(1) - 1) as usize;
            let q = &asked[i % asked.len()];
            let text = if i < asked.len() {
                q.question.clone()
            } else {
                format!("{} ({})", q.question, i + 1)
            };
            let key = if by_index {
                json!(q.answer)
            } else {
                json!(q.options[q.answer])
            };
            json!({
                "question": text, "options": q.options, "answer": key,
                "explanation": q.explanation, "source": 1,
            })
        }
        // A podcast as long as its format promises, from the source.
        "podcast_outline" | "podcast_segment" => {
            return mentor_tests::answers::good_answer(request)
        }
        other => return Reply::status(400, format!("unexpected request “{other}”")),
    };
    Reply::text(&answer.to_string())
}

/// A home whose daemon runs the real generators against the scripted model, with a notebook
/// "Biology" holding one source.
fn generator_home(env: TestEnv) -> (TestEnv, ScriptedServer) {
    let server = ScriptedServer::start();
    server.set_responder(model);
    env.use_model(&server.base_url(), "");
    env.mentor(&["notebook", "create", "Biology"]).ok();
    let source = env.path().join("cells.md");
    std::fs::write(
        &source,
        "# Cells\n\nMitochondria turn sugar into ATP, the energy currency of the cell. \
         The membrane filters what enters the cell.\n",
    )
    .expect("write source");
    env.mentor(&["source", "add", "Biology", source.to_str().unwrap_or("?")])
        .ok();
    (env, server)
}

#[test]
fn a_generated_quiz_is_taken_exported_and_its_attempts_listed() {
    let (env, server) = generator_home(TestEnv::new());
    let run = env.mentor(&[
        "generate",
        "quiz",
        "--notebook",
        "Biology",
        "--questions",
        "3",
        "--wait",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let id = submitted_artifact(&run);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| request_name(r) == "quiz_question"),
        "the generator asked for a quiz"
    );

    let shown = env.mentor(&["artifacts", "show", &id, "--json"]).json();
    assert_eq!(shown["status"], "ready");
    let made: Quiz = serde_json::from_value(shown["data"].clone()).expect("a quiz");
    assert_eq!(made.questions.len(), 3);
    assert_eq!(
        made.questions.iter().map(|q| q.answer).collect::<Vec<_>>(),
        [1, 3, 0]
    );
    assert!(
        made.questions.iter().all(|q| q.source.is_some()),
        "each question cites the notebook's source: {made:?}"
    );

    let run = env.mentor_with_stdin(&["quiz", "take", &id], "q\nb\nd\nb\n");
    let out = run.ok();
    assert!(out.contains("Answer with A, B, C or D."), "{out}");
    assert!(out.contains("Score: 2/3"), "{out}");
    assert!(out.contains("Attempt 1 saved"), "{out}");
    let attempts = env.mentor(&["quiz", "attempts", &id, "--json"]).json();
    assert_eq!(attempts[0]["answers"], json!([1, 3, 1]));

    let dir = tempfile::tempdir().expect("tempdir");
    let json_path = dir.path().join("quiz.json");
    env.mentor(&[
        "artifacts",
        "export",
        &id,
        json_path.to_str().unwrap_or("?"),
    ])
    .ok();
    let back: Quiz =
        serde_json::from_slice(&std::fs::read(&json_path).expect("read")).expect("quiz");
    assert_eq!(back, made);
    let md = dir.path().join("quiz.md");
    env.mentor(&[
        "artifacts",
        "export",
        &id,
        md.to_str().unwrap_or("?"),
        "--format",
        "md",
    ])
    .ok();
    assert!(std::fs::read_to_string(&md)
        .unwrap_or_default()
        .contains("Answer: B. Mitochondrion"));
    let again = env.mentor(&[
        "artifacts",
        "export",
        &id,
        json_path.to_str().unwrap_or("?"),
    ]);
    assert!(again.fails().contains("already exists"), "{again:#?}");
}

#[test]
fn a_generated_podcast_is_played_and_exported() {
    let (env, _server) = generator_home(TestEnv::new());
    let run = env.mentor(&[
        "generate",
        "podcast",
        "--notebook",
        "Biology",
        "--length",
        "short",
        "--wait",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let id = submitted_artifact(&run);
    let shown = env.mentor(&["artifacts", "show", &id, "--json"]).json();
    let made: Podcast = serde_json::from_value(shown["data"].clone()).expect("a podcast");
    let audio = made.audio.as_ref().expect("espeak-ng spoke it");
    assert!(Path::new(&audio.path).is_file(), "{audio:?}");
    assert!(made.turns.iter().any(|t| t.speaker == "Alex"), "{made:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("args.txt");
    let player = recording_player(dir.path(), &log);
    let run = env.mentor(&[
        "artifacts",
        "play",
        &id,
        "--player",
        player.to_str().unwrap_or("?"),
    ]);
    let out = run.ok();
    assert!(
        out.contains("Alex: Mitochondria turn sugar into ATP"),
        "{out}"
    );
    let args = std::fs::read_to_string(&log).expect("the player ran");
    assert_eq!(args, format!("{}\n", audio.path));

    let exported = dir.path().join("episode.wav");
    env.mentor(&["artifacts", "export", &id, exported.to_str().unwrap_or("?")])
        .ok();
    assert_eq!(
        std::fs::read(&exported).ok(),
        std::fs::read(&audio.path).ok()
    );

    // No player on PATH (the daemon, already running, keeps its own PATH for espeak-ng).
    let empty = dir.path().join("bin");
    std::fs::create_dir(&empty).expect("mkdir");
    let run = mentor_in(&env, dir.path(), Some(&empty), &["artifacts", "play", &id]);
    assert!(
        run.fails().contains("mpv, ffplay, paplay, aplay, afplay"),
        "{run:#?}"
    );
}
