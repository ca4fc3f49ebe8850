//! `mentor source`: add files and URLs to a notebook, list, show, remove and search them.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use mentor_shared::error::human_bytes;
use mentor_shared::i18n;
use mentor_shared::t;

use super::{output, Env};
use crate::client::{self, answer, ctx};
use crate::error::CliError;

/// `mentor source …`
#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add files or a URL to a notebook (all or nothing).
    Add(AddArgs),
    /// List a notebook's sources.
    List(ListArgs),
    /// Show a source's text.
    Show(SourceArg),
    /// Remove a source.
    Remove(SourceArg),
    /// Search a notebook's sources.
    Search(SearchArgs),
}

/// Arguments of `source add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Notebook id or title.
    pub notebook: String,
    /// Files to add (text, Markdown, PDF, HTML).
    #[arg(required_unless_present = "url", conflicts_with = "url")]
    pub paths: Vec<PathBuf>,
    /// A web page or document to fetch instead of files.
    #[arg(long)]
    pub url: Option<String>,
}

/// Arguments of `source list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Notebook id or title.
    pub notebook: String,
}

/// A source, by id.
#[derive(Debug, Args)]
pub struct SourceArg {
    /// Source id (as `source list` shows it).
    pub source: String,
}

/// Arguments of `source search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Notebook id or title.
    pub notebook: String,
    /// Words to look for.
    pub query: String,
    /// Most results to show.
    #[arg(long, default_value_t = 10, value_parser = super::usage::number_in(1, 100))]
    pub limit: u32,
}

/// Makes a path absolute (the daemon has another working directory) and sendable.
fn absolute(path: &std::path::Path) -> Result<String, CliError> {
    let abs = std::path::absolute(path).map_err(|e| CliError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    abs.to_str()
        .map(str::to_string)
        .ok_or_else(|| CliError::PathNotUtf8 {
            path: abs.display().to_string(),
        })
}

/// Runs a source command.
pub async fn run(env: &Env, cmd: SourceCommand) -> Result<(), CliError> {
    env.config()?;
    let l = i18n::ui();
    let c = client::connect(&env.dirs).await?;
    match cmd {
        SourceCommand::Add(a) => {
            let fetch_secs = env.config()?.sources.fetch_timeout_secs + 30;
            let added = match a.url {
                Some(url) => vec![answer(
                    c.rpc.source_add_url(ctx(fetch_secs), a.notebook, url).await,
                )?],
                None => {
                    let paths = a
                        .paths
                        .iter()
                        .map(|p| absolute(p))
                        .collect::<Result<Vec<_>, _>>()?;
                    answer(c.rpc.source_add_files(ctx(600), a.notebook, paths).await)?
                }
            };
            if env.json {
                return output::json(&added);
            }
            for s in &added {
                outln!(
                    "{}",
                    t!(
                        l,
                        "source-added",
                        title = s.title.as_str(),
                        id = s.id.to_string(),
                        kind = s.kind.as_str(),
                        chunks = s.chunks
                    )
                );
            }
            Ok(())
        }
        SourceCommand::List(a) => {
            let list = answer(c.rpc.source_list(ctx(30), a.notebook).await)?;
            if env.json {
                return output::json(&list);
            }
            if list.is_empty() {
                outln!("{}", t!(l, "source-list-empty"));
                return Ok(());
            }
            let headers = [
                t!(l, "col-id"),
                t!(l, "col-title"),
                t!(l, "col-kind"),
                t!(l, "col-size"),
                t!(l, "col-added"),
            ];
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        output::clip(&s.title, 48),
                        s.kind.as_str().to_string(),
                        human_bytes(s.bytes),
                        t!(l, "age-ago", age = output::age(s.created)),
                    ]
                })
                .collect();
            output::table(&headers, &rows);
            Ok(())
        }
        SourceCommand::Show(a) => {
            let detail = answer(c.rpc.source_show(ctx(30), a.source).await)?;
            if env.json {
                return output::json(&detail);
            }
            let s = &detail.source;
            outln!("{}  ({})", s.title, s.id);
            outln!(
                "{}",
                t!(
                    l,
                    "source-show-meta",
                    kind = s.kind.as_str(),
                    origin = s.origin.as_str(),
                    size = human_bytes(s.bytes),
                    chunks = s.chunks
                )
            );
            outln!();
            outln!("{}", detail.text);
            if detail.truncated {
                eprintln!("{}", t!(l, "source-show-truncated"));
            }
            Ok(())
        }
        SourceCommand::Remove(a) => {
            let s = answer(c.rpc.source_remove(ctx(30), a.source).await)?;
            if env.json {
                return output::json(&s);
            }
            outln!("{}", t!(l, "source-removed", title = s.title.as_str()));
            Ok(())
        }
        SourceCommand::Search(a) => {
            let hits = answer(
                c.rpc
                    .source_search(ctx(30), a.notebook, a.query, a.limit)
                    .await,
            )?;
            if env.json {
                return output::json(&hits);
            }
            if hits.is_empty() {
                outln!("{}", t!(l, "source-search-none"));
            }
            for h in &hits {
                outln!("{}  ({}, #{})", h.source_title, h.source_id, h.chunk + 1);
                outln!(
                    "  {}",
                    h.snippet.split_whitespace().collect::<Vec<_>>().join(" ")
                );
                outln!();
            }
            Ok(())
        }
    }
}
