//! Notebooks, objectives and sources through the real CLI and daemon: every source type
//! added and searched, every bad input refused with nothing stored, French output, config
//! errors.

use std::path::Path;

use mentor_tests::{closed_port, fixture, serve_http, TestEnv};

fn src(name: &str) -> String {
    fixture(&format!("sources/{name}")).display().to_string()
}

fn source_count(env: &TestEnv, notebook: &str) -> usize {
    env.mentor(&["source", "list", notebook, "--json"])
        .json()
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

#[test]
fn notebook_lifecycle_with_objectives() {
    let env = TestEnv::new();
    let nb = env
        .mentor(&[
            "notebook",
            "create",
            "Cell Biology",
            "--prompt",
            "Use analogies.",
            "--json",
        ])
        .json();
    let id = nb["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("nb:"));
    assert_eq!(nb["module_prompt"], "Use analogies.");

    // By title (any case), by id with and without prefix.
    for reference in ["cell biology", "CELL BIOLOGY", id.as_str(), &id[3..]] {
        let shown = env
            .mentor(&["notebook", "show", reference, "--json"])
            .json();
        assert_eq!(shown["id"], id.as_str(), "{reference}");
    }

    env.mentor(&[
        "notebook",
        "objectives",
        "add",
        "cell biology",
        "Name the organelles",
    ])
    .ok();
    env.mentor(&["notebook", "objectives", "add", &id, "Explain osmosis"])
        .ok();
    let list = env
        .mentor(&["notebook", "objectives", "list", &id, "--json"])
        .json();
    assert_eq!(list[1]["position"], 2);
    assert_eq!(list[1]["met"], false);
    let removed = env
        .mentor(&["notebook", "objectives", "remove", &id, "1", "--json"])
        .json();
    assert_eq!(removed["text"], "Name the organelles");
    let list = env
        .mentor(&["notebook", "objectives", "list", &id, "--json"])
        .json();
    assert_eq!(list[0]["position"], 1);
    assert_eq!(list[0]["text"], "Explain osmosis");
    let missing = env.mentor(&["notebook", "objectives", "remove", &id, "9"]);
    assert!(missing.fails().contains("No objective “9”"));

    env.mentor(&["notebook", "rename", &id, "Cell Biology II"])
        .ok();
    env.mentor(&["notebook", "prompt", &id, "--set", "Be brief."])
        .ok();
    let shown = env
        .mentor(&["notebook", "show", "cell biology ii", "--json"])
        .json();
    assert_eq!(shown["title"], "Cell Biology II");
    assert_eq!(shown["module_prompt"], "Be brief.");
    let listed = env.mentor(&["notebook", "list", "--json"]).json();
    assert_eq!(listed[0]["objectives_total"], 1);

    // Deleting needs a confirmation when there is no terminal.
    let refused = env.mentor(&["notebook", "delete", &id]);
    assert!(refused.fails().contains("--yes"));
    let deleted = env
        .mentor(&["notebook", "delete", &id, "--yes", "--json"])
        .json();
    assert_eq!(deleted["title"], "Cell Biology II");
    assert_eq!(
        env.mentor(&["notebook", "list", "--json"]).json(),
        serde_json::json!([])
    );
}

#[test]
fn ambiguous_and_unknown_notebooks_are_explained() {
    let env = TestEnv::new();
    env.mentor(&["notebook", "create", "Physics"]).ok();
    env.mentor(&["notebook", "create", "physics"]).ok();
    let err = env.mentor(&["notebook", "show", "PHYSICS"]);
    let msg = err.fails();
    assert!(msg.contains("Several notebooks"), "{msg}");
    assert_eq!(msg.matches("nb:").count(), 2, "{msg}");
    let err = env.mentor(&["notebook", "show", "Chemistry"]);
    assert!(err.fails().contains("No notebook is called “Chemistry”"));
    let err = env.mentor(&["notebook", "create", "   "]);
    assert!(err.fails().contains("must not be empty"));
    let long = "x".repeat(201);
    let err = env.mentor(&["notebook", "create", &long]);
    assert!(err.fails().contains("too long"));
}

#[test]
fn every_source_type_is_added_and_searched() {
    let env = TestEnv::new();
    env.mentor(&["notebook", "create", "Bio"]).ok();
    let added = env
        .mentor(&[
            "source",
            "add",
            "bio",
            &src("photosynthesis.txt"),
            &src("cells.md"),
            &src("mitochondria.html"),
            &src("chlorophyll.pdf"),
            "--json",
        ])
        .json();
    let kinds: Vec<&str> = added
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "markdown", "html", "pdf"]);

    let page = b"<html><head><title>Stomata</title></head><body><p>Stomata are pores \
        that regulate transpiration.</p></body></html>"
        .to_vec();
    let base = serve_http(200, "text/html; charset=utf-8", page);
    let url = format!("{base}/stomata.html");
    let web = env
        .mentor(&["source", "add", "bio", "--url", &url, "--json"])
        .json();
    assert_eq!(web[0]["kind"], "html");
    assert_eq!(web[0]["title"], "Stomata");

    for (word, title) in [
        ("thylakoid", "chlorophyll.pdf"),
        ("organelles", "Cell Biology Basics"),
        ("cristae", "Mitochondria & the Powerhouse"),
        ("transpiration", "Stomata"),
    ] {
        let hits = env
            .mentor(&["source", "search", "bio", word, "--json"])
            .json();
        let titles: Vec<&str> = hits
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["source_title"].as_str().unwrap())
            .collect();
        assert!(titles.contains(&title), "{word}: {titles:?}");
        assert!(hits[0]["snippet"].as_str().unwrap().contains("**"));
    }
    // Script and style content of the HTML page is not indexed.
    for leaked in ["secretScript", "secretstyle"] {
        let hits = env
            .mentor(&["source", "search", "bio", leaked, "--json"])
            .json();
        assert_eq!(
            hits,
            serde_json::json!([]),
            "{leaked} leaked into the index"
        );
    }

    // Show and remove.
    let id = added[0]["id"].as_str().unwrap();
    let shown = env.mentor(&["source", "show", id, "--json"]).json();
    assert!(shown["text"].as_str().unwrap().contains("photosynthesis"));
    env.mentor(&["source", "remove", id]).ok();
    assert_eq!(source_count(&env, "bio"), 4);
    let gone = env.mentor(&["source", "show", id]);
    assert!(gone.fails().contains("No source"));
}

