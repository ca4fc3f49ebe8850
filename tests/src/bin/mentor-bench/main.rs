//! `mentor-bench`: the Mentor benchmark. It runs the release binaries of the workspace
//! (`<target dir>/release/mentor` and `mentord`, where the target dir is `$CARGO_TARGET_DIR`
//! or `<workspace>/target`) in a fresh temporary `MENTOR_HOME` per scenario and reports the
//! scenario's metrics. It builds nothing itself:
//!
//! ```text
//! cargo build --release -p mentor-daemon -p mentor-tui
//! cargo run --release -p mentor-tests --bin mentor-bench -- cli --json
//! cargo run --release -p mentor-tests --bin mentor-bench -- all --json
//! ```
//!
//! With `--json` stdout holds exactly one JSON object (`{"scenario": …, "metrics": {…}}`, or
//! `{"scenarios": […]}` for `all`); progress goes to stderr. Without it, a table of the metrics
//! goes to stdout. `--samples N` overrides every sample count (for quick runs).
//!
//! `local-llm` and `contention` are the exceptions: they run the model client (and the local
//! model) inside this process, no binaries needed. `local-llm` compares the local model with
//! llama.cpp's `llama-server` (see `local_llm.rs` and `tests/llama-server/build.sh`);
//! `contention` measures how long a chat waits while a job generates (`contention.rs`).
//! `quality` runs the release binaries on the held-out documents with the built-in model and
//! judges what they make (`quality.rs`).
//!
//! Adding a scenario: write `fn scenario_x(bench: &Bench) -> Result<Report>` and list it in
//! [`SCENARIOS`].

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use mentor_shared::paths::{Dirs, MAX_SOCKET_PATH};
use serde_json::{json, Value};

/// One scenario: its name and the function that measures it.
type ScenarioFn = fn(&Bench) -> Result<Report>;

mod chat;
mod contention;
mod local_llm;
mod podcast;
mod push;
mod quality;
mod queue;
mod soak;
mod tui;

/// Every scenario, in the order `all` runs them.
const SCENARIOS: &[(&str, ScenarioFn)] = &[
    ("cli", scenario_cli),
    ("queue", queue::scenario_queue),
    ("push", push::scenario_push),
    ("chat-overhead", chat::scenario_chat_overhead),
    ("relay", chat::scenario_relay),
    ("tool-ack", chat::scenario_tool_ack),
    ("gate", chat::scenario_gate),
    ("tui", tui::scenario_tui),
    ("podcast-tts", podcast::scenario_podcast_tts),
    ("soak", soak::scenario_soak),
    ("local-llm", local_llm::scenario_local_llm),
    ("contention", contention::scenario_contention),
    ("quality", quality::scenario_quality),
];

/// Scenarios that run no `mentor` or `mentord` binary (so need none built).
const IN_PROCESS: &[&str] = &["local-llm", "contention"];

/// Notebooks the `cli` scenario creates before timing `notebook list`.
const CLI_NOTEBOOKS: usize = 20;
/// Default number of timed `mentor notebook list --json` runs.
const CLI_LIST_SAMPLES: usize = 1000;
/// Untimed `notebook list` runs before the timed ones.
const CLI_LIST_WARMUP: usize = 10;
/// Default number of timed cold starts.
const CLI_COLD_START_SAMPLES: usize = 20;
/// How long the daemon idles before its RSS is read.
const CLI_IDLE: Duration = Duration::from_secs(2);
/// Percentiles are only meaningful from this many samples on.
const MIN_PERCENTILE_SAMPLES: usize = 1000;

const USAGE: &str = "\
mentor-bench: the Mentor benchmark

Usage: mentor-bench SCENARIO [--json] [--samples N]
       mentor-bench all [--json] [--samples N]

Runs the release binaries <target dir>/release/{mentor,mentord} (target dir: $CARGO_TARGET_DIR,
else <workspace>/target); build them first with
    cargo build --release -p mentor-daemon -p mentor-tui
(local-llm and contention run the model client in this process and need neither; local-llm
compares the local model with llama-server: $MENTOR_LLAMA_SERVER, else on the PATH, else
built by tests/llama-server/build.sh)

Options:
  --json         print one JSON object on stdout (progress goes to stderr)
  --samples N    override every sample count (quick runs; percentiles want >= 1000)
  -h, --help     print this help

Exit codes: 0 success, 1 failure, 2 usage error.";

