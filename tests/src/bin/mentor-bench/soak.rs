//! `soak`: the crash soak at full size (the driver is `mentor_tests::soak`; a short form runs
//! in CI as `tests/tests/soak.rs`). 200 jobs — podcasts spoken by the real espeak-ng, quizzes,
//! study guides — through the release daemon and the scripted model server (each generator
//! answer after 100 ms), one every 100 ms, while the daemon is SIGKILLed 20 times, 0.3–1.5 s
//! apart, and started again, and a client keeps chatting. The seed of the random moments is
//! printed; `MENTOR_SOAK_SEED` replays one.

use std::time::Duration;

use anyhow::{Context, Result};
use mentor_tests::soak::{self, Plan};

use super::{progress, Bench, Report};

/// Jobs at full size (`--samples N` changes it).
const JOBS: usize = 200;
/// SIGKILLs at full size.
const KILLS: usize = 20;

pub fn scenario_soak(bench: &Bench) -> Result<Report> {
    let home = bench.home()?;
    let seed = match std::env::var("MENTOR_SOAK_SEED") {
        Ok(s) => s.parse().context("MENTOR_SOAK_SEED is not a number")?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    let jobs = bench.samples(JOBS).max(3);
    let kills = (KILLS * jobs / JOBS).max(1);
    progress(&format!(
        "{jobs} jobs, {kills} kills, seed {seed} (MENTOR_SOAK_SEED={seed} replays it)"
    ));
    let mentor = |args: &[&str]| home.command(args.iter());
    let under = soak::Home {
        dirs: home.dirs(),
        mentor: &mentor,
    };
    let plan = Plan {
        jobs,
        kills,
        submit_every: Duration::from_millis(100),
        kill_after: (Duration::from_millis(300), Duration::from_millis(1500)),
        model_delay: Duration::from_millis(100),
        seed,
    };
    let report = soak::run(&under, plan, &|line| progress(line))?;
    Ok(Report {
        scenario: "soak",
        metrics: vec![
            ("jobs", report.jobs as f64),
            ("kills", report.kills as f64),
            ("lost", report.lost as f64),
            ("duplicated", report.duplicated as f64),
            ("orphan_files", report.orphan_files as f64),
            ("integrity_ok", if report.integrity_ok { 1.0 } else { 0.0 }),
            ("messages_lost", report.messages_lost as f64),
        ],
    })
}
