//! The espeak-ng engine: the local program, run once per clip.
//!
//! The program is started directly (never through a shell) with an argument list of our own
//! words only; the text goes in on stdin (`--stdin`), so text that begins with `-` or holds
//! anything at all is spoken, never read as an option. The program runs in its own process
//! group, and stopping it (timeout, cancellation, a dropped future) kills the whole group, so
//! a wrapper script cannot leave a child behind. Its stderr is kept, bounded, for the error.
//! espeak-ng writes 22,050 Hz mono 16-bit WAV.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use mentor_shared::config::TtsConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStderr, ChildStdin, Command};
use tokio_util::sync::CancellationToken;

use super::wav::Clip;
use super::{io_error, tail, Limit, TtsError};

/// The most of the program's stderr kept in memory, in bytes (the end is kept).
const STDERR_BYTES: usize = 4096;

/// The most of the stderr shown in an error, in characters.
const STDERR_CHARS: usize = 500;

/// Bytes written to find out whether a clip's disk is full.
const PROBE_BYTES: usize = 64 * 1024;

/// Where programs are looked for when `PATH` is not set (as `execvp` does).
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The espeak-ng program and how fast it speaks.
pub(super) struct Espeak {
    program: String,
    words_per_minute: u32,
}

impl Espeak {
    pub(super) fn new(config: &TtsConfig) -> Espeak {
        Espeak {
            program: config.program.trim().to_string(),
            words_per_minute: config.words_per_minute,
        }
    }

    /// Whether the program exists: looked up on `PATH` when it has no `/`, else at its path.
    pub(super) fn check(&self) -> Result<(), TtsError> {
        if self.program.contains('/') {
            let path = Path::new(&self.program);
            if !path.is_file() {
                return Err(self.missing());
            }
            if !is_executable(path) {
                return Err(TtsError::Failed {
                    detail: format!("`{}` is not executable", self.program),
                });
            }
            return Ok(());
        }
        let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
        let found = std::env::split_paths(&path)
            .map(|dir| dir.join(&self.program))
            .any(|candidate: PathBuf| candidate.is_file() && is_executable(&candidate));
        if found {
            Ok(())
        } else {
            Err(self.missing())
        }
    }

    /// Speaks `text` into the WAV file `part` and reads it back.
    pub(super) async fn speak(
        &self,
        text: &str,
        voice: &str,
        part: &Path,
        limit: Limit,
        cancel: &CancellationToken,
    ) -> Result<Clip, TtsError> {
        // Validation refuses such voices; an option in `-v`'s place must never reach argv.
        if voice.is_empty() || voice.starts_with('-') {
            return Err(TtsError::Failed {
                detail: format!("`{voice}` is not an espeak-ng voice name"),
            });
        }
        // Made here, so that a directory we cannot write to is an I/O error, not the program's.
        tokio::fs::File::create(part)
            .await
            .map_err(|e| io_error(part, &e))?;
        let mut command = Command::new(&self.program);
        command
            .arg("-v")
            .arg(voice)
            .arg("-s")
            .arg(self.words_per_minute.to_string())
            .args(["-b", "1", "-w"])
            .arg(part)
            .arg("--stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let child = command.spawn().map_err(|e| self.spawn_error(&e))?;
        let mut running = Running { child };
        let stdin = running.child.stdin.take();
        let stderr = running.child.stderr.take();
        let ended = tokio::select! {
            (status, (), stderr) = async {
                tokio::join!(running.child.wait(), feed(stdin, text), read_tail(stderr))
            } => Ended::Exited(status, stderr),
            () = tokio::time::sleep(limit.time) => Ended::TimedOut,
            () = cancel.cancelled() => Ended::Cancelled,
        };
        let (status, stderr) = match ended {
            Ended::Exited(status, stderr) => (status, stderr),
            Ended::TimedOut => {
                running.stop().await;
                return Err(limit.exceeded());
            }
            Ended::Cancelled => {
                running.stop().await;
                return Err(TtsError::Cancelled);
            }
        };
        let status = status.map_err(|e| TtsError::Failed {
            detail: format!("cannot wait for `{}`: {e}", self.program),
        })?;
        if !status.success() {
            use std::os::unix::process::ExitStatusExt;
            return Err(TtsError::Exited {
                program: self.program.clone(),
                code: status.code(),
                signal: status.signal(),
                stderr,
            });
        }
        let read = tokio::fs::read(part).await;
        let bad = match read {
            Ok(bytes) if bytes.is_empty() => {
                format!("`{}` wrote an empty audio file", self.program)
            }
            Ok(bytes) => match Clip::parse(&bytes) {
                Ok(clip) => return Ok(clip),
                Err(e) => format!("{e} (written by `{}`)", self.program),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                format!("`{}` wrote no audio file", self.program)
            }
            Err(e) => return Err(io_error(part, &e)),
        };
        // espeak-ng exits 0 even when it could not write its file: a full disk is not the
        // program's fault, and passes once there is room again.
        Err(full_disk(part)
            .await
            .unwrap_or(TtsError::BadAudio { detail: bad }))
    }

    fn missing(&self) -> TtsError {
        TtsError::Missing {
            program: self.program.clone(),
        }
    }

    fn spawn_error(&self, e: &std::io::Error) -> TtsError {
        match e.kind() {
            std::io::ErrorKind::NotFound => self.missing(),
            std::io::ErrorKind::PermissionDenied => TtsError::Failed {
                detail: format!("cannot run `{}`: {e}", self.program),
            },
            // Out of processes or file descriptors: may pass.
            _ => TtsError::Io {
                detail: format!("cannot start `{}`: {e}", self.program),
            },
        }
    }
}

/// How the program's run ended.
enum Ended {
    Exited(std::io::Result<std::process::ExitStatus>, String),
    TimedOut,
    Cancelled,
}

/// A started program. Dropping it kills its process group (the program itself is also killed
/// by `kill_on_drop`, and reaped by tokio).
struct Running {
    child: Child,
}

impl Running {
    /// Kills the program and whatever it started, and waits for the program to end.
    async fn stop(&mut self) {
        self.kill_group();
        if let Err(e) = self.child.kill().await {
            tracing::warn!(error = %e, "cannot stop the speech program");
        }
    }

