//! The daemon's life and its front door: start, stop, status, singleton, stale socket,
//! permissions, other users, hostile frames, version handshake, signals.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use mentor_tests::{bin, TestEnv};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn start_status_stop() {
    let env = TestEnv::new();
    let not_running = env.mentor(&["daemon", "status", "--json"]);
    assert_eq!(not_running.code, 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&not_running.stdout).unwrap()["running"],
        false
    );

    let started = env.mentor(&["daemon", "start"]);
    started.ok();
    assert!(
        started.stderr.contains("Mentor daemon started"),
        "{started:?}"
    );
    let status = env.mentor(&["daemon", "status", "--json"]).json();
    assert_eq!(status["running"], true);
    let pid = status["pid"].as_u64().unwrap() as u32;
    assert_eq!(env.daemon_pid(), Some(pid));

    // Starting again is harmless and says so.
    let again = env.mentor(&["daemon", "start"]);
    again.ok();
    assert!(again.stderr.contains("already running"), "{again:?}");

    let human = env.mentor(&["daemon", "status"]);
    assert!(human.ok().contains(&format!("pid {pid}")));

    let stopped = env.mentor(&["daemon", "stop"]);
    stopped.ok();
    assert!(stopped.stderr.contains("stopped"), "{stopped:?}");
    assert_eq!(env.daemon_pid(), None);
    assert!(!env.dirs().socket().exists(), "socket removed at shutdown");
    // Stopping a stopped daemon is not an error.
    env.mentor(&["daemon", "stop"]).ok();
}

