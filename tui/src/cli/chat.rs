//! `mentor chat`: talk with the notebook's teacher from a script (`--message`), line by line
//! for screen readers and pipes (`--plain`), or read the conversation back (`history`).
//!
//! Without `--notebook` the conversation is the one of the most recently changed notebook;
//! when there is no notebook at all, one is created (and the learner told so).

mod announce;
mod live;
mod printer;
mod turn;
pub mod words;

use std::io::Read;

use clap::{ArgGroup, Args, Subcommand};
use mentor_shared::i18n;
use mentor_shared::ids::NotebookId;
use mentor_shared::t;
use mentor_shared::time::Timestamp;
use mentor_shared::ApiError;

use super::{output, Env};
use crate::client::{self, answer, ctx, Client};
use crate::error::CliError;

/// Arguments of `mentor chat`: a subcommand, or the flags of the conversation itself.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    arg_required_else_help = true,
    group(ArgGroup::new("mode").args(["message", "plain"]).required(true))
)]
pub struct ChatArgs {
    /// Read the conversation back instead.
    #[command(subcommand)]
    pub command: Option<ChatCommand>,
    /// Notebook id or title (default: the most recently changed one).
    #[arg(short, long)]
    pub notebook: Option<String>,
    /// Send this message and print the reply as it streams (`-`: read it from stdin).
    #[arg(short, long, value_name = "TEXT")]
    pub message: Option<String>,
    /// Chat line by line on stdin and stdout (screen readers, pipes).
    #[arg(long)]
    pub plain: bool,
    /// With --message: also wait for the jobs the teacher started, until each is announced.
    #[arg(long, conflicts_with = "plain")]
    pub wait_jobs: bool,
}

/// `mentor chat …`
#[derive(Debug, Subcommand)]
pub enum ChatCommand {
    /// Print a notebook's conversation.
    History(HistoryArgs),
}

/// Arguments of `chat history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Notebook id or title (default: the most recently changed one).
    #[arg(short, long)]
    pub notebook: Option<String>,
    /// Only the last N messages (default: all).
    #[arg(long, value_parser = super::usage::number_in(1, 100_000))]
    pub limit: Option<u32>,
}

/// The notebook a conversation happens in.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its id.
    pub id: NotebookId,
    /// Its title.
    pub title: String,
}

/// Runs a chat command.
pub async fn run(env: &Env, args: ChatArgs) -> Result<(), CliError> {
    env.config()?;
    if let Some(ChatCommand::History(h)) = args.command {
        return history(env, h).await;
    }
    // Read and check the message before anything changes (a daemon started, a notebook made).
    let message = match args.message.as_deref() {
        Some("-") => Some(read_stdin()?),
        other => other.map(str::to_string),
    };
    if message.as_ref().is_some_and(|m| m.trim().is_empty()) {
        return Err(CliError::Api(ApiError::EmptyField {
            field: "message".into(),
        }));
    }
    let c = client::connect(&env.dirs).await?;
    let target = resolve(&c, args.notebook, true).await?;
    if !env.json {
        wait_for_the_model(&c).await;
    }
    match message {
        Some(text) => live::send_one(env, c, target, text, args.wait_jobs).await,
        None => live::plain(env, c, target).await,
    }
}

/// While the local model loads (a large one can take a minute), says so on stderr with its
/// progress, then returns; the reply would only start once it is loaded anyway. On a
/// terminal the line is redrawn in place and wiped at the end; otherwise it is said once.
/// If the daemon cannot say, or the model fails to load, the message goes ahead and the
/// daemon's answer says what is wrong.
async fn wait_for_the_model(c: &Client) {
    use std::io::{IsTerminal, Write};
    let l = i18n::ui();
    let tty = std::io::stderr().is_terminal();
    let mut said = false;
    loop {
        let Ok(Ok(info)) = c.rpc.llm_info(ctx(5)).await else {
            break;
        };
        let loading = info
            .local
            .as_ref()
            .filter(|m| info.provider == "local" && m.state == "loading");
        let Some(local) = loading else {
            break;
        };
        let line = t!(
            l,
            "chat-model-loading",
            percent = local.percent.unwrap_or(0)
        );
        let mut err = std::io::stderr().lock();
        if tty {
            let _ = write!(err, "\r\x1b[K{line}");
            let _ = err.flush();
        } else if !said {
            let _ = writeln!(err, "{line}");
        }
        said = true;
        drop(err);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    if said && tty {
        eprint!("\r\x1b[K");
    }
}

fn read_stdin() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::Io {
            path: "stdin".into(),
            reason: e.to_string(),
        })?;
    Ok(text)
}

