//! Where artifacts' files live: `<data>/artifacts/<notebook>/<artifact>/`, owner-only.
//!
//! A podcast writes its clips in `clips/` there, then `podcast.wav`; every file is written to
//! a `.part` name first and renamed, so a finished name is always a whole file. A directory
//! goes when its artifact ends failed or cancelled, when its notebook is deleted, and — for
//! anything a crash left behind — at start-up ([`ArtifactFiles::sweep`]).

use std::collections::HashMap;
use std::fs::DirBuilder;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use mentor_shared::ids::{ArtifactId, NotebookId};
use mentor_shared::jobs::ArtifactStatus;

/// The podcast's sound file, in its artifact's directory.
pub const PODCAST_FILE: &str = "podcast.wav";
/// The clips' directory, in a podcast's artifact directory.
pub const CLIPS_DIR: &str = "clips";

/// The artifacts' directory tree.
#[derive(Debug, Clone)]
pub struct ArtifactFiles {
    root: PathBuf,
}

impl ArtifactFiles {
    /// The tree under `root` (`Dirs::artifacts()`).
    pub fn new(root: PathBuf) -> ArtifactFiles {
        ArtifactFiles { root }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A notebook's directory.
    pub fn notebook_dir(&self, notebook: NotebookId) -> PathBuf {
        self.root.join(notebook.ulid())
    }

    /// An artifact's directory.
    pub fn artifact_dir(&self, notebook: NotebookId, artifact: ArtifactId) -> PathBuf {
        self.notebook_dir(notebook).join(artifact.ulid())
    }

    /// Creates `dir` and its parents, owner-only.
    pub fn create_dir(dir: &Path) -> std::io::Result<()> {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }

    /// Writes `bytes` to `path` whole or not at all (a `.part` file renamed), owner-only.
    pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let part = part_path(path);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)
            .and_then(|mut f| {
                f.write_all(bytes)?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&part, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&part);
        }
        written
    }

    /// Removes an artifact's directory (nothing to do if it is not there).
    pub fn remove_artifact(&self, notebook: NotebookId, artifact: ArtifactId) {
        remove_dir(&self.artifact_dir(notebook, artifact));
    }

    /// Removes a notebook's directory with all its artifacts' files.
    pub fn remove_notebook(&self, notebook: NotebookId) {
        remove_dir(&self.notebook_dir(notebook));
    }

    /// Removes what no artifact needs: directories of notebooks or artifacts that no longer
    /// exist, of artifacts that failed or were cancelled, the clips of ready ones, and `.part`
    /// files. `known` holds every artifact with its notebook and status. Returns how many
    /// entries it removed.
    ///
    /// The files of artifacts still generating are left alone while jobs may run
    /// ([`Sweep::WhileRunning`]): their `.part` files are being written. Only before any job
    /// starts ([`Sweep::BeforeJobs`]) are those a crash left behind removed.
    pub fn sweep(
        &self,
        known: &HashMap<ArtifactId, (NotebookId, ArtifactStatus)>,
        when: Sweep,
    ) -> usize {
        let Ok(notebooks) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        let live_notebooks: HashMap<String, ()> =
            known.values().map(|(nb, _)| (nb.ulid(), ())).collect();
        let mut removed = 0;
        for nb in notebooks.flatten() {
            let nb_path = nb.path();
            let nb_name = nb.file_name().to_string_lossy().to_string();
            if !live_notebooks.contains_key(&nb_name) || !nb_path.is_dir() {
                remove_any(&nb_path);
                removed += 1;
                continue;
            }
            let Ok(artifacts) = std::fs::read_dir(&nb_path) else {
                continue;
            };
            for art in artifacts.flatten() {
                let path = art.path();
                let name = art.file_name().to_string_lossy().to_string();
                let status = ArtifactId::parse(&name)
                    .ok()
                    .and_then(|id| known.get(&id))
                    .filter(|(owner, _)| owner.ulid() == nb_name)
                    .map(|(_, status)| *status);
                match status {
                    Some(ArtifactStatus::Generating) => {
                        if when == Sweep::BeforeJobs {
                            removed += remove_parts(&path);
                        }
                    }
                    Some(ArtifactStatus::Ready) if path.is_dir() => {
                        if path.join(CLIPS_DIR).exists() {
                            remove_dir(&path.join(CLIPS_DIR));
                            removed += 1;
                        }
                        removed += remove_parts(&path);
                    }
                    _ => {
                        remove_any(&path);
                        removed += 1;
                    }
                }
            }
        }
        removed
    }
}