#[test]
fn bad_sources_are_refused_and_store_nothing() {
    let env = TestEnv::new();
    env.write_config("[sources]\nmax_bytes = 2048\n");
    env.mentor(&["notebook", "create", "Bad inputs"]).ok();
    env.mentor(&["source", "add", "bad inputs", &src("cells.md")])
        .ok();
    let work = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = work.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let binary = write("data.txt", b"abc\0\x01\x02binary");
    let oversize = write("big.md", "word ".repeat(1000).as_bytes());
    let no_ext_binary = write("blob", &[0u8, 159, 146, 150, 0, 1]);
    let dir = work.path().display().to_string();
    let missing = work.path().join("missing.txt").display().to_string();
    let dead_url = format!("http://127.0.0.1:{}/notes.html", closed_port());
    let not_found_url = format!("{}/gone.html", serve_http(404, "text/html", b"no".to_vec()));
    let image_url = format!(
        "{}/x.png",
        serve_http(200, "image/png", vec![0x89, b'P', b'N', b'G'])
    );

    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![missing], "no such file"),
        (vec![dir], "is a directory"),
        (vec![binary], "binary file"),
        (vec![no_ext_binary], "binary file"),
        (vec![src("empty.txt")], "contains no text"),
        (vec![src("slides.pptx")], "unsupported type (.pptx)"),
        (vec![src("image.png")], "unsupported type (.png)"),
        (vec![oversize], "too large"),
        (vec![src("latin1.txt")], "not UTF-8"),
        // A good file with a bad one: all or nothing.
        (
            vec![src("photosynthesis.txt"), src("latin1.txt")],
            "not UTF-8",
        ),
        (vec!["--url".into(), dead_url], "Cannot fetch"),
        (vec!["--url".into(), not_found_url], "HTTP status 404"),
        (
            vec!["--url".into(), image_url],
            "unsupported type (image/png)",
        ),
        (
            vec!["--url".into(), "ftp://example.org/x".into()],
            "not a valid http",
        ),
        (vec![src("cells.md")], "already in this notebook"),
    ];
    for (args, expected) in cases {
        let mut full = vec!["source", "add", "bad inputs"];
        full.extend(args.iter().map(String::as_str));
        let run = env.mentor(&full);
        let msg = run.fails();
        assert!(
            msg.contains(expected),
            "{args:?}: expected “{expected}” in: {msg}"
        );
        assert_eq!(
            source_count(&env, "bad inputs"),
            1,
            "{args:?} stored something"
        );
    }
    let empty_query = env.mentor(&["source", "search", "bad inputs", "?!"]);
    assert!(empty_query.fails().contains("no words"));
}

