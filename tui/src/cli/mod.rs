//! The scripting interface: one clap command tree, one file per command family. Every read
//! command honours `--json`; errors go to stderr; exit codes are 0, 1 (failure) and 2 (usage).

pub mod artifact;
pub mod chat;
pub mod config;
pub mod daemon;
pub mod events;
pub mod generate;
pub mod help;
pub mod jobs;
pub mod notebook;
pub mod output;
pub mod profile;
pub mod quiz;
pub mod source;
pub mod usage;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;
use mentor_shared::config::{Config, ConfigError};
use mentor_shared::paths::Dirs;

use crate::error::CliError;

/// The Mentor command line.
#[derive(Debug, Parser)]
#[command(name = "mentor", version, disable_help_subcommand = true)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// With no command: the notebook to open the chat on (id or title; default: the last one
    /// used).
    #[arg(short, long)]
    pub notebook: Option<String>,
    /// What to do (with none: open the chat).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, stop and inspect the daemon.
    #[command(subcommand)]
    Daemon(daemon::DaemonCommand),
    /// Manage notebooks.
    #[command(subcommand)]
    Notebook(notebook::NotebookCommand),
    /// Manage a notebook's sources.
    #[command(subcommand)]
    Source(source::SourceCommand),
    /// List, follow, cancel and retry background jobs.
    #[command(subcommand)]
    Jobs(jobs::JobsCommand),
    /// Generate a podcast, a quiz or a study guide in the background.
    #[command(subcommand)]
    Generate(generate::GenerateCommand),
    /// List, show, export and play what the jobs made.
    #[command(subcommand, visible_alias = "artifact")]
    Artifacts(artifact::ArtifactCommand),
    /// Take a quiz and list your attempts.
    #[command(subcommand)]
    Quiz(quiz::QuizCommand),
    /// Talk with the teacher, or read the conversation back.
    Chat(chat::ChatArgs),
    /// Show or change what the teacher knows about you.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// Show the configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// Arguments of `mentor completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// What every command gets.
pub struct Env {
    /// Directories.
    pub dirs: Dirs,
    /// The configuration, or why it is invalid.
    pub config: Result<Config, ConfigError>,
    /// `--json`.
    pub json: bool,
}

impl Env {
    /// The configuration, failing with its error.
    pub fn config(&self) -> Result<&Config, CliError> {
        self.config
            .as_ref()
            .map_err(|e| CliError::Config(Box::new(e.clone())))
    }
}

/// Runs a parsed command.
pub async fn run(env: &Env, command: Command) -> Result<(), CliError> {
    match command {
        Command::Daemon(c) => daemon::run(env, c).await,
        Command::Notebook(c) => notebook::run(env, c).await,
        Command::Source(c) => source::run(env, c).await,
        Command::Jobs(c) => jobs::run(env, c).await,
        Command::Generate(c) => generate::run(env, c).await,
        Command::Artifacts(c) => artifact::run(env, c).await,
        Command::Quiz(c) => quiz::run(env, c).await,
        Command::Chat(a) => chat::run(env, a).await,
        Command::Profile(c) => profile::run(env, c).await,
        Command::Config(c) => config::run(env, c).await,
        Command::Completions(a) => {
            let mut cmd = help::localized_command();
            let mut script = Vec::new();
            clap_complete::generate(a.shell, &mut cmd, "mentor", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(())
        }
    }
}
