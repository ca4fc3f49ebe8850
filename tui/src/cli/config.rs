//! `mentor config`: where the file is and what is in effect (file plus environment).

use clap::Subcommand;
use mentor_shared::i18n;
use mentor_shared::t;

use super::{output, Env};
use crate::error::CliError;

/// `mentor config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the configuration in effect (the API key is redacted).
    Show,
    /// Print the configuration file's path.
    Path,
    /// Print the local model's path (`llm.local.model`, or where ./install.sh puts it).
    ModelPath,
}

/// Runs a config command.
pub fn run(env: &Env, cmd: ConfigCommand) -> Result<(), CliError> {
    match cmd {
        ConfigCommand::Path => {
            let path = env.dirs.config_file();
            if env.json {
                output::json(&serde_json::json!({
                    "config_file": path,
                    "exists": path.exists(),
                    "config_dir": env.dirs.config,
                    "data_dir": env.dirs.data,
                    "state_dir": env.dirs.state,
                    "runtime_dir": env.dirs.runtime,
                }))
            } else {
                outln!("{}", path.display());
                Ok(())
            }
        }
        ConfigCommand::ModelPath => {
            let path = env.config()?.local_model_path(&env.dirs);
            if env.json {
                output::json(&serde_json::json!({
                    "local_model": path,
                    "exists": path.is_file(),
                }))
            } else {
                outln!("{}", path.display());
                Ok(())
            }
        }
        ConfigCommand::Show => {
            let config = env.config()?;
            if env.json {
                let mut shown = config.clone();
                if shown.llm.api_key.is_some() {
                    shown.llm.api_key = Some("<redacted>".into());
                }
                if shown.tts.api_key.is_some() {
                    shown.tts.api_key = Some("<redacted>".into());
                }
                output::json(&shown)
            } else {
                let l = i18n::ui();
                let path = env.dirs.config_file();
                let source = if path.exists() {
                    t!(l, "config-show-file", path = path.display().to_string())
                } else {
                    t!(l, "config-show-defaults", path = path.display().to_string())
                };
                outln!("# {source}");
                out!("{}", config.to_redacted_toml());
                Ok(())
            }
        }
    }
}