#[test]
fn french_output() {
    let env = TestEnv::new().french();
    let run = env.mentor(&["notebook", "list"]);
    assert!(run.ok().contains("Aucun carnet"), "{run:?}");
    assert!(run.stderr.contains("Démarrage du démon"), "{run:?}");
    let run = env.mentor(&["notebook", "show", "Chimie"]);
    assert!(run.fails().contains("Aucun carnet ne s’appelle « Chimie »"));
    let help = env.mentor(&["notebook", "--help"]);
    assert!(help.ok().contains("Gérer les carnets"), "{help:?}");
}

#[test]
fn config_errors_name_file_line_and_key() {
    let env = TestEnv::new();
    let config = env.path().join("config/config.toml");
    for (text, expected) in [
        (
            "[jobs]\nconcurrency = \"two\"\n",
            "line 2, key `jobs.concurrency`",
        ),
        ("[jobs]\nconcurency = 2\n", "line 2"),
        ("[llm]\nmax_concurrent = 0\n", "between 1 and 64"),
        (
            "[llm]\npreempt_after_ms = 10\n",
            "line 2, key `llm.preempt_after_ms`: the value must be 0 (off) or between 50",
        ),
        (
            "[llm.local]\ncontext_tokens = 4096\nsequences = 4\n",
            "raise llm.local.context_tokens or lower llm.local.sequences",
        ),
        ("language = \"klingon\"\n", "unknown language"),
        ("[llm\n", "line 1"),
    ] {
        env.write_config(text);
        let run = env.mentor(&["notebook", "list"]);
        let msg = run.fails();
        assert!(msg.contains(&config.display().to_string()), "{msg}");
        assert!(msg.contains(expected), "expected “{expected}” in: {msg}");
        // mentord run directly says the same.
        let out = env.command("mentord").output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains(expected));
    }
    // `config path` works even with a broken config; `config show` reports the error.
    assert!(env.mentor(&["config", "path"]).ok().contains("config.toml"));
    env.mentor(&["config", "show"]).fails();
    assert!(
        !Path::new(&env.dirs().socket()).exists(),
        "no daemon started"
    );

    env.write_config("[llm]\nmodel = \"qwen2.5\"\napi_key = \"sk-very-secret\"\n");
    let shown = env.mentor(&["config", "show"]);
    let text = shown.ok();
    assert!(
        text.contains("qwen2.5") && !text.contains("sk-very-secret"),
        "{text}"
    );
    let bad_env = env
        .command("mentor")
        .env("MENTOR_LLM_URL", "localhost:11434")
        .args(["config", "show"])
        .output()
        .unwrap();
    assert_eq!(bad_env.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_env.stderr).contains("MENTOR_LLM_URL"));
}

#[test]
fn mentor_alone_without_a_terminal_points_to_the_plain_chat() {
    let env = TestEnv::new();
    let err = env.mentor(&[]).fails().to_string();
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(err.contains("mentor chat --plain"), "{err}");
    // Nothing was started for it.
    assert!(env.daemon_pid().is_none());
}
