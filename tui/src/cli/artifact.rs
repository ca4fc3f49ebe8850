//! `mentor artifact`: what the background jobs made — podcasts, quizzes, study guides — listed
//! per notebook (or for all of them), and one shown with its content.

use std::collections::HashMap;

use clap::{Args, Subcommand};
use mentor_shared::i18n::{self, Localizer};
use mentor_shared::ids::NotebookId;
use mentor_shared::jobs::{Artifact, ArtifactStatus};
use mentor_shared::{t, ApiError};

use super::jobs::{kind_name, when};
use super::{output, Env};
use crate::client::{self, answer, ctx, Client};
use crate::error::CliError;

/// Notebook titles by id.
type Titles = HashMap<NotebookId, String>;

/// `mentor artifact …`
#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// List artifacts, newest first.
    List(ListArgs),
    /// Show an artifact with its content.
    Show(ArtifactArg),
}

/// Arguments of `artifact list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Notebook id or title (default: every notebook).
    #[arg(short, long)]
    pub notebook: Option<String>,
}

/// An artifact, by id.
#[derive(Debug, Args)]
pub struct ArtifactArg {
    /// Artifact id (with or without `art:`).
    pub artifact: String,
}

/// Runs an artifact command.
pub async fn run(env: &Env, cmd: ArtifactCommand) -> Result<(), CliError> {
    env.config()?;
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
            print_artifact(l, &artifact);
            Ok(())
        }
    }
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

/// The `label  value` lines of `artifact show`.
fn artifact_fields(l: &Localizer, a: &Artifact) -> Vec<(String, String)> {
    vec![
        (t!(l, "jobs-show-id"), a.id.to_string()),
        (t!(l, "jobs-show-kind"), kind_name(l, a.kind)),
        (t!(l, "jobs-show-status"), status_name(l, a.status)),
        (t!(l, "artifact-show-title"), a.title.clone()),
        (t!(l, "jobs-show-notebook"), a.notebook_id.to_string()),
        (t!(l, "artifact-show-job"), a.job_id.to_string()),
        (t!(l, "jobs-show-created"), when(l, a.created)),
        (t!(l, "jobs-show-updated"), when(l, a.updated)),
    ]
}

fn print_artifact(l: &Localizer, a: &Artifact) {
    output::fields(&artifact_fields(l, a));
    outln!();
    match &a.data {
        Some(data) if !data.is_null() => {
            outln!("{}", t!(l, "artifact-show-content"));
            let text = serde_json::to_string_pretty(data).unwrap_or_else(|_| data.to_string());
            for line in text.lines() {
                outln!("  {line}");
            }
        }
        _ => {
            let hint = match a.status {
                ArtifactStatus::Generating => {
                    t!(l, "artifact-show-generating", job = a.job_id.to_string())
                }
                _ => t!(l, "artifact-show-no-content"),
            };
            outln!("{hint}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};
    use mentor_shared::ids::{ArtifactId, JobId};
    use mentor_shared::jobs::JobKind;
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
        let f = artifact_fields(l, &a);
        assert_eq!(f.len(), 8);
        assert!(f.iter().any(|(_, v)| v == "Fiche de révision"), "{f:?}");
        assert!(f.iter().any(|(_, v)| v == "prête"), "{f:?}");
    }
}