    fn kill_group(&self) {
        // `id()` is `None` once the program was reaped: its number may then belong to another
        // process, so nothing is sent. Until then the group's number is still ours.
        let Some(pid) = self
            .child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            return;
        };
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Writes the text to the program's stdin and closes it. A program that stops reading early
/// (it failed) makes the write fail; its exit status tells why.
async fn feed(stdin: Option<ChildStdin>, text: &str) {
    if let Some(mut stdin) = stdin {
        let _ = stdin.write_all(text.as_bytes()).await;
        let _ = stdin.shutdown().await;
    }
}

/// The end of the program's stderr, read to its end while keeping only the last
/// [`STDERR_BYTES`], as at most [`STDERR_CHARS`] characters.
async fn read_tail(stderr: Option<ChildStderr>) -> String {
    let Some(mut stderr) = stderr else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > STDERR_BYTES {
                    kept.drain(..kept.len() - STDERR_BYTES);
                }
            }
        }
    }
    tail(&String::from_utf8_lossy(&kept), STDERR_CHARS)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// An I/O error when the file system holding `part` has no room left: a probe written beside
/// it (a `.part` file, which the start-up sweep removes if a crash leaves it) fails for want
/// of space.
async fn full_disk(part: &Path) -> Option<TtsError> {
    let mut name = part.as_os_str().to_owned();
    name.push(".probe.part");
    let probe = PathBuf::from(name);
    let written = tokio::fs::write(&probe, vec![0u8; PROBE_BYTES]).await;
    let _ = tokio::fs::remove_file(&probe).await;
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::StorageFull => Some(io_error(part, &e)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    use mentor_shared::i18n::{localizer, Lang};

    use super::super::Speech;
    use super::*;
    use crate::tts::files_in;

    const INSTALL: &str = "espeak-ng must be installed for these tests: run ./install.sh --test";

    fn speech(program: &str, timeout_secs: u64) -> Speech {
        let config = TtsConfig {
            program: program.to_string(),
            timeout_secs,
            ..TtsConfig::default()
        };
        Speech::new(&config, reqwest::Client::new())
    }

    /// An executable shell script in `dir`.
    fn script(dir: &Path, name: &str, body: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write the script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make it executable");
        path.to_string_lossy().into_owned()
    }

    /// Whether a process is gone (a zombie nobody reaped counts as gone: it runs no more).
    fn gone(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        }
    }

    async fn real_espeak() -> Speech {
        let speech = speech("espeak-ng", 60);
        speech.check().await.expect(INSTALL);
        speech
    }

    #[tokio::test]
    async fn english_and_french_clips_are_22050_hz_wavs() {
        let speech = real_espeak().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let cancel = CancellationToken::new();
        for (lang, text) in [
            (
                Lang::EnUs,
                "Welcome to the show. Today we talk about photosynthesis.",
            ),
            (
                Lang::FrFr,
                "Bienvenue dans l'émission. Aujourd'hui, parlons de la photosynthèse.",
            ),
        ] {
            for voice in speech.voices(lang).to_vec() {
                let out = dir.path().join(format!("{voice}.wav"));
                let clip = speech
                    .speak(text, &voice, &out, &cancel)
                    .await
                    .unwrap_or_else(|e| panic!("{voice}: {e} ({INSTALL})"));
                assert_eq!(clip.rate, 22_050, "{voice}");
                // Some 9 words at 165 per minute: about 3 to 4 seconds.
                assert!(
                    clip.seconds() > 2.0 && clip.seconds() < 8.0,
                    "{voice}: {} s",
                    clip.seconds()
                );
                let loud = clip
                    .samples
                    .iter()
                    .filter(|s| s.unsigned_abs() > 1000)
                    .count();
                assert!(loud > clip.samples.len() / 10, "{voice}: mostly silence");
                let on_disk = Clip::parse(&std::fs::read(&out).expect("the clip's file"))
                    .expect("a WAV on disk");
                assert_eq!(on_disk, clip, "{voice}");
            }
        }
        let mut expected: Vec<String> = speech
            .voices(Lang::EnUs)
            .iter()
            .chain(speech.voices(Lang::FrFr))
            .map(|v| format!("{v}.wav"))
            .collect();
        expected.sort();
        assert_eq!(files_in(dir.path()), expected, "no .part left");
    }

    #[tokio::test]
    async fn text_that_looks_like_options_is_spoken() {
        let speech = real_espeak().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("dash.wav");
        let elsewhere = dir.path().join("elsewhere.wav");
        let text = format!(
            "--help -v xx -w {} minus five is less than zero.",
            elsewhere.display()
        );
        let clip = speech
            .speak(&text, "en-us+m3", &out, &CancellationToken::new())
            .await
            .expect("spoken");
        assert!(clip.seconds() > 2.0, "{} s", clip.seconds());
        assert_eq!(files_in(dir.path()), ["dash.wav"]);
    }

    #[tokio::test]
    async fn a_missing_program_says_to_install_espeak_ng() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("clip.wav");
        let cancel = CancellationToken::new();
        let absent = dir.path().join("no-such-espeak");
        for program in ["mentor-no-such-espeak-ng", &absent.to_string_lossy()] {
            let speech = speech(program, 5);
            let expected = TtsError::Missing {
                program: program.to_string(),
            };
            assert_eq!(speech.check().await, Err(expected.clone()));
            let e = speech
                .speak("Hello.", "en-us", &out, &cancel)
                .await
                .expect_err("nothing to run");
            assert_eq!(e, expected);
            assert!(!e.is_transient());
            for lang in Lang::ALL {
                let text = e.localize(localizer(lang));
                assert!(text.contains(program), "{text}");
                assert!(text.contains("apt-get install espeak-ng"), "{text}");
            }
        }
        assert!(files_in(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_failing_program_reports_its_status_and_stderr() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = script(
            dir.path(),
            "fails",
            "echo 'starting' >&2\necho 'boom: no such voice' >&2\nexit 3",
        );
        let speech = speech(&program, 5);
        assert_eq!(speech.check().await, Ok(()));
        let out = dir.path().join("clip.wav");
        let e = speech
            .speak("Hello.", "en-us", &out, &CancellationToken::new())
            .await
            .expect_err("exit 3");
        let TtsError::Exited {
            code,
            signal,
            stderr,
            ..
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!((*code, *signal), (Some(3), None));
        assert!(stderr.contains("boom: no such voice"), "{stderr}");
        let en = e.localize(localizer(Lang::EnUs));
        assert!(en.contains("stopped with exit code 3: "), "{en}");
        assert!(en.contains("boom: no such voice"), "{en}");
        assert!(!e.is_transient());
        assert_eq!(files_in(dir.path()), ["fails"]);
    }

    #[tokio::test]
    async fn stderr_is_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = script(
            dir.path(),
            "noisy",
            "i=0\nwhile [ $i -lt 2000 ]; do echo \"line $i of noise\" >&2; i=$((i+1)); done\nexit 1",
        );
        let e = speech(&program, 10)
            .speak(
                "Hello.",
                "en-us",
                &dir.path().join("c.wav"),
                &CancellationToken::new(),
            )
            .await
            .expect_err("exit 1");
        let TtsError::Exited { code, stderr, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(*code, Some(1));
        assert!(stderr.ends_with("line 1999 of noise"), "{stderr}");
        assert!(stderr.starts_with('…'), "{stderr}");
        assert!(stderr.chars().count() <= STDERR_CHARS, "{stderr}");
    }

    #[tokio::test]
    async fn a_hung_program_is_killed_at_the_timeout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        // The shell and the sleep it started: both must go.
        let program = script(
            dir.path(),
            "hangs",
            &format!(
                "sleep 30 &\necho \"$$ $!\" > '{}'\nwait",
                pids.to_string_lossy()
            ),
        );
        let out = dir.path().join("clip.wav");
        let started = Instant::now();
        let e = speech(&program, 1)
            .speak("Hello.", "en-us", &out, &CancellationToken::new())
            .await
            .expect_err("hung");
        let took = started.elapsed();
        assert_eq!(e, TtsError::TimedOut { secs: 1 });
        assert!(e.is_transient());
        assert!(took < Duration::from_secs(3), "took {took:?}");
        let pids = std::fs::read_to_string(&pids).expect("the script ran");
        for pid in pids.split_whitespace() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while !gone(pid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(gone(pid), "process {pid} still runs");
        }
        assert_eq!(files_in(dir.path()), ["hangs", "pids"]);
    }

    #[tokio::test]
    async fn cancellation_stops_the_program_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let program = script(
            dir.path(),
            "hangs",
            &format!("echo $$ > '{}'\nexec sleep 30", pid_file.to_string_lossy()),
        );
        let out = dir.path().join("clip.wav");
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        let watched = pid_file.clone();
        tokio::spawn(async move {
            // Cancel once the program is surely running.
            while !watched.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            trigger.cancel();
        });
        let started = Instant::now();
        let e = speech(&program, 60)
            .speak("Hello.", "en-us", &out, &cancel)
            .await
            .expect_err("cancelled");
        assert_eq!(e, TtsError::Cancelled);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        let pid = std::fs::read_to_string(&pid_file).expect("the script ran");
        assert!(gone(pid.trim()), "process {pid} still runs");
        assert_eq!(files_in(dir.path()), ["hangs", "pid"]);
        // Already cancelled: nothing is started.
        let e = speech("espeak-ng", 60)
            .speak("Hello.", "en-us", &out, &cancel)
            .await
            .expect_err("cancelled");
        assert_eq!(e, TtsError::Cancelled);
        assert!(!out.exists());
    }

    #[tokio::test]
    async fn garbage_output_is_bad_audio() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Writes to the file named after -w, as espeak-ng would.
        let garbage = script(
            dir.path(),
            "garbage",
            "while [ $# -gt 0 ]; do\n  if [ \"$1\" = -w ]; then echo 'not audio at all' > \"$2\"; fi\n  shift\ndone",
        );
        let silent = script(dir.path(), "silent", "cat > /dev/null");
        let out = dir.path().join("clip.wav");
        for program in [&garbage, &silent] {
            let e = speech(program, 5)
                .speak("Hello.", "en-us", &out, &CancellationToken::new())
                .await
                .expect_err("not audio");
            let TtsError::BadAudio { detail } = &e else {
                panic!("{program}: {e:?}");
            };
            if program == &garbage {
                assert!(detail.contains("not a WAV file"), "{detail}");
            } else {
                assert!(detail.contains("empty"), "{detail}");
            }
            assert!(!e.is_transient());
        }
        assert_eq!(files_in(dir.path()), ["garbage", "silent"]);
    }

    #[tokio::test]
    async fn a_previous_clip_is_replaced_whole_or_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("clip.wav");
        std::fs::write(&out, b"an older attempt").expect("write");
        let failing = script(dir.path(), "fails", "exit 1");
        let e = speech(&failing, 5)
            .speak("Hello.", "en-us", &out, &CancellationToken::new())
            .await
            .expect_err("exit 1");
        assert!(matches!(e, TtsError::Exited { .. }), "{e:?}");
        assert!(!out.exists());
        let speech = real_espeak().await;
        std::fs::write(&out, b"an older attempt").expect("write");
        let clip = speech
            .speak("Hello.", "en-us+f3", &out, &CancellationToken::new())
            .await
            .expect("spoken");
        assert_eq!(
            Clip::parse(&std::fs::read(&out).expect("read")).as_ref(),
            Ok(&clip)
        );
    }

    #[tokio::test]
    async fn an_unwritable_place_is_an_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("no-such-dir").join("clip.wav");
        let e = real_espeak()
            .await
            .speak("Hello.", "en-us", &out, &CancellationToken::new())
            .await
            .expect_err("no directory");
        assert!(matches!(e, TtsError::Io { .. }), "{e:?}");
        assert!(e.is_transient());
    }

    #[tokio::test]
    async fn a_file_that_is_not_executable_fails_the_check() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plain");
        std::fs::write(&path, "#!/bin/sh\n").expect("write");
        let e = speech(&path.to_string_lossy(), 5)
            .check()
            .await
            .expect_err("not executable");
        assert!(matches!(e, TtsError::Failed { .. }), "{e:?}");
    }
}
