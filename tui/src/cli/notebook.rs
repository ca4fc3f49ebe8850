//! `mentor notebook`: create, list, show, rename, delete notebooks, their module prompt and
//! their learning objectives.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Args, Subcommand};
use mentor_shared::i18n;
use mentor_shared::protocol::Notebook;
use mentor_shared::t;

use super::{output, Env};
use crate::client::{self, answer, ctx};
use crate::error::CliError;

/// `mentor notebook …`
#[derive(Debug, Subcommand)]
pub enum NotebookCommand {
    /// Create a notebook.
    Create(CreateArgs),
    /// List notebooks.
    List,
    /// Show a notebook with its objectives and sources.
    Show(NotebookArg),
    /// Rename a notebook.
    Rename(RenameArgs),
    /// Show or change a notebook's module prompt.
    Prompt(PromptArgs),
    /// Delete a notebook with everything in it.
    Delete(DeleteArgs),
    /// Manage a notebook's learning objectives.
    #[command(subcommand)]
    Objectives(ObjectivesCommand),
}

/// A notebook, by id or title.
#[derive(Debug, Args)]
pub struct NotebookArg {
    /// Notebook id or title.
    pub notebook: String,
}

/// Arguments of `notebook create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Title of the new notebook.
    pub title: String,
    /// Instructions for the teacher in this notebook.
    #[arg(long, conflicts_with = "prompt_file")]
    pub prompt: Option<String>,
    /// Read the module prompt from a file.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<std::path::PathBuf>,
}

/// Arguments of `notebook rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// Notebook id or title.
    pub notebook: String,
    /// The new title.
    pub title: String,
}

/// Arguments of `notebook prompt`.
#[derive(Debug, Args)]
pub struct PromptArgs {
    /// Notebook id or title.
    pub notebook: String,
    /// Replace the module prompt with this text.
    #[arg(long, conflicts_with_all = ["file", "clear"])]
    pub set: Option<String>,
    /// Replace the module prompt with a file's content.
    #[arg(long, value_name = "FILE", conflicts_with = "clear")]
    pub file: Option<std::path::PathBuf>,
    /// Remove the module prompt.
    #[arg(long)]
    pub clear: bool,
}

/// Arguments of `notebook delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Notebook id or title.
    pub notebook: String,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,
}

/// `mentor notebook objectives …`
#[derive(Debug, Subcommand)]
pub enum ObjectivesCommand {
    /// Add a learning objective.
    Add(ObjectiveAddArgs),
    /// List learning objectives.
    List(NotebookArg),
    /// Remove a learning objective.
    Remove(ObjectiveRemoveArgs),
}

/// Arguments of `objectives add`.
#[derive(Debug, Args)]
pub struct ObjectiveAddArgs {
    /// Notebook id or title.
    pub notebook: String,
    /// What the learner should be able to do.
    pub text: String,
}

/// Arguments of `objectives remove`.
#[derive(Debug, Args)]
pub struct ObjectiveRemoveArgs {
    /// Notebook id or title.
    pub notebook: String,
    /// Objective number (as listed) or id.
    pub objective: String,
}

fn read_text_file(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Runs a notebook command.
pub async fn run(env: &Env, cmd: NotebookCommand) -> Result<(), CliError> {
    env.config()?;
    let l = i18n::ui();
    let c = client::connect(&env.dirs).await?;
    match cmd {
        NotebookCommand::Create(a) => {
            let prompt = match (&a.prompt, &a.prompt_file) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(f)) => Some(read_text_file(f)?),
                (None, None) => None,
            };
            let nb = answer(c.rpc.notebook_create(ctx(30), a.title, prompt).await)?;
            if env.json {
                return output::json(&nb);
            }
            outln!(
                "{}",
                t!(
                    l,
                    "notebook-created",
                    title = nb.title.as_str(),
                    id = nb.id.to_string()
                )
            );
            Ok(())
        }
        NotebookCommand::List => {
            let list = answer(c.rpc.notebook_list(ctx(30)).await)?;
            if env.json {
                return output::json(&list);
            }
            if list.is_empty() {
                outln!("{}", t!(l, "notebook-list-empty"));
                return Ok(());
            }
            let headers = [
                t!(l, "col-id"),
                t!(l, "col-title"),
                t!(l, "col-sources"),
                t!(l, "col-objectives"),
                t!(l, "col-updated"),
            ];
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|n| {
                    vec![
                        n.id.to_string(),
                        output::clip(&n.title, 48),
                        n.sources.to_string(),
                        format!("{}/{}", n.objectives_met, n.objectives_total),
                        t!(l, "age-ago", age = output::age(n.updated)),
                    ]
                })
                .collect();
            output::table(&headers, &rows);
            Ok(())
        }
        NotebookCommand::Show(a) => {
            let nb = answer(c.rpc.notebook_show(ctx(30), a.notebook).await)?;
            if env.json {
                return output::json(&nb);
            }
            print_notebook(&nb);
            Ok(())
        }
        NotebookCommand::Rename(a) => {
            let nb = answer(c.rpc.notebook_rename(ctx(30), a.notebook, a.title).await)?;
            if env.json {
                return output::json(&nb);
            }
            outln!("{}", t!(l, "notebook-renamed", title = nb.title.as_str()));
            Ok(())
        }
        NotebookCommand::Prompt(a) => {
            let new = match (a.set, a.file, a.clear) {
                (Some(text), _, _) => Some(text),
                (None, Some(f), _) => Some(read_text_file(&f)?),
                (None, None, true) => Some(String::new()),
                (None, None, false) => None,
            };
            let nb = match new {
                Some(p) => answer(c.rpc.notebook_set_prompt(ctx(30), a.notebook, p).await)?,
                None => answer(c.rpc.notebook_show(ctx(30), a.notebook).await)?,
            };
            if env.json {
                return output::json(&serde_json::json!({
                    "id": nb.id, "title": nb.title, "module_prompt": nb.module_prompt
                }));
            }
            if nb.module_prompt.is_empty() {
                outln!("{}", t!(l, "notebook-prompt-empty"));
            } else {
                outln!("{}", nb.module_prompt);
            }
            Ok(())
        }
        NotebookCommand::Delete(a) => {
            if !a.yes {
                let nb = answer(c.rpc.notebook_show(ctx(30), a.notebook.clone()).await)?;
                confirm(&t!(
                    l,
                    "notebook-delete-confirm",
                    title = nb.title.as_str(),
                    sources = nb.sources.len()
                ))?;
                // Delete exactly the notebook that was confirmed, even if titles changed since.
                return delete(env, &c, nb.id.to_string()).await;
            }
            delete(env, &c, a.notebook).await
        }
        NotebookCommand::Objectives(o) => objectives(env, &c, o).await,
    }
}