/// When a sweep runs, which says whether a job may be writing files meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// At start-up, before the queue starts any job: every `.part` file is a crash's leftover.
    BeforeJobs,
    /// While jobs run (after missed job events): generating artifacts are not touched.
    WhileRunning,
}

/// Every artifact with its notebook and status (for [`ArtifactFiles::sweep`]).
pub fn known(
    conn: &rusqlite::Connection,
) -> crate::store::StoreResult<HashMap<ArtifactId, (NotebookId, ArtifactStatus)>> {
    let mut stmt = conn.prepare("SELECT id, notebook_id, status FROM artifacts")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, notebook, status) = row?;
        if let (Ok(id), Ok(notebook), Some(status)) = (
            ArtifactId::parse(&id),
            NotebookId::parse(&notebook),
            ArtifactStatus::parse(&status),
        ) {
            out.insert(id, (notebook, status));
        }
    }
    Ok(out)
}

/// How long after a job's end its files are looked for once more: a handler stopped by a
/// cancel is dropped, and its speech processes killed, a moment after the end is recorded.
const SECOND_PASS: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps the tree tidy while the daemon runs: a sweep at start-up (awaited: call this before
/// the queue starts, so that no job is writing yet), then the files of every artifact whose
/// job ends failed or cancelled are removed (at once and once more a moment later), and a
/// sweep that spares generating artifacts whenever job events were missed.
pub async fn start_janitor(daemon: &std::sync::Arc<crate::state::Daemon>) {
    use mentor_shared::jobs::{EventBody, JobStatus};

    let daemon = daemon.clone();
    let files = ArtifactFiles::new(daemon.dirs.artifacts());
    let bus = daemon.queue.bus().clone();
    let mut after = Some(bus.last_seq());
    sweep_now(&daemon, &files, Sweep::BeforeJobs).await;
    daemon.tasks.clone().spawn(async move {
        while let Some(news) = bus.next_job_ends(&mut after, &daemon.shutdown).await {
            let events = match news {
                crate::queue::bus::Internal::Missed => {
                    sweep_now(&daemon, &files, Sweep::WhileRunning).await;
                    continue;
                }
                crate::queue::bus::Internal::Events(events) => events,
            };
            for (_, event) in events {
                let EventBody::Job { job } = &event.body else {
                    continue;
                };
                if !matches!(job.status, JobStatus::Error | JobStatus::Cancelled) {
                    continue;
                }
                let (Some(notebook), Some(artifact)) = (job.notebook_id, job.artifact_id) else {
                    continue;
                };
                let files = files.clone();
                daemon.tasks.spawn(async move {
                    let once = files.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        once.remove_artifact(notebook, artifact)
                    })
                    .await;
                    tokio::time::sleep(SECOND_PASS).await;
                    let _ = tokio::task::spawn_blocking(move || {
                        files.remove_artifact(notebook, artifact)
                    })
                    .await;
                });
            }
        }
    });
}

/// Removes a deleted notebook's files (at once and once more a moment later, after its
/// stopped jobs are gone).
pub fn forget_notebook(daemon: &crate::state::Daemon, notebook: NotebookId) {
    let files = ArtifactFiles::new(daemon.dirs.artifacts());
    daemon.tasks.spawn(async move {
        for pass in 0..2 {
            if pass > 0 {
                tokio::time::sleep(SECOND_PASS).await;
            }
            let files = files.clone();
            let _ = tokio::task::spawn_blocking(move || files.remove_notebook(notebook)).await;
        }
    });
}

