//! mentor-tests: the harness for end-to-end tests. Every test runs the real `mentor` and
//! `mentord` binaries in a temporary `MENTOR_HOME`, so nothing touches the user's own data and
//! tests can run in parallel.

pub mod answers;
pub mod held_out;
pub mod judge;
pub mod openai;
pub mod rpc;
pub mod soak;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The target directory cargo builds into.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace().join(p)
            }
        })
        .unwrap_or_else(|| workspace().join("target"))
}

/// Set by [`use_release_binaries`].
static RELEASE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`bin`] (and so every [`TestEnv`]) use the release binaries, built beforehand, as
/// `mentor-bench` does: timings are of the binaries learners run.
pub fn use_release_binaries() {
    RELEASE.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Path of a workspace binary (debug profile), built once per test process so tests always
/// run the current code; or the release one, not built, after [`use_release_binaries`].
pub fn bin(name: &str) -> PathBuf {
    if RELEASE.load(std::sync::atomic::Ordering::Relaxed) {
        return target_dir().join("release").join(name);
    }
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // `cargo test` gives this process the variables of the package under test; passed on,
        // they look like a changed environment to build scripts that watch them (ring's does)
        // and rebuild half the dependency tree for every test binary.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_BIN_")
                || matches!(
                    key.as_ref(),
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_RUSTC_CURRENT_DIR"
                )
            {
                build.env_remove(key.as_ref());
            }
        }
        let status = build
            .args([
                "build",
                "--quiet",
                "-p",
                "mentor-daemon",
                "-p",
                "mentor-tui",
                "--bins",
            ])
            .current_dir(workspace())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build of the binaries failed");
    });
    target_dir().join("debug").join(name)
}

/// A fixture file.
pub fn fixture(name: &str) -> PathBuf {
    workspace().join("tests/fixtures").join(name)
}