#[test]
fn commands_start_the_daemon_when_needed() {
    let env = TestEnv::new();
    let run = env.mentor(&["notebook", "list", "--json"]);
    assert_eq!(run.json(), serde_json::json!([]));
    assert!(run.stderr.contains("Starting the Mentor daemon"), "{run:?}");
    // The next command finds it running and says nothing about starting.
    let run = env.mentor(&["notebook", "list", "--json"]);
    run.ok();
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[test]
fn a_second_daemon_is_refused() {
    let env = TestEnv::new();
    env.mentor(&["daemon", "start"]).ok();
    let pid = env.daemon_pid().unwrap();
    let second = env.command("mentord").output().unwrap();
    assert_eq!(
        second.status.code(),
        Some(mentor_shared::paths::EXIT_ALREADY_RUNNING)
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("already running") && stderr.contains(&pid.to_string()),
        "{stderr}"
    );
    // The first daemon is undisturbed.
    assert_eq!(env.daemon_pid(), Some(pid));
    env.mentor(&["notebook", "list"]).ok();
}

#[test]
fn a_stale_socket_is_replaced() {
    let env = TestEnv::new();
    env.mentor(&["notebook", "create", "Kept"]).ok();
    let pid = env.daemon_pid().unwrap();
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(env.wait_daemon_gone(Duration::from_secs(5)));
    assert!(
        env.dirs().socket().exists(),
        "a killed daemon leaves its socket"
    );
    let run = env.mentor(&["notebook", "list", "--json"]);
    let list = run.json();
    assert_eq!(list[0]["title"], "Kept", "data survives SIGKILL");
    assert!(run.stderr.contains("Starting"), "{run:?}");
    env.wait_log("replacing stale socket");
}

#[test]
fn private_directory_and_owner_only_files() {
    let env = TestEnv::new();
    env.mentor(&["notebook", "create", "Modes"]).ok();
    let dirs = env.dirs();
    assert_eq!(mode(&dirs.runtime), 0o700);
    assert_eq!(mode(&dirs.socket()), 0o600);
    assert_eq!(mode(&dirs.lock_file()), 0o600);
    assert_eq!(mode(&dirs.data), 0o700);
    assert_eq!(mode(&dirs.database()), 0o600);
    assert_eq!(mode(&dirs.log_file()), 0o600);
}

#[test]
fn a_loosened_runtime_directory_is_made_private_again() {
    let env = TestEnv::new();
    let run_dir = env.dirs().runtime;
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    env.mentor(&["daemon", "start"]).ok();
    assert_eq!(mode(&run_dir), 0o700);
}

#[test]
fn sigterm_stops_gracefully() {
    let env = TestEnv::new();
    env.mentor(&["notebook", "create", "Before SIGTERM"]).ok();
    let pid = env.daemon_pid().unwrap();
    Command::new("kill").arg(pid.to_string()).status().unwrap();
    assert!(env.wait_daemon_gone(Duration::from_secs(10)));
    assert!(!env.dirs().socket().exists());
    env.wait_log("SIGTERM received");
    env.wait_log("stopped");
    // The WAL was checkpointed: the database file alone holds the data.
    let wal = env.dirs().database().with_extension("db-wal");
    assert!(std::fs::metadata(&wal)
        .map(|m| m.len() == 0)
        .unwrap_or(true));
    let list = env.mentor(&["notebook", "list", "--json"]).json();
    assert_eq!(list[0]["title"], "Before SIGTERM");
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Sends bytes and reports whether the daemon closed the connection (EOF) within a few seconds.
fn closed_after(env: &TestEnv, bytes: &[u8]) -> bool {
    let mut s = UnixStream::connect(env.dirs().socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0) | Err(_))
}

#[test]
fn oversize_and_garbage_frames_close_only_that_connection() {
    let env = TestEnv::new();
    env.mentor(&["daemon", "start"]).ok();
    // Held open across the abuse: an honest connection is not disturbed.
    let honest = UnixStream::connect(env.dirs().socket()).unwrap();
    assert!(
        closed_after(&env, &u32::MAX.to_be_bytes()),
        "oversize length"
    );
    assert!(closed_after(&env, &frame(b"{not json")), "malformed JSON");
    assert!(
        closed_after(&env, &frame(&[0xff, 0xfe, 0x00, 0x01])),
        "binary garbage"
    );
    assert!(
        closed_after(
            &env,
            &frame(br#"{"Request":{"id":1,"message":{"Nope":{}}}}"#)
        ),
        "unknown request"
    );
    env.wait_log("bad frame");
    // The daemon is still up and serving.
    env.mentor(&["notebook", "list"]).ok();
    drop(honest);
    env.mentor(&["notebook", "create", "Still fine"]).ok();
}

#[test]
fn version_mismatch_is_explained() {
    let env = TestEnv::new();
    let mut daemon = env
        .command("mentord")
        .env("MENTORD_PROTOCOL_VERSION", "999")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !env.dirs().socket().exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "mentord did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let en = env.mentor(&["notebook", "list"]);
    let msg = en.fails();
    assert!(
        msg.contains("999") && msg.contains("mentor daemon stop"),
        "{msg}"
    );
    let fr = env
        .command("mentor")
        .env("MENTOR_LANG", "fr-FR")
        .args(["notebook", "list"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&fr.stderr);
    assert!(stderr.contains("Redémarrez le démon"), "{stderr}");
    // The advice works: `mentor daemon stop` stops a daemon of another version too.
    env.mentor(&["daemon", "stop"]).ok();
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_client_of_another_user_is_refused() {
    if !is_root() {
        eprintln!("SKIPPED: needs root to run a client as `nobody` (setpriv)");
        return;
    }
    let env = TestEnv::new();
    env.mentor(&["daemon", "start"]).ok();
    let mentor = bin("mentor");
    // `nobody` must be able to run the binary at all.
    let probe = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&mentor)
        .arg("--version")
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        other => {
            eprintln!(
                "SKIPPED: `nobody` cannot run {}: {other:?}",
                mentor.display()
            );
            return;
        }
    }
    let as_nobody = |args: &[&str]| {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&mentor)
            .args(args)
            .env("MENTOR_HOME", env.path())
            .env("MENTOR_LANG", "en-US")
            .env("MENTORD", "/nonexistent/mentord")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // First line of defence: the private directory.
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, stderr) = as_nobody(&["notebook", "list"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    // Second line: even with the directory and socket opened up, SO_PEERCRED refuses.
    let dirs = env.dirs();
    std::fs::set_permissions(&dirs.runtime, std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(dirs.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let (code, stderr) = as_nobody(&["notebook", "list"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Lost the connection"), "{stderr}");
    env.wait_log("connection from another user refused");
    // The owner is still served.
    env.mentor(&["notebook", "list"]).ok();
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn usage_errors_exit_with_2() {
    let env = TestEnv::new();
    let run = env.mentor(&["notebook", "frobnicate"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("unknown command 'frobnicate'"),
        "{run:?}"
    );
    let run = env.mentor(&["source", "search", "nb", "q", "--limit", "0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("from 1 to 100"), "{run:?}");
    // In French too, with clap's English nowhere.
    let fr = TestEnv::new().french();
    let run = fr.mentor(&["notebook", "lsit"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("commande inconnue « lsit »"), "{run:?}");
    assert!(run.stderr.contains("vouliez-vous dire « list »"), "{run:?}");
    assert!(!run.stderr.contains("error:"), "{run:?}");
    assert_eq!(fr.daemon_pid(), None);
    // Help is still help, with exit code 0.
    let run = env.mentor(&["notebook", "--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Usage: mentor notebook"), "{run:?}");
    // Usage errors never start the daemon.
    assert_eq!(env.daemon_pid(), None);
}

#[test]
fn logs_are_shown() {
    let env = TestEnv::new();
    env.mentor(&["daemon", "start"]).ok();
    env.wait_log("listening");
    let logs = env.mentor(&["daemon", "logs", "-n", "5"]);
    assert!(logs.ok().contains("listening"), "{logs:?}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // `mentor … | head`: the reader is gone before the client writes.
    let env = TestEnv::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = env
        .command("mentor")
        .args(["completions", "bash"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// Job handlers run on threads of their own, 10 nice steps below the rest of the daemon, so
/// background work never makes the conversation wait for a core.
#[test]
fn job_threads_run_at_a_lower_priority() {
    let env = TestEnv::new();
    env.mentor(&["daemon", "start"]).ok();
    let pid = env.daemon_pid().expect("daemon pid");
    // (name, nice) of each thread, from /proc/<pid>/task/<tid>/{comm,stat}.
    let threads: Vec<(String, i64)> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the daemon's threads")
        .filter_map(|t| {
            let dir = t.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // Fields after the command name (which ends with the last ')'): state is the
            // 3rd field of the line, nice the 19th.
            let rest = &stat[stat.rfind(')')? + 2..];
            let nice = rest.split(' ').nth(16)?.parse().ok()?;
            Some((name.trim().to_string(), nice))
        })
        .collect();
    let main_nice = threads
        .iter()
        .find(|(n, _)| n == "mentord")
        .map(|(_, nice)| *nice)
        .expect("a mentord thread");
    let jobs: Vec<i64> = threads
        .iter()
        .filter(|(n, _)| n == "mentord-jobs")
        .map(|(_, nice)| *nice)
        .collect();
    assert!(!jobs.is_empty(), "no job threads in {threads:?}");
    assert!(
        jobs.iter().all(|n| *n == (main_nice + 10).min(19)),
        "{threads:?}"
    );
    env.mentor(&["daemon", "stop"]).ok();
}
