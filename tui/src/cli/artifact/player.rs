//! Which program plays a podcast, and running it. The player is `--player`, else the
//! configuration's `[artifacts] player`, else the first of the usual players found on PATH.
//!
//! A player command is split on whitespace and run without a shell (no quoting, no `$VAR`, no
//! pipes: a program path with spaces needs a wrapper script), with the sound file's path as its
//! last argument. It inherits the terminal, so its keys work and Ctrl+C reaches it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::problem::Problem;

/// The players looked for on PATH, in order, with the arguments that make each one play a
/// file to its end without a window.
pub const USUAL_PLAYERS: [(&str, &[&str]); 5] = [
    ("mpv", &["--no-video"]),
    ("ffplay", &["-nodisp", "-autoexit", "-loglevel", "error"]),
    ("paplay", &[]),
    ("aplay", &[]),
    ("afplay", &[]),
];

/// A player to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// The program (a name looked up on PATH, or a path).
    pub program: PathBuf,
    /// Its arguments before the file's path.
    pub args: Vec<String>,
}

impl Player {
    /// A command line, split on whitespace; `None` when it is blank.
    pub fn parse(command_line: &str) -> Option<Player> {
        let mut words = command_line.split_whitespace();
        let program = words.next()?;
        Some(Player {
            program: PathBuf::from(program),
            args: words.map(str::to_string).collect(),
        })
    }

    /// The program's name, for messages.
    pub fn name(&self) -> String {
        self.program
            .file_name()
            .unwrap_or(self.program.as_os_str())
            .to_string_lossy()
            .into_owned()
    }
}

/// Chooses the player: `flag`, else `configured`, else the first usual player found in
/// `path` (the value of `PATH`). A blank flag or configuration counts as not given.
pub fn choose(
    flag: Option<&str>,
    configured: &str,
    path: Option<&OsStr>,
) -> Result<Player, Problem> {
    if let Some(player) = flag.and_then(Player::parse) {
        return Ok(player);
    }
    if let Some(player) = Player::parse(configured) {
        return Ok(player);
    }
    for (name, args) in USUAL_PLAYERS {
        if let Some(program) = path.and_then(|p| find_on_path(name, p)) {
            return Ok(Player {
                program,
                args: args.iter().map(|a| a.to_string()).collect(),
            });
        }
    }
    Err(Problem::NoPlayer {
        tried: USUAL_PLAYERS
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The first executable file called `name` in the directories of `path`.
pub fn find_on_path(name: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Plays `file` with `player`, inheriting the terminal, and waits for it to end.
pub async fn play(player: &Player, file: &Path) -> Result<(), Problem> {
    let status = tokio::process::Command::new(&player.program)
        .args(&player.args)
        .arg(file)
        .status()
        .await
        .map_err(|e| Problem::PlayerFailed {
            player: player.program.display().to_string(),
            reason: e.to_string(),
        })?;
    match status.code() {
        Some(0) | None => Ok(()),
        Some(code) => Err(Problem::PlayerExit {
            player: player.name(),
            code,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    /// A directory with executable files of these names, and one that is not executable.
    fn bin_dir(names: &[&str]) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        for name in names {
            let path = dir.path().join(name);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        std::fs::write(dir.path().join("mpv"), "not executable").ok();
        dir
    }

    fn path_of(dirs: &[&Path]) -> OsString {
        std::env::join_paths(dirs).expect("join")
    }

    #[test]
    fn the_flag_wins_then_the_config_then_path() {
        let dir = bin_dir(&["aplay"]);
        let path = path_of(&[dir.path()]);
        let flag = choose(Some("vlc --intf dummy"), "mpv", Some(&path)).expect("flag");
        assert_eq!(flag.program, PathBuf::from("vlc"));
        assert_eq!(flag.args, ["--intf", "dummy"]);
        let configured = choose(None, "  mpv  --volume=50 ", Some(&path)).expect("config");
        assert_eq!(configured.program, PathBuf::from("mpv"));
        assert_eq!(configured.args, ["--volume=50"]);
        let blank_flag = choose(Some("  "), "", Some(&path)).expect("path");
        assert_eq!(blank_flag.program, dir.path().join("aplay"));
        assert!(blank_flag.args.is_empty());
    }

    #[test]
    fn path_is_searched_in_order_of_players_then_of_directories() {
        // mpv in the first directory is not executable: skipped.
        let first = bin_dir(&["paplay"]);
        let second = bin_dir(&["ffplay", "paplay"]);
        let path = path_of(&[first.path(), second.path()]);
        let found = choose(None, "", Some(&path)).expect("a player");
        assert_eq!(found.program, second.path().join("ffplay"));
        assert_eq!(found.args, ["-nodisp", "-autoexit", "-loglevel", "error"]);
        assert_eq!(
            find_on_path("paplay", &path),
            Some(first.path().join("paplay"))
        );
    }

    #[test]
    fn no_player_anywhere_names_what_was_looked_for() {
        let empty = bin_dir(&[]);
        let path = path_of(&[empty.path()]);
        let err = choose(None, " ", Some(&path)).expect_err("nothing to find");
        assert_eq!(
            err,
            Problem::NoPlayer {
                tried: "mpv, ffplay, paplay, aplay, afplay".into()
            }
        );
        assert!(choose(None, "", None).is_err());
    }

    #[tokio::test]
    async fn the_player_gets_the_file_last_and_its_failures_are_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("args.txt");
        let script = dir.path().join("player.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit \"${{CODE:-0}}\"\n",
                log.display()
            ),
        )
        .expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let player = Player {
            program: script.clone(),
            args: vec!["--quiet".into()],
        };
        play(&player, Path::new("/data/p.wav"))
            .await
            .expect("plays");
        assert_eq!(
            std::fs::read_to_string(&log).ok().as_deref(),
            Some("--quiet\n/data/p.wav\n")
        );
        // No quoting: `sh -c 'exit 3'` would be split into `'exit` and `3'`, so a player
        // needing a quoted argument is set up here as the words themselves.
        let unquoted = Player::parse("sh -c 'exit 3'").expect("parse");
        assert_eq!(unquoted.args, ["-c", "'exit", "3'"]);
        let failing = Player {
            program: PathBuf::from("sh"),
            args: vec!["-c".into(), "exit 3".into()],
        };
        assert_eq!(
            play(&failing, Path::new("/x.wav")).await,
            Err(Problem::PlayerExit {
                player: "sh".into(),
                code: 3
            })
        );
        let missing = Player::parse("/no/such/player").expect("parse");
        assert!(matches!(
            play(&missing, Path::new("/x.wav")).await,
            Err(Problem::PlayerFailed { .. })
        ));
    }
}