/// The metrics of one scenario.
struct Report {
    scenario: &'static str,
    metrics: Vec<(&'static str, f64)>,
}

impl Report {
    fn to_json(&self) -> Value {
        let metrics: serde_json::Map<String, Value> = self
            .metrics
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(round3(*v))))
            .collect();
        json!({ "scenario": self.scenario, "metrics": metrics })
    }

    fn print_table(&self) {
        let width = self
            .metrics
            .iter()
            .map(|(k, _)| k.len())
            .max()
            .unwrap_or(0)
            .max("metric".len());
        println!("scenario: {}", self.scenario);
        println!("  {:<width$}  {:>12}", "metric", "value");
        for (k, v) in &self.metrics {
            println!("  {k:<width$}  {:>12.3}", v);
        }
    }
}

/// Parsed command line.
struct Args {
    scenario: String,
    json: bool,
    samples: Option<usize>,
}

/// What a usage error or `--help` stops with.
enum ArgsError {
    Help,
    Usage(String),
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, ArgsError> {
    let mut scenario = None;
    let mut json = false;
    let mut samples = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Err(ArgsError::Help),
            "--json" => json = true,
            "--samples" => {
                let value = args
                    .next()
                    .ok_or_else(|| ArgsError::Usage("--samples needs a number".into()))?;
                samples = Some(parse_samples(&value)?);
            }
            s if s.starts_with("--samples=") => {
                samples = Some(parse_samples(&s["--samples=".len()..])?);
            }
            s if s.starts_with('-') => {
                return Err(ArgsError::Usage(format!("unknown option: {s}")));
            }
            s => {
                if let Some(first) = &scenario {
                    return Err(ArgsError::Usage(format!(
                        "only one scenario at a time (got {first} and {s})"
                    )));
                }
                scenario = Some(s.to_string());
            }
        }
    }
    let scenario = scenario.ok_or_else(|| ArgsError::Usage("missing SCENARIO".into()))?;
    Ok(Args {
        scenario,
        json,
        samples,
    })
}

fn parse_samples(value: &str) -> Result<usize, ArgsError> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ArgsError::Usage(format!(
            "--samples wants a positive number, not {value:?}"
        ))),
    }
}

