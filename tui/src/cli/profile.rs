//! `mentor profile`: what the teacher knows about the learner — the name it uses, their level,
//! and the language it answers in.

use clap::{ArgGroup, Args, Subcommand};
use mentor_shared::chat::{Profile, ProfileUpdate};
use mentor_shared::i18n::{self, Lang, Localizer};
use mentor_shared::t;

use super::{output, Env};
use crate::client::{self, answer, ctx};
use crate::error::CliError;

/// `mentor profile …`
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Show the learner profile.
    Show,
    /// Change the learner profile (an empty value clears a field).
    Set(SetArgs),
}

/// Arguments of `profile set`: at least one change.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("change")
        .args(["name", "level", "language"])
        .required(true)
        .multiple(true)
))]
pub struct SetArgs {
    /// What the teacher calls you.
    #[arg(long)]
    pub name: Option<String>,
    /// Your level, in your words ("beginner", "second-year student"…).
    #[arg(long)]
    pub level: Option<String>,
    /// The language the teacher answers in: en-US or fr-FR.
    #[arg(long, value_parser = parse_language)]
    pub language: Option<String>,
}

/// Parses `--language`: a language Mentor speaks (`fr`, `fr-FR`, `fr_CA.UTF-8`…, given as its
/// tag) or nothing (the daemon's language again).
pub fn parse_language(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    Lang::from_tag(s)
        .map(|lang| lang.tag().to_string())
        .ok_or_else(|| {
            let tags: Vec<&str> = Lang::ALL.iter().map(|l| l.tag()).collect();
            t!(i18n::ui(), "profile-usage-language", tags = tags.join(", "))
        })
}

/// Runs a profile command.
pub async fn run(env: &Env, cmd: ProfileCommand) -> Result<(), CliError> {
    env.config()?;
    let l = i18n::ui();
    let c = client::connect(&env.dirs).await?;
    let (profile, changed) = match cmd {
        ProfileCommand::Show => (answer(c.rpc.profile_show(ctx(30)).await)?, false),
        ProfileCommand::Set(a) => {
            let update = ProfileUpdate {
                name: a.name,
                level: a.level,
                language: a.language,
            };
            (answer(c.rpc.profile_set(ctx(30), update).await)?, true)
        }
    };
    if env.json {
        return output::json(&profile);
    }
    if changed {
        outln!("{}", t!(l, "profile-updated"));
    }
    output::fields(&fields(l, &profile));
    if !changed && profile == Profile::default() {
        outln!();
        outln!("{}", t!(l, "profile-empty-hint"));
    }
    Ok(())
}

/// The `label  value` lines of a profile.
fn fields(l: &Localizer, p: &Profile) -> Vec<(String, String)> {
    let or_unset = |v: &Option<String>| v.clone().unwrap_or_else(|| t!(l, "profile-unset"));
    let language = match &p.language {
        Some(tag) => tag.clone(),
        None => t!(l, "profile-language-default"),
    };
    vec![
        (t!(l, "profile-name"), or_unset(&p.name)),
        (t!(l, "profile-level"), or_unset(&p.level)),
        (t!(l, "profile-language"), language),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use mentor_shared::i18n::{localizer, Lang};

    #[test]
    fn languages_are_checked_and_written_as_tags() {
        assert_eq!(parse_language("fr"), Ok("fr-FR".into()));
        assert_eq!(parse_language(" en_GB.UTF-8 "), Ok("en-US".into()));
        assert_eq!(parse_language(""), Ok(String::new()));
        let bad = parse_language("xx").unwrap_err();
        assert!(bad.contains("en-US, fr-FR"), "{bad}");
    }

    #[test]
    fn set_needs_a_change() {
        let err = Cli::try_parse_from(["mentor", "profile", "set"]).expect_err("parsed");
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_from(["mentor", "profile", "set", "--language", "xx"])
            .expect_err("parsed");
        assert_eq!(err.exit_code(), 2);
        match Cli::try_parse_from(["mentor", "profile", "set", "--name", ""]) {
            Ok(Cli {
                command: Some(Command::Profile(ProfileCommand::Set(a))),
                ..
            }) => assert_eq!(a.name.as_deref(), Some("")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unset_fields_say_so() {
        let l = localizer(Lang::EnUs);
        let p = Profile {
            name: Some("Ada".into()),
            level: None,
            language: None,
        };
        let f = fields(l, &p);
        assert_eq!(f[0], ("Name".to_string(), "Ada".to_string()));
        assert_eq!(f[1].1, "(not set)");
        assert!(f[2].1.contains("not set"), "{:?}", f[2]);
    }
}
