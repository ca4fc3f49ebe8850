//! `mentor artifacts`: what the background jobs made — podcasts, quizzes, study guides —
//! listed per notebook (or for all of them), one shown for the terminal by its kind, exported
//! to a file, or (a podcast) played.

pub mod content;
pub mod export;
pub mod player;
pub mod problem;
pub mod render;

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use mentor_shared::artifacts::Podcast;
use mentor_shared::error::human_bytes;
use mentor_shared::i18n::{self, Localizer};
use mentor_shared::ids::NotebookId;
use mentor_shared::jobs::{Artifact, ArtifactStatus, JobKind};
use mentor_shared::{t, ApiError};

use super::jobs::kind_name;
use super::{output, Env};
use crate::client::{self, answer, ctx, Client};
use crate::error::CliError;
use problem::Problem;

/// Notebook titles by id.
type Titles = HashMap<NotebookId, String>;

/// `mentor artifacts …`
#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// List artifacts, newest first.
    List(ListArgs),
    /// Show an artifact with its content.
    Show(ShowArgs),
    /// Copy an artifact to a file.
    Export(ExportArgs),
    /// Play a podcast.
    Play(PlayArgs),
}

/// Arguments of `artifacts list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Notebook id or title (default: every notebook).
    #[arg(short, long)]
    pub notebook: Option<String>,
}

/// Arguments of `artifacts show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Artifact id (with or without `art:`).
    pub artifact: String,
    /// Show a quiz's answers.
    #[arg(long)]
    pub answers: bool,
}

/// Arguments of `artifacts export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Artifact id (with or without `art:`).
    pub artifact: String,
    /// The file to write.
    pub path: PathBuf,
    /// wav, md or json (default: by kind).
    #[arg(long, value_enum, hide_possible_values = true)]
    pub format: Option<export::Format>,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `artifacts play`.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// Artifact id of a podcast (with or without `art:`).
    pub artifact: String,
    /// The player's command line (split on whitespace; the file's path is appended).
    #[arg(long)]
    pub player: Option<String>,
}

/// Runs an artifact command.
pub async fn run(env: &Env, cmd: ArtifactCommand) -> Result<(), CliError> {
    let config = env.config()?;
    let l = i18n::ui();
    let c = client::connect(&env.dirs).await?;
    match cmd {
        ArtifactCommand::List(a) => {
            let (list, titles) = match a.notebook {
                Some(nb) => (answer(c.rpc.artifact_list(ctx(30), nb).await)?, None),
                None => {
                    let (list, titles) = every_artifact(&c).await?;
                    (list, Some(titles))
                }
            };
            if env.json {
                return output::json(&list);
            }
            if list.is_empty() {
                outln!("{}", t!(l, "artifact-list-empty"));
                return Ok(());
            }
            print_table(l, &list, titles.as_ref());
            Ok(())
        }
        ArtifactCommand::Show(a) => {
            let artifact = answer(c.rpc.artifact_show(ctx(30), a.artifact).await)?;
            if env.json {
                return output::json(&artifact);
            }
            let failure = failure(&c, &artifact).await;
            let shown = render::show(
                l,
                &artifact,
                failure.as_deref(),
                render::Style::for_stdout(a.answers),
            );
            output::fields(&shown.fields);
            if !shown.body.is_empty() {
                outln!();
                for line in &shown.body {
                    outln!("{line}");
                }
            }
            Ok(())
        }
        ArtifactCommand::Export(a) => {
            let artifact = answer(c.rpc.artifact_show(ctx(30), a.artifact).await)?;
            let (format, payload) = export::payload(&artifact, a.format)?;
            let bytes = export::write(&a.path, &payload, a.force)?;
            let written = std::fs::canonicalize(&a.path).unwrap_or(a.path);
            if env.json {
                return output::json(&serde_json::json!({
                    "artifact": artifact.id,
                    "format": format.name(),
                    "path": written,
                    "bytes": bytes,
                }));
            }
            outln!(
                "{}",
                t!(
                    l,
                    "export-done",
                    path = written.display().to_string(),
                    size = human_bytes(bytes)
                )
            );
            Ok(())
        }
        ArtifactCommand::Play(a) => {
            let artifact = answer(c.rpc.artifact_show(ctx(30), a.artifact).await)?;
            let podcast: Podcast = content::ready(&artifact, JobKind::Podcast)?;
            let Some(audio) = &podcast.audio else {
                return Err(Problem::TranscriptOnly {
                    artifact: artifact.id.to_string(),
                }
                .into());
            };
            let file = PathBuf::from(&audio.path);
            if !file.is_file() {
                return Err(Problem::AudioMissing {
                    path: audio.path.clone(),
                }
                .into());
            }
            let path = std::env::var_os("PATH");
            let player = player::choose(
                a.player.as_deref(),
                &config.artifacts.player,
                path.as_deref(),
            )?;
            outln!(
                "{}",
                t!(
                    l,
                    "play-now",
                    title = podcast.title.trim(),
                    duration = render::duration(audio.duration_ms),
                    player = player.name()
                )
            );
            outln!();
            for line in render::transcript(&podcast, render::Style::for_stdout(false).bold) {
                outln!("{line}");
            }
            outln!();
            player::play(&player, &file).await?;
            Ok(())
        }
    }
}

