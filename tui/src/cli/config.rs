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
pub async fn run(env: &Env, cmd: ConfigCommand) -> Result<(), CliError> {
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
                outln!("# {}", in_use(env, config, l).await);
                out!("{}", config.to_redacted_toml());
                Ok(())
            }
        }
    }
}

/// How long `auto` waits for the server's port, as the daemon does.
const PROBE: std::time::Duration = std::time::Duration::from_millis(500);

/// Which model answers: as the running daemon says, else as it would choose (`auto`: the
/// server when its port answers, else the local model when its file is there).
async fn in_use(
    env: &Env,
    config: &mentor_shared::config::Config,
    l: &mentor_shared::i18n::Localizer,
) -> String {
    let asked = match crate::client::connect_existing(&env.dirs).await {
        Ok(Some(c)) => match c.rpc.llm_info(crate::client::ctx(5)).await {
            Ok(Ok(info)) => Some((info.provider, info.model, info.location)),
            _ => None,
        },
        _ => None,
    };
    let (provider, model, location) = match asked {
        Some(x) => x,
        None => {
            let local = config.local_model_path(&env.dirs);
            let server = (
                "openai".to_string(),
                config.llm.model.clone(),
                config.llm.base_url.clone(),
            );
            let local_choice = (
                "local".to_string(),
                local
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                local.display().to_string(),
            );
            match config.llm.provider.as_str() {
                "openai" => server,
                "local" => local_choice,
                _ if !local.is_file() => server,
                _ if mentor_shared::net::reachable(&config.llm.base_url, PROBE).await => server,
                _ => local_choice,
            }
        }
    };
    if provider == "local" {
        t!(l, "config-show-local-model", model = model, path = location)
    } else {
        t!(l, "config-show-server-model", model = model, url = location)
    }
}