async fn sweep_now(daemon: &crate::state::Daemon, files: &ArtifactFiles, when: Sweep) {
    let known = match daemon.store.read(known).await {
        Ok(known) => known,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list artifacts to tidy their files");
            return;
        }
    };
    let files = files.clone();
    match tokio::task::spawn_blocking(move || files.sweep(&known, when)).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "stray artifact files removed"),
        Err(e) => tracing::warn!(error = %e, "artifact sweep failed"),
    }
}

/// `path` with `.part` appended.
pub fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

fn remove_dir(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => tracing::debug!(dir = %dir.display(), "artifact files removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot remove artifact files"),
    }
}

fn remove_any(path: &Path) {
    if path.is_dir() {
        remove_dir(path);
    } else if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove a stray file");
    }
}

/// Removes the `.part` files under `dir` (one level of subdirectories deep).
fn remove_parts(dir: &Path) -> usize {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            removed += remove_parts(&path);
        } else if path.extension().is_some_and(|e| e == "part") {
            remove_any(&path);
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_are_whole_and_owner_only_and_the_sweep_keeps_only_what_is_needed() {
        let tmp = tempfile::tempdir().unwrap();
        let files = ArtifactFiles::new(tmp.path().join("artifacts"));
        let nb = NotebookId::new();
        let (ready, generating, failed, unknown) = (
            ArtifactId::new(),
            ArtifactId::new(),
            ArtifactId::new(),
            ArtifactId::new(),
        );
        for art in [ready, generating, failed, unknown] {
            let dir = files.artifact_dir(nb, art).join(CLIPS_DIR);
            ArtifactFiles::create_dir(&dir).unwrap();
            ArtifactFiles::write_whole(&dir.join("clip-0000.wav"), b"RIFF").unwrap();
            std::fs::write(dir.join("clip-0001.wav.part"), b"half").unwrap();
        }
        let wav = files.artifact_dir(nb, ready).join(PODCAST_FILE);
        ArtifactFiles::write_whole(&wav, b"RIFF....").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&wav), 0o600);
        assert_eq!(mode(&files.artifact_dir(nb, ready)), 0o700);
        assert!(!part_path(&wav).exists());
        let stray_notebook = files.notebook_dir(NotebookId::new());
        ArtifactFiles::create_dir(&stray_notebook).unwrap();

        let known = HashMap::from([
            (ready, (nb, ArtifactStatus::Ready)),
            (generating, (nb, ArtifactStatus::Generating)),
            (failed, (nb, ArtifactStatus::Failed)),
        ]);
        // While jobs run, a generating artifact's part files are being written: kept.
        files.sweep(&known, Sweep::WhileRunning);
        let kept = files.artifact_dir(nb, generating).join(CLIPS_DIR);
        assert!(kept.join("clip-0001.wav.part").exists());
        assert!(!files.artifact_dir(nb, failed).exists());
        // Before any job starts, they are a crash's leftovers.
        files.sweep(&known, Sweep::BeforeJobs);
        assert!(wav.exists());
        assert!(!files.artifact_dir(nb, ready).join(CLIPS_DIR).exists());
        assert!(kept.join("clip-0000.wav").exists());
        assert!(!kept.join("clip-0001.wav.part").exists());
        assert!(!files.artifact_dir(nb, failed).exists());
        assert!(!files.artifact_dir(nb, unknown).exists());
        assert!(!stray_notebook.exists());

        files.remove_notebook(nb);
        assert!(!files.notebook_dir(nb).exists());
        // Removing what is not there is fine.
        files.remove_artifact(nb, ready);
    }
}
