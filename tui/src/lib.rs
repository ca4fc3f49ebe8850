//! `mentor`: the Mentor client. With a subcommand it is the scripting interface to the daemon;
//! with none it opens the terminal chat.

#[macro_use]
mod out;
pub mod app;
pub mod cli;
pub mod client;
pub mod error;
pub mod term;
pub mod ui;

use std::process::ExitCode;

use clap::FromArgMatches;
use mentor_shared::config::Config;
use mentor_shared::i18n::{self, Lang};
use mentor_shared::paths::Dirs;

use crate::cli::{Cli, Env};
use crate::error::CliError;

/// The whole client: parses the command line and runs the command or the chat.
pub fn main() -> ExitCode {
    let dirs = Dirs::resolve();
    let config = match &dirs {
        Ok(d) => Config::load(&d.config_file()),
        Err(_) => Ok(Config::default()),
    };
    let configured = config.as_ref().ok().and_then(|c| c.language.clone());
    i18n::set_process_lang(Lang::detect(configured.as_deref()));
    let l = i18n::ui();

    let matches = match cli::help::localized_command().try_get_matches() {
        Ok(m) => m,
        Err(e) => cli::usage::exit(e, l),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => cli::usage::exit(e, l),
    };
    let dirs = match dirs {
        Ok(d) => d,
        Err(e) => return fail(&CliError::NoHome(e.to_string()), l),
    };
    let env = Env {
        dirs,
        config,
        json: cli.json,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                &CliError::Io {
                    path: "tokio".into(),
                    reason: e.to_string(),
                },
                l,
            )
        }
    };
    let result = match cli.command {
        Some(command) => runtime.block_on(cli::run(&env, command)),
        None => runtime.block_on(open_chat(&env, cli.notebook)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, l),
    }
}

fn fail(e: &CliError, l: &i18n::Localizer) -> ExitCode {
    let text = e.localize(l);
    if !text.is_empty() {
        eprintln!("mentor: {text}");
    }
    ExitCode::FAILURE
}

/// `mentor` with no command: the terminal chat when stdin and stdout are a terminal, else a
/// hint (a script gets `chat --plain` or `--message` instead of a screen it cannot use).
async fn open_chat(env: &Env, notebook: Option<String>) -> Result<(), CliError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(CliError::NotATerminal);
    }
    term::run(env, notebook).await
}