fn known_scenarios() -> String {
    let mut names: Vec<&str> = SCENARIOS.iter().map(|(n, _)| *n).collect();
    names.push("all");
    names.join(", ")
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(ArgsError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(ArgsError::Usage(msg)) => {
            eprintln!("mentor-bench: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<(&'static str, ScenarioFn)> = if args.scenario == "all" {
        SCENARIOS.to_vec()
    } else if let Some(s) = SCENARIOS.iter().find(|(n, _)| *n == args.scenario) {
        vec![*s]
    } else {
        eprintln!(
            "mentor-bench: unknown scenario {:?}; known scenarios: {}",
            args.scenario,
            known_scenarios()
        );
        return ExitCode::from(2);
    };
    match run(&args, &selected) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mentor-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args, selected: &[(&'static str, ScenarioFn)]) -> Result<()> {
    let bins = if selected.iter().all(|(n, _)| IN_PROCESS.contains(n)) {
        None
    } else {
        Some(Binaries::locate()?)
    };
    let bench = Bench {
        bins,
        samples: args.samples,
    };
    let mut reports = Vec::new();
    for (name, scenario) in selected {
        progress(&format!("== scenario {name}"));
        let started = Instant::now();
        let report = scenario(&bench).with_context(|| format!("scenario {name}"))?;
        progress(&format!(
            "== scenario {name} done in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        reports.push(report);
    }
    if args.json {
        let value = if args.scenario == "all" {
            json!({ "scenarios": reports.iter().map(Report::to_json).collect::<Vec<_>>() })
        } else {
            reports
                .first()
                .map(Report::to_json)
                .context("no scenario ran")?
        };
        println!("{value}");
    } else {
        for (i, report) in reports.iter().enumerate() {
            if i > 0 {
                println!();
            }
            report.print_table();
        }
    }
    Ok(())
}

/// Human-readable progress, always on stderr.
fn progress(msg: &str) {
    eprintln!("[mentor-bench] {msg}");
}

/// The release binaries under test.
struct Binaries {
    mentor: PathBuf,
    mentord: PathBuf,
}

impl Binaries {
    fn locate() -> Result<Binaries> {
        let release = mentor_tests::target_dir().join("release");
        let bins = Binaries {
            mentor: release.join("mentor"),
            mentord: release.join("mentord"),
        };
        let missing: Vec<String> = [&bins.mentor, &bins.mentord]
            .into_iter()
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "release binaries missing: {}\nbuild them first with: \
                 cargo build --release -p mentor-daemon -p mentor-tui \
                 (with the same CARGO_TARGET_DIR, if you set one)",
                missing.join(", ")
            );
        }
        Ok(bins)
    }
}

/// What every scenario gets.
struct Bench {
    /// None when only in-process scenarios run.
    bins: Option<Binaries>,
    /// `--samples`: overrides every sample count.
    samples: Option<usize>,
}

impl Bench {
    /// The sample count to use where the scenario's default is `default`.
    fn samples(&self, default: usize) -> usize {
        self.samples.unwrap_or(default)
    }

    /// A fresh temporary `MENTOR_HOME`.
    fn home(&self) -> Result<Home<'_>> {
        let bins = self
            .bins
            .as_ref()
            .context("this scenario runs the release binaries, which were not located")?;
        let dir = tempfile::Builder::new()
            .prefix("mb")
            .tempdir_in("/tmp")
            .context("create a temporary MENTOR_HOME under /tmp")?;
        let socket = Dirs::under(dir.path()).socket();
        ensure!(
            socket.as_os_str().len() <= MAX_SOCKET_PATH,
            "socket path too long ({} bytes): {}",
            socket.as_os_str().len(),
            socket.display()
        );
        progress(&format!("MENTOR_HOME={}", dir.path().display()));
        Ok(Home { bins, dir })
    }
}

/// A temporary `MENTOR_HOME` and the commands that run in it. Dropping it stops its daemon.
struct Home<'a> {
    bins: &'a Binaries,
    dir: tempfile::TempDir,
}

impl Home<'_> {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn dirs(&self) -> Dirs {
        Dirs::under(self.path())
    }

    /// `mentor ARGS…` with this home's environment (nothing run yet).
    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.bins.mentor);
        cmd.args(args)
            .env("MENTOR_HOME", self.path())
            .env("MENTOR_LANG", "en-US")
            .env("MENTORD", &self.bins.mentord)
            .env_remove("MENTOR_LOG")
            .env_remove("MENTORD_PROTOCOL_VERSION")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("MENTOR_LLM_") {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// Runs `mentor ARGS…`, failing unless it exits 0.
    fn mentor(&self, args: &[&str]) -> Result<Output> {
        let out = self
            .command(args)
            .output()
            .with_context(|| format!("run {}", self.bins.mentor.display()))?;
        check(args, &out)?;
        Ok(out)
    }

    /// Runs `mentor ARGS…` and returns its wall time, failing unless it exits 0.
    fn timed(&self, args: &[&str]) -> Result<Duration> {
        let mut cmd = self.command(args);
        let started = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("run {}", self.bins.mentor.display()))?;
        let elapsed = started.elapsed();
        check(args, &out)?;
        Ok(elapsed)
    }

    /// `mentor daemon status --json`, parsed (`{"running": false}` when none runs).
    fn status(&self) -> Result<Value> {
        let args = ["daemon", "status", "--json"];
        let out = self
            .command(args)
            .output()
            .with_context(|| format!("run {}", self.bins.mentor.display()))?;
        let value: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "`mentor {}` printed no JSON (exit {}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
        Ok(value)
    }

    /// The running daemon's pid, from `mentor daemon status --json`.
    fn daemon_pid(&self) -> Result<u32> {
        let status = self.status()?;
        ensure!(
            status["running"] == Value::Bool(true),
            "daemon not running: {status}"
        );
        let pid = status["pid"]
            .as_u64()
            .with_context(|| format!("no pid in daemon status: {status}"))?;
        u32::try_from(pid).with_context(|| format!("bad pid {pid}"))
    }

    /// Stops the daemon (nothing happens when none runs) and checks that it is gone.
    fn stop_daemon(&self) -> Result<()> {
        self.mentor(&["daemon", "stop"])?;
        if let Some(pid) = self.dirs().running_daemon_pid() {
            bail!("daemon {pid} still holds its lock after `mentor daemon stop`");
        }
        Ok(())
    }
}

