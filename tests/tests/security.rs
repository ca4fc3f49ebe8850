//! Security properties end to end, with the real binaries: the API keys are sent where they
//! belong and nowhere else (not in the daemon's log at its most verbose, not in the database
//! or its journal, not in what `mentor` prints), and everything the daemon writes is
//! owner-only.

use std::os::unix::fs::PermissionsExt;

use mentor_tests::answers;
use mentor_tests::openai::{Reply, ScriptedServer};
use mentor_tests::{tree, TestEnv};
use serde_json::Value;

const LLM_KEY: &str = "sk-llm-7f3a9c51e2";
const TTS_KEY: &str = "sk-tts-2b8e41d0c7";

#[test]
fn api_keys_stay_out_of_the_log_and_the_database_and_every_file_is_owner_only() {
    let server = ScriptedServer::start();
    server.set_responder(|request: &Value| {
        if answers::is_structured(request) {
            answers::good_answer(request)
        } else {
            Reply::text("Mitochondria make ATP.")
        }
    });
    let env = TestEnv::new();
    let url = server.base_url();
    env.write_config(&format!(
        "[llm]\nbase_url = \"{url}\"\nmodel = \"scripted\"\napi_key = \"{LLM_KEY}\"\n\n\
         [daemon]\nlog_level = \"trace\"\n\n\
         [tts]\nengine = \"openai\"\nbase_url = \"{url}\"\nmodel = \"kokoro\"\napi_key = \"{TTS_KEY}\"\n"
    ));
    env.mentor(&["notebook", "create", "Biology"]).ok();
    let source = env.path().join("cells.md");
    std::fs::write(&source, "# Cells\n\nMitochondria turn sugar into ATP.\n").expect("source");
    env.mentor(&["source", "add", "Biology", &source.display().to_string()])
        .ok();

    // A chat turn, a podcast spoken by the speech server, and a refused request: each key
    // goes to its own server, in the Authorization header.
    let chat = env.mentor(&[
        "chat",
        "--notebook",
        "Biology",
        "--message",
        "What makes ATP?",
    ]);
    assert!(chat.ok().contains("Mitochondria make ATP."));
    assert_eq!(
        server.last_authorization().as_deref(),
        Some(format!("Bearer {LLM_KEY}").as_str())
    );
    let podcast = env.mentor(&[
        "generate",
        "podcast",
        "--notebook",
        "Biology",
        "--length",
        "short",
        "--wait",
    ]);
    podcast.ok();
    let speech = server.speech_headers();
    assert!(!speech.is_empty(), "the speech server was used");
    assert!(speech.iter().all(|h| h
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == format!("Bearer {TTS_KEY}").as_bytes())));
    server.set_responder(|_: &Value| Reply::status(401, "invalid api key"));
    let refused = env.mentor(&["chat", "--notebook", "Biology", "--message", "Again?"]);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        said.contains("401") || said.to_lowercase().contains("key"),
        "{said}"
    );
    for shown in [
        &chat.stdout,
        &chat.stderr,
        &podcast.stdout,
        &podcast.stderr,
        &refused.stdout,
        &refused.stderr,
        &env.mentor(&["config", "show", "--json"]).stdout,
    ] {
        assert!(
            !shown.contains(LLM_KEY) && !shown.contains(TTS_KEY),
            "{shown}"
        );
    }

    // Stopped, so that the database, its journal and the log are all on disk: no key in any
    // byte of any file the daemon wrote.
    env.mentor(&["daemon", "stop"]).ok();
    let dirs = env.dirs();
    let config = dirs.config_file();
    let mut checked = 0;
    for root in [&dirs.data, &dirs.state, &dirs.runtime] {
        for path in tree(root) {
            if path == config || !path.is_file() {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read a file the daemon wrote");
            for key in [LLM_KEY, TTS_KEY] {
                assert!(
                    !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                    "{key} found in {}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    let log = std::fs::read_to_string(dirs.log_file()).expect("the log");
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log was verbose"
    );
    assert!(dirs.database().is_file());
    assert!(
        checked >= 3,
        "the log, the database and the audio were read"
    );

    // Owner-only: every directory 0700, every file 0600 or tighter (the socket is gone once
    // the daemon stopped; its mode is checked by the daemon tests).
    for root in [&dirs.data, &dirs.state, &dirs.runtime] {
        for path in tree(root) {
            if path == config {
                continue;
            }
            let mode = std::fs::symlink_metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "{} is mode {:o}",
                path.display(),
                mode & 0o777
            );
        }
    }
}