async fn delete(env: &Env, c: &client::Client, notebook: String) -> Result<(), CliError> {
    let deleted = answer(c.rpc.notebook_delete(ctx(60), notebook).await)?;
    if env.json {
        return output::json(&deleted);
    }
    outln!(
        "{}",
        t!(
            i18n::ui(),
            "notebook-deleted",
            title = deleted.title.as_str(),
            sources = deleted.sources
        )
    );
    Ok(())
}

/// Asks a yes/no question on the terminal; refuses to guess without one.
fn confirm(question: &str) -> Result<(), CliError> {
    let l = i18n::ui();
    if !std::io::stdin().is_terminal() {
        return Err(CliError::ConfirmationNeeded);
    }
    eprint!("{question} {} ", t!(l, "confirm-suffix"));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Io {
            path: "stdin".into(),
            reason: e.to_string(),
        })?;
    let yes = t!(l, "confirm-yes-letter");
    if answer.trim().to_lowercase().starts_with(yes.as_str()) {
        Ok(())
    } else {
        Err(CliError::Aborted)
    }
}

fn print_notebook(nb: &Notebook) {
    let l = i18n::ui();
    outln!("{}  ({})", nb.title, nb.id);
    outln!(
        "{}",
        t!(
            l,
            "notebook-show-dates",
            created = nb.created.to_string(),
            updated = t!(l, "age-ago", age = output::age(nb.updated))
        )
    );
    outln!();
    outln!("{}", t!(l, "notebook-show-prompt"));
    if nb.module_prompt.is_empty() {
        outln!("  {}", t!(l, "notebook-prompt-empty"));
    } else {
        for line in nb.module_prompt.lines() {
            outln!("  {line}");
        }
    }
    outln!();
    let met = nb.objectives.iter().filter(|o| o.met).count();
    outln!(
        "{}",
        t!(
            l,
            "notebook-show-objectives",
            met = met,
            total = nb.objectives.len()
        )
    );
    for o in &nb.objectives {
        outln!(
            "  {}. [{}] {}",
            o.position,
            if o.met { "x" } else { " " },
            o.text
        );
    }
    outln!();
    outln!(
        "{}",
        t!(l, "notebook-show-sources", count = nb.sources.len())
    );
    for s in &nb.sources {
        outln!(
            "  {}  {}  ({})",
            s.id,
            output::clip(&s.title, 60),
            s.kind.as_str()
        );
    }
}

async fn objectives(env: &Env, c: &client::Client, cmd: ObjectivesCommand) -> Result<(), CliError> {
    let l = i18n::ui();
    match cmd {
        ObjectivesCommand::Add(a) => {
            let o = answer(c.rpc.objective_add(ctx(30), a.notebook, a.text).await)?;
            if env.json {
                return output::json(&o);
            }
            outln!(
                "{}",
                t!(
                    l,
                    "objective-added",
                    position = o.position,
                    text = o.text.as_str()
                )
            );
            Ok(())
        }
        ObjectivesCommand::List(a) => {
            let list = answer(c.rpc.objective_list(ctx(30), a.notebook).await)?;
            if env.json {
                return output::json(&list);
            }
            if list.is_empty() {
                outln!("{}", t!(l, "objective-list-empty"));
            }
            for o in &list {
                outln!(
                    "{}. [{}] {}",
                    o.position,
                    if o.met { "x" } else { " " },
                    o.text
                );
                if let Some(e) = &o.evidence {
                    outln!(
                        "     {}",
                        t!(l, "objective-evidence", evidence = e.as_str())
                    );
                }
            }
            Ok(())
        }
        ObjectivesCommand::Remove(a) => {
            let o = answer(
                c.rpc
                    .objective_remove(ctx(30), a.notebook, a.objective)
                    .await,
            )?;
            if env.json {
                return output::json(&o);
            }
            outln!("{}", t!(l, "objective-removed", text = o.text.as_str()));
            Ok(())
        }
    }
}