impl Drop for Home<'_> {
    fn drop(&mut self) {
        if self.dirs().running_daemon_pid().is_none() {
            return;
        }
        if let Err(e) = self.stop_daemon() {
            progress(&format!("stopping the daemon failed: {e:#}"));
            if let Some(pid) = self.dirs().running_daemon_pid() {
                progress(&format!("killing daemon {pid}"));
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

/// Fails with the command's stderr unless it exited 0.
fn check(args: &[&str], out: &Output) -> Result<()> {
    if !out.status.success() {
        bail!(
            "`mentor {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted samples.
fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn median(samples: &[f64]) -> Result<f64> {
    percentile(samples, 50.0).context("no samples")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Progress line with the spread of a set of timings; `min_samples` is how many the metric
/// needs to be trusted (a warning goes to stderr below it).
fn summarize(what: &str, samples: &[f64], min_samples: usize) {
    let p = |q| percentile(samples, q).unwrap_or(f64::NAN);
    progress(&format!(
        "{what}: n={} min={:.3} p50={:.3} p90={:.3} p99={:.3} max={:.3} ms",
        samples.len(),
        p(0.0),
        p(50.0),
        p(90.0),
        p(99.0),
        p(100.0)
    ));
    if samples.len() < min_samples {
        progress(&format!(
            "{what}: only {} samples; percentiles want at least {min_samples}",
            samples.len()
        ));
    }
}

/// Resident set size of a process, in MiB (from `/proc/PID/status`).
fn rss_mib(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .with_context(|| format!("no VmRSS in {path}"))?;
    let kib: f64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("bad VmRSS line in {path}: {line:?}"))?;
    Ok(kib / 1024.0)
}

/// `cli`: latency of a whole `mentor notebook list --json` process against a running daemon,
/// cold start of the daemon, and the idle daemon's memory.
fn scenario_cli(bench: &Bench) -> Result<Report> {
    let home = bench.home()?;

    progress("starting the daemon");
    home.mentor(&["daemon", "start"])?;
    progress(&format!("creating {CLI_NOTEBOOKS} notebooks"));
    for i in 1..=CLI_NOTEBOOKS {
        let title = format!("Notebook {i}");
        home.mentor(&["notebook", "create", &title])?;
    }

    let list = ["notebook", "list", "--json"];
    let out = home.mentor(&list)?;
    let listed: Value =
        serde_json::from_slice(&out.stdout).context("`mentor notebook list --json` output")?;
    let count = listed.as_array().map(Vec::len);
    ensure!(
        count == Some(CLI_NOTEBOOKS),
        "`mentor notebook list --json` listed {count:?} notebooks, expected {CLI_NOTEBOOKS}"
    );
    for _ in 0..CLI_LIST_WARMUP {
        home.timed(&list)?;
    }
    let n = bench.samples(CLI_LIST_SAMPLES);
    progress(&format!("timing `mentor notebook list --json` x{n}"));
    let mut list_ms = Vec::with_capacity(n);
    for i in 0..n {
        list_ms.push(ms(home.timed(&list)?));
        if (i + 1) % 250 == 0 {
            progress(&format!("  {}/{n}", i + 1));
        }
    }
    summarize("notebook list", &list_ms, MIN_PERCENTILE_SAMPLES);
    let list_median_ms = median(&list_ms)?;

    progress(&format!(
        "letting the daemon idle for {} s",
        CLI_IDLE.as_secs()
    ));
    std::thread::sleep(CLI_IDLE);
    let pid = home.daemon_pid()?;
    let daemon_idle_rss_mb = rss_mib(pid)?;
    progress(&format!(
        "daemon {pid} idle RSS: {daemon_idle_rss_mb:.3} MiB"
    ));

    let n = bench.samples(CLI_COLD_START_SAMPLES);
    progress(&format!("timing `mentor daemon start` from cold x{n}"));
    let mut cold_ms = Vec::with_capacity(n);
    for i in 0..n {
        home.stop_daemon()
            .with_context(|| format!("stop before cold start {}", i + 1))?;
        cold_ms.push(ms(home.timed(&["daemon", "start"])?));
        let status = home.status()?;
        ensure!(
            status["running"] == Value::Bool(true),
            "after cold start {}, `mentor daemon status --json` says: {status}",
            i + 1
        );
    }
    summarize("cold start", &cold_ms, 1);
    let cold_start_ms = median(&cold_ms)?;

    home.stop_daemon()?;
    Ok(Report {
        scenario: "cli",
        metrics: vec![
            ("list_median_ms", list_median_ms),
            ("cold_start_ms", cold_start_ms),
            ("daemon_idle_rss_mb", daemon_idle_rss_mb),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&s, 50.0), Some(5.0));
        assert_eq!(percentile(&s, 90.0), Some(9.0));
        assert_eq!(percentile(&s, 100.0), Some(10.0));
        assert_eq!(percentile(&s, 0.0), Some(1.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn args() {
        let parse = |v: &[&str]| parse_args(v.iter().map(|s| s.to_string()));
        let a = parse(&["cli", "--json", "--samples", "5"])
            .ok()
            .map(|a| a.samples);
        assert_eq!(a, Some(Some(5)));
        assert!(matches!(parse(&["--help"]), Err(ArgsError::Help)));
        assert!(matches!(parse(&[]), Err(ArgsError::Usage(_))));
        assert!(matches!(
            parse(&["cli", "--samples", "0"]),
            Err(ArgsError::Usage(_))
        ));
        assert!(matches!(
            parse(&["cli", "--bogus"]),
            Err(ArgsError::Usage(_))
        ));
    }
}