/// A temporary `MENTOR_HOME` with helpers to run the binaries in it. Dropping it stops the
/// daemon it started.
pub struct TestEnv {
    /// The temporary home.
    pub home: tempfile::TempDir,
    lang: String,
    /// `MENTORD_TEST_HANDLERS`: "" (none), "1" (the `test` kind), "stand-in" (also stand-ins
    /// for the podcast, quiz and study-guide generators).
    handlers: &'static str,
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "command failed: {self:#?}");
        &self.stdout
    }

    /// Asserts exit code 1 and returns stderr.
    #[track_caller]
    pub fn fails(&self) -> &str {
        assert_eq!(self.code, 1, "expected failure (exit 1): {self:#?}");
        assert!(!self.stderr.trim().is_empty(), "failure without a message");
        &self.stderr
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("bad JSON ({e}): {self:#?}"))
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// A fresh, empty home (short path: Unix socket paths are limited to 107 bytes).
    pub fn new() -> TestEnv {
        let home = tempfile::Builder::new()
            .prefix("mt")
            .tempdir_in("/tmp")
            .expect("create temp MENTOR_HOME");
        TestEnv {
            home,
            lang: "en-US".into(),
            handlers: "",
        }
    }

    /// The same home, with daemons that run the scripted `test` job kind
    /// (`MENTORD_TEST_HANDLERS=1`, passed on to the daemons `mentor` starts).
    pub fn with_test_jobs(mut self) -> TestEnv {
        self.handlers = "1";
        self
    }

    /// The same home, with daemons whose podcast, quiz and study-guide generators are
    /// scripted stand-ins (`MENTORD_TEST_HANDLERS=stand-in`; see the daemon's test_handler).
    pub fn with_stand_ins(mut self) -> TestEnv {
        self.handlers = "stand-in";
        self
    }

    /// Writes a config file pointing the daemon at a model server (`base_url` ends in /v1),
    /// with `extra` TOML lines appended to the `[llm]` table.
    pub fn use_model(&self, base_url: &str, extra: &str) {
        self.write_config(&format!(
            "[llm]\nbase_url = \"{base_url}\"\nmodel = \"scripted\"\n{extra}\n"
        ));
    }

    /// The same home, speaking French.
    pub fn french(mut self) -> TestEnv {
        self.lang = "fr-FR".into();
        self
    }

    /// The home directory.
    pub fn path(&self) -> &Path {
        self.home.path()
    }

    /// The directories inside the home.
    pub fn dirs(&self) -> mentor_shared::paths::Dirs {
        mentor_shared::paths::Dirs::under(self.path())
    }

    /// Writes `text` to `file` in the home and adds it to `notebook` as a source.
    #[track_caller]
    pub fn add_text_source(&self, notebook: &str, file: &str, text: &str) {
        let path = self.path().join(file);
        std::fs::write(&path, text).expect("write the source");
        self.mentor(&["source", "add", notebook, &path.display().to_string()])
            .ok();
    }

    /// Writes the config file.
    pub fn write_config(&self, text: &str) {
        let dir = self.path().join("config");
        std::fs::create_dir_all(&dir).expect("config dir");
        std::fs::write(dir.join("config.toml"), text).expect("write config");
    }

    /// A command for one of the binaries with this home's environment.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(bin(program));
        cmd.env("MENTOR_HOME", self.path())
            .env("MENTOR_LANG", &self.lang)
            .env("MENTORD", bin("mentord"))
            .env_remove("MENTOR_LLM_URL")
            .env_remove("MENTOR_LLM_MODEL")
            .env_remove("MENTOR_LLM_API_KEY")
            .env_remove("MENTOR_LLM_PROVIDER")
            .env_remove("MENTOR_TTS_ENGINE")
            .env_remove("MENTOR_TTS_API_KEY")
            .env_remove("MENTOR_LOG")
            .env_remove("MENTORD_PROTOCOL_VERSION")
            .env_remove("MENTORD_TEST_LOAD_PAUSE_MS")
            .stdin(Stdio::null());
        if !self.handlers.is_empty() {
            cmd.env("MENTORD_TEST_HANDLERS", self.handlers);
        } else {
            cmd.env_remove("MENTORD_TEST_HANDLERS");
        }
        cmd
    }

    /// Kills the daemon with SIGKILL (no chance to clean up) and waits until it is gone.
    pub fn kill_daemon(&self) {
        if let Some(pid) = self.daemon_pid() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            assert!(
                self.wait_daemon_gone(Duration::from_secs(10)),
                "daemon {pid} survived SIGKILL"
            );
        }
    }

    /// Submits a scripted test job to a notebook; returns its id.
    #[track_caller]
    pub fn submit_test_job(&self, notebook: &str, script: &str) -> String {
        let run = self.mentor(&[
            "generate",
            "test",
            "--notebook",
            notebook,
            "--script",
            script,
            "--json",
        ]);
        let v = run.json();
        v["job"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no job id: {run:#?}"))
            .to_string()
    }

    /// One job as `mentor jobs show --json` prints it.
    #[track_caller]
    pub fn job(&self, id: &str) -> serde_json::Value {
        self.mentor(&["jobs", "show", id, "--json"]).json()
    }

    /// Runs `mentor ARGS…`.
    pub fn mentor(&self, args: &[&str]) -> Run {
        Run::from(
            self.command("mentor")
                .args(args)
                .output()
                .expect("run mentor"),
        )
    }

    /// Runs `mentor ARGS…` with `input` on its stdin.
    pub fn mentor_with_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .command("mentor")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run mentor");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
        drop(stdin);
        Run::from(child.wait_with_output().expect("wait for mentor"))
    }

    /// The running daemon's pid, if any.
    pub fn daemon_pid(&self) -> Option<u32> {
        self.dirs().running_daemon_pid()
    }

    /// Waits until no daemon holds the lock.
    pub fn wait_daemon_gone(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.daemon_pid().is_some() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Waits (up to 5 s: the log is written by a background thread) until the log contains
    /// `needle`; returns the log.
    #[track_caller]
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "log never said “{needle}”:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dirs().log_file()).unwrap_or_default()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The test failed: its output (shown by the harness) gets the daemon's side.
            eprintln!(
                "--- mentord log ({}) ---\n{}",
                self.path().display(),
                self.log()
            );
        }
        if let Some(pid) = self.daemon_pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            if !self.wait_daemon_gone(Duration::from_secs(10)) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

/// Serves one fixed HTTP response to every request on a loopback port, in a thread. Returns
/// the base URL (`http://127.0.0.1:PORT`).
pub fn serve_http(status: u16, content_type: &'static str, body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

/// A port on loopback where nothing listens.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(9);
    drop(listener);
    port
}

/// `dir` and everything below it, directories included (nothing when it does not exist),
/// sorted.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut out = vec![dir.to_path_buf()];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Every file below `dir` (none when it does not exist), sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    tree(dir).into_iter().filter(|p| p.is_file()).collect()
}

/// Where `./install.sh --test` caches the test model (SmolLM2-135M-Instruct, Q4_1):
/// `$XDG_CACHE_HOME/mentor/models/`, else `~/.cache/mentor/models/`.
pub fn test_model_path() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache
        .join("mentor")
        .join("models")
        .join("SmolLM2-135M-Instruct.Q4_1.gguf")
}
