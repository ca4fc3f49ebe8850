//! Localized `--help`. The command tree is derived with clap; this walks it and replaces every
//! description and heading with its Fluent message, so help reads in the learner's language.
//! Keys: `cli-<path>-about` for a command, `cli-<path>-arg-<id>` (or `cli-arg-<id>` for an
//! argument shared by many commands), and optionally `cli-<path>-after` for text after the
//! options (modes, exit codes). A test checks every key exists in every locale.

use clap::{Command, CommandFactory};
use mentor_shared::i18n::{self, Localizer};
use mentor_shared::t;

use super::Cli;

/// The `mentor` command with help in the process language.
pub fn localized_command() -> Command {
    localize(Cli::command(), i18n::ui())
}

/// Localizes a command tree.
pub fn localize(cmd: Command, l: &Localizer) -> Command {
    let mut cmd = cmd;
    cmd.build();
    walk(cmd, &[], l)
}

/// The message id of a command's description.
pub fn about_key(path: &[String]) -> String {
    if path.is_empty() {
        "cli-about".to_string()
    } else {
        format!("cli-{}-about", path.join("-"))
    }
}

/// The message id of the text after a command's options (optional).
pub fn after_key(path: &[String]) -> String {
    if path.is_empty() {
        "cli-after".to_string()
    } else {
        format!("cli-{}-after", path.join("-"))
    }
}

/// The message ids an argument's help may use, most specific first.
pub fn arg_keys(path: &[String], id: &str) -> [String; 2] {
    let specific = if path.is_empty() {
        format!("cli-arg-{id}")
    } else {
        format!("cli-{}-arg-{id}", path.join("-"))
    };
    [specific, format!("cli-arg-{id}")]
}

fn walk(mut cmd: Command, path: &[String], l: &Localizer) -> Command {
    let about = l.text(&about_key(path), None);
    let template = format!(
        "{{about-with-newline}}\n{} {{usage}}\n\n{{all-args}}{{after-help}}",
        t!(l, "cli-heading-usage")
    );
    cmd = cmd
        .about(about)
        .help_template(template)
        .subcommand_help_heading(t!(l, "cli-heading-commands"))
        .subcommand_value_name(t!(l, "cli-value-command"));
    let after = after_key(path);
    if l.has(&after) {
        cmd = cmd.after_help(l.text(&after, None));
    }
    let ids: Vec<(String, bool)> = cmd
        .get_arguments()
        .map(|a| (a.get_id().to_string(), a.is_positional()))
        .collect();
    for (id, positional) in ids {
        let text = arg_keys(path, &id)
            .iter()
            .find(|k| l.has(k))
            .map(|k| l.text(k, None));
        let heading = if positional {
            t!(l, "cli-heading-arguments")
        } else {
            t!(l, "cli-heading-options")
        };
        cmd = cmd.mut_arg(id.as_str(), |a| {
            let a = a.help_heading(heading);
            match text {
                Some(t) => a.help(t),
                None => a,
            }
        });
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let mut sub_path = path.to_vec();
        sub_path.push(name.clone());
        cmd = cmd.mut_subcommand(name.as_str(), |sub| walk(sub, &sub_path, l));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};

    fn visit(cmd: &Command, path: &mut Vec<String>, missing: &mut Vec<String>, l: &Localizer) {
        if !l.has(&about_key(path)) {
            missing.push(about_key(path));
        }
        for arg in cmd.get_arguments() {
            let keys = arg_keys(path, arg.get_id().as_str());
            if !keys.iter().any(|k| l.has(k)) {
                missing.push(keys[0].clone());
            }
        }
        for sub in cmd.get_subcommands() {
            path.push(sub.get_name().to_string());
            visit(sub, path, missing, l);
            path.pop();
        }
    }

    #[test]
    fn every_command_and_argument_has_help_in_every_language() {
        for lang in Lang::ALL {
            let l = localizer(lang);
            let mut cmd = Cli::command();
            cmd.build();
            let mut missing = Vec::new();
            visit(&cmd, &mut Vec::new(), &mut missing, l);
            assert!(missing.is_empty(), "{}: missing {missing:?}", lang.tag());
        }
    }

    #[test]
    fn french_help_is_french() {
        let mut cmd = localize(Cli::command(), localizer(Lang::FrFr));
        let help = cmd.render_help().to_string();
        assert!(help.contains("Utilisation"), "{help}");
        assert!(help.contains("Commandes"), "{help}");
    }
}