/// Why an artifact's job failed, when it did (nothing when the job cannot be read).
async fn failure(c: &Client, a: &Artifact) -> Option<String> {
    if a.status != ArtifactStatus::Failed {
        return None;
    }
    let job = answer(c.rpc.job_show(ctx(30), a.job_id.to_string()).await).ok()?;
    job.error_message
}

/// Every notebook's artifacts, newest first, with the notebooks' titles.
async fn every_artifact(c: &Client) -> Result<(Vec<Artifact>, Titles), CliError> {
    let notebooks = answer(c.rpc.notebook_list(ctx(30)).await)?;
    let mut all = Vec::new();
    let mut titles = Titles::new();
    for nb in notebooks {
        match answer(c.rpc.artifact_list(ctx(30), nb.id.to_string()).await) {
            Ok(list) => all.extend(list),
            // Deleted between the two calls: it has nothing to show any more.
            Err(CliError::Api(ApiError::NotebookNotFound { .. })) => {}
            Err(e) => return Err(e),
        }
        titles.insert(nb.id, nb.title);
    }
    all.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    Ok((all, titles))
}

/// An artifact status in the reader's language.
pub fn status_name(l: &Localizer, status: ArtifactStatus) -> String {
    match status {
        ArtifactStatus::Generating => t!(l, "artifact-status-generating"),
        ArtifactStatus::Ready => t!(l, "artifact-status-ready"),
        ArtifactStatus::Failed => t!(l, "artifact-status-failed"),
        ArtifactStatus::Cancelled => t!(l, "artifact-status-cancelled"),
    }
}

fn print_table(l: &Localizer, list: &[Artifact], notebooks: Option<&Titles>) {
    let mut headers = vec![
        t!(l, "col-id"),
        t!(l, "jobs-col-kind"),
        t!(l, "jobs-col-status"),
        t!(l, "col-title"),
        t!(l, "artifact-col-created"),
    ];
    if notebooks.is_some() {
        headers.push(t!(l, "artifact-col-notebook"));
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            let mut row = vec![
                a.id.to_string(),
                kind_name(l, a.kind),
                status_name(l, a.status),
                output::clip(&a.title, 40),
                t!(l, "age-ago", age = output::age(a.created)),
            ];
            if let Some(titles) = notebooks {
                let title = titles
                    .get(&a.notebook_id)
                    .cloned()
                    .unwrap_or_else(|| a.notebook_id.to_string());
                row.push(output::clip(&title, 30));
            }
            row
        })
        .collect();
    output::table(&headers, &rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};
    use mentor_shared::ids::{ArtifactId, JobId};
    use mentor_shared::time::Timestamp;

    #[test]
    fn show_has_every_field_in_french() {
        let a = Artifact {
            id: ArtifactId::new(),
            notebook_id: NotebookId::new(),
            job_id: JobId::new(),
            kind: JobKind::StudyGuide,
            title: "Cellules".into(),
            status: ArtifactStatus::Ready,
            data: None,
            created: Timestamp(0),
            updated: Timestamp(0),
        };
        let l = localizer(Lang::FrFr);
        let f = render::fields(l, &a);
        assert_eq!(f.len(), 8);
        assert!(f.iter().any(|(_, v)| v == "Fiche de révision"), "{f:?}");
        assert!(f.iter().any(|(_, v)| v == "prête"), "{f:?}");
    }
}
