//! `mentor daemon`: start, stop, status and logs of the background daemon.

use std::io::{BufRead, Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use mentor_shared::i18n;
use mentor_shared::t;
use mentor_shared::time::format_duration;

use super::{output, Env};
use crate::client::{self, answer, ctx};
use crate::error::CliError;

/// `mentor daemon …`
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start the daemon in the background (nothing happens if it runs).
    Start,
    /// Stop the daemon gracefully.
    Stop,
    /// Show whether the daemon runs, and its details.
    Status,
    /// Show the daemon's log.
    Logs(LogsArgs),
}

/// Arguments of `mentor daemon logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Number of lines from the end.
    #[arg(short = 'n', long, default_value_t = 50)]
    pub lines: usize,
    /// Keep printing new lines as they are written.
    #[arg(short, long)]
    pub follow: bool,
}

/// Runs a daemon command.
pub async fn run(env: &Env, cmd: DaemonCommand) -> Result<(), CliError> {
    let l = i18n::ui();
    match cmd {
        DaemonCommand::Start => {
            env.config()?;
            let pid = match client::connect_existing(&env.dirs).await? {
                Some(c) => {
                    eprintln!("{}", t!(l, "daemon-already-running", pid = c.server.pid));
                    c.server.pid
                }
                None => client::start(&env.dirs).await?.1,
            };
            if env.json {
                output::json(&serde_json::json!({ "running": true, "pid": pid }))?;
            }
            Ok(())
        }
        DaemonCommand::Stop => {
            let pid = match client::connect_existing(&env.dirs).await {
                Ok(Some(c)) => {
                    answer(c.rpc.shutdown(ctx(10)).await)?;
                    c.server.pid
                }
                Ok(None) => {
                    eprintln!("{}", t!(l, "daemon-not-running"));
                    return Ok(());
                }
                // A daemon of another protocol version cannot be asked: signal it instead.
                Err(CliError::Api(mentor_shared::ApiError::VersionMismatch { .. })) => {
                    let pid = env.dirs.running_daemon_pid().ok_or(CliError::Quiet)?;
                    let target =
                        rustix::process::Pid::from_raw(pid as i32).ok_or(CliError::Quiet)?;
                    rustix::process::kill_process(target, rustix::process::Signal::TERM).map_err(
                        |e| CliError::Io {
                            path: format!("pid {pid}"),
                            reason: e.to_string(),
                        },
                    )?;
                    pid
                }
                Err(e) => return Err(e),
            };
            // The daemon releases its lock only after the database is closed. (Another daemon
            // may take the lock right after, started by a client that was waiting: wait for
            // this one only.)
            let deadline = Instant::now() + Duration::from_secs(20);
            while env.dirs.running_daemon_pid() == Some(pid) {
                if Instant::now() > deadline {
                    return Err(CliError::Connection(t!(
                        l,
                        "daemon-stop-timeout",
                        pid = pid
                    )));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            eprintln!("{}", t!(l, "daemon-stopped", pid = pid));
            Ok(())
        }
        DaemonCommand::Status => {
            let Some(c) = client::connect_existing(&env.dirs).await? else {
                if env.json {
                    output::json(&serde_json::json!({ "running": false }))?;
                } else {
                    outln!("{}", t!(l, "daemon-not-running"));
                }
                // Not running is the answer, already printed: exit 1 without an error message.
                return Err(CliError::Quiet);
            };
            let status = answer(c.rpc.status(ctx(10)).await)?;
            if env.json {
                let mut value = serde_json::to_value(&status).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.insert("running".into(), true.into());
                }
                return output::json(&value);
            }
            outln!("{}", t!(l, "daemon-status-running", pid = status.pid));
            let rows = [
                (
                    t!(l, "daemon-status-version"),
                    format!("{} (protocol {})", status.version, status.protocol),
                ),
                (
                    t!(l, "daemon-status-uptime"),
                    format_duration(Duration::from_secs(status.uptime_secs)),
                ),
                (t!(l, "daemon-status-socket"), status.socket),
                (t!(l, "daemon-status-database"), status.database),
                (t!(l, "daemon-status-log"), status.log_file),
                (
                    t!(l, "daemon-status-clients"),
                    status.connections.to_string(),
                ),
                (
                    t!(l, "daemon-status-notebooks"),
                    status.notebooks.to_string(),
                ),
                (t!(l, "daemon-status-sources"), status.sources.to_string()),
            ];
            let width = rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (k, v) in rows {
                outln!("  {k:<width$}  {v}");
            }
            Ok(())
        }
        DaemonCommand::Logs(args) => logs(env, args).await,
    }
}

async fn logs(env: &Env, args: LogsArgs) -> Result<(), CliError> {
    let path = env.dirs.log_file();
    let io = |e: std::io::Error| CliError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !args.follow => {
            eprintln!(
                "{}",
                t!(
                    i18n::ui(),
                    "daemon-no-logs",
                    path = path.display().to_string()
                )
            );
            return Ok(());
        }
        Err(e) => return Err(io(e)),
    };
    let reader = std::io::BufReader::new(&mut file);
    let mut tail = std::collections::VecDeque::with_capacity(args.lines + 1);
    for line in reader.lines() {
        let line = line.map_err(io)?;
        if tail.len() == args.lines {
            tail.pop_front();
        }
        if args.lines > 0 {
            tail.push_back(line);
        }
    }
    for line in &tail {
        outln!("{line}");
    }
    if !args.follow {
        return Ok(());
    }
    // Following a file has no change notification we can rely on everywhere; a short sleep
    // between reads is what `tail -f` does too.
    let mut pos = file.seek(SeekFrom::End(0)).map_err(io)?;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let len = std::fs::metadata(&path).map_err(io)?.len();
        if len < pos {
            pos = 0;
        }
        if len > pos {
            file.seek(SeekFrom::Start(pos)).map_err(io)?;
            let mut chunk = String::new();
            std::io::Read::read_to_string(&mut (&mut file).take(len - pos), &mut chunk)
                .map_err(io)?;
            out!("{chunk}");
            pos = len;
        }
    }
}