/// The notebook named, else the most recently changed one; with none at all, a new one when
/// `create` (said on stderr), or an error.
async fn resolve(c: &Client, named: Option<String>, create: bool) -> Result<Target, CliError> {
    if let Some(reference) = named {
        let nb = answer(c.rpc.notebook_show(ctx(30), reference).await)?;
        return Ok(Target {
            id: nb.id,
            title: nb.title,
        });
    }
    let list = answer(c.rpc.notebook_list(ctx(30)).await)?;
    if let Some(newest) = list.into_iter().next() {
        return Ok(Target {
            id: newest.id,
            title: newest.title,
        });
    }
    if !create {
        return Err(CliError::NoNotebooks);
    }
    let l = i18n::ui();
    let nb = answer(
        c.rpc
            .notebook_create(ctx(30), t!(l, "chat-default-notebook"), None)
            .await,
    )?;
    eprintln!(
        "{}",
        t!(
            l,
            "chat-notebook-created",
            title = nb.title.as_str(),
            id = nb.id.to_string()
        )
    );
    Ok(Target {
        id: nb.id,
        title: nb.title,
    })
}

/// `mentor chat history`.
async fn history(env: &Env, args: HistoryArgs) -> Result<(), CliError> {
    let l = i18n::ui();
    let c = client::connect(&env.dirs).await?;
    let target = resolve(&c, args.notebook, false).await?;
    let h = answer(
        c.rpc
            .chat_history(ctx(30), target.id.to_string(), args.limit.unwrap_or(0))
            .await,
    )?;
    if env.json {
        return output::json(&h);
    }
    if h.messages.is_empty() && h.earlier == 0 {
        outln!(
            "{}",
            t!(l, "chat-history-empty", title = target.title.as_str())
        );
        return Ok(());
    }
    outln!("{}", words::history(l, &h, Timestamp::now()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<ChatArgs, clap::Error> {
        match Cli::try_parse_from(args)? {
            Cli {
                command: Some(Command::Chat(c)),
                ..
            } => Ok(c),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn the_conversation_takes_a_message_or_plain() {
        let a = parse(&["mentor", "chat", "-m", "hi", "-n", "Bio", "--wait-jobs"]).unwrap();
        assert_eq!(a.message.as_deref(), Some("hi"));
        assert_eq!(a.notebook.as_deref(), Some("Bio"));
        assert!(a.wait_jobs && !a.plain && a.command.is_none());
        let a = parse(&["mentor", "chat", "--plain"]).unwrap();
        assert!(a.plain);
        let a = parse(&["mentor", "chat", "history", "--limit", "5", "--json"]).unwrap();
        let Some(ChatCommand::History(h)) = a.command else {
            panic!("not history");
        };
        assert_eq!(h.limit, Some(5));
    }

    #[test]
    fn bad_combinations_are_usage_errors() {
        for args in [
            &["mentor", "chat", "-m", "hi", "--plain"][..],
            &["mentor", "chat", "--plain", "--wait-jobs"],
            &["mentor", "chat", "-n", "Bio"],
            &["mentor", "chat", "history", "--limit", "0"],
            &["mentor", "chat", "-m", "hi", "history"],
        ] {
            let err = parse(args).expect_err("parsed");
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        }
    }
}
