//! Localized command-line usage errors.
//!
//! clap writes its parse errors in English. This renders the common kinds through Fluent, in
//! the learner's language, keeping clap's exit code 2 and its help/version output unchanged.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use mentor_shared::i18n::Localizer;
use mentor_shared::t;

/// Prints a parse error (or the help/version text it carries) and exits as clap would.
pub fn exit(e: clap::Error, l: &Localizer) -> ! {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            eprintln!("{}", render(&e, l));
            std::process::exit(2);
        }
    }
}

/// The localized text of a usage error: the problem, a suggestion when clap has one, the usage
/// line, and where to read more.
pub fn render(e: &clap::Error, l: &Localizer) -> String {
    let Some(problem) = problem(e, l) else {
        // A kind we do not translate: clap's own words are better than nothing.
        return e.render().to_string().trim_end().to_string();
    };
    let mut out = format!("mentor: {problem}");
    if let Some(tip) = suggestion(e, l) {
        out.push_str("\n\n  ");
        out.push_str(&tip);
    }
    if let Some(usage) = text(e, ContextKind::Usage) {
        let usage = usage.trim();
        let usage = usage
            .strip_prefix("Usage:")
            .map(str::trim_start)
            .unwrap_or(usage);
        out.push_str(&format!("\n\n{} {usage}", t!(l, "cli-heading-usage")));
    }
    out.push_str("\n\n");
    out.push_str(&t!(l, "usage-more-help"));
    out
}

/// A value parser for a whole number in `min..=max` whose complaint is in the learner's
/// language (clap's own range parser explains itself in English).
pub fn number_in(min: u32, max: u32) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |s: &str| {
        let l = mentor_shared::i18n::ui();
        match s.trim().parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(t!(l, "usage-number-range", min = min, max = max)),
        }
    }
}

fn problem(e: &clap::Error, l: &Localizer) -> Option<String> {
    let arg = text(e, ContextKind::InvalidArg).unwrap_or_default();
    let value = text(e, ContextKind::InvalidValue).unwrap_or_default();
    Some(match e.kind() {
        ErrorKind::InvalidSubcommand => {
            let sub = text(e, ContextKind::InvalidSubcommand).unwrap_or_default();
            t!(l, "usage-unknown-command", command = sub.as_str())
        }
        ErrorKind::UnknownArgument => t!(l, "usage-unknown-argument", arg = arg.as_str()),
        ErrorKind::InvalidValue => {
            let valid = list(e, ContextKind::ValidValue);
            if value.is_empty() {
                t!(l, "usage-value-missing", arg = arg.as_str())
            } else if valid.is_empty() {
                t!(
                    l,
                    "usage-invalid-value",
                    arg = arg.as_str(),
                    value = value.as_str()
                )
            } else {
                t!(
                    l,
                    "usage-invalid-choice",
                    arg = arg.as_str(),
                    value = value.as_str(),
                    choices = valid.as_str()
                )
            }
        }
        ErrorKind::ValueValidation => {
            let reason = std::error::Error::source(e)
                .map(ToString::to_string)
                .unwrap_or_default();
            t!(
                l,
                "usage-value-rejected",
                arg = arg.as_str(),
                value = value.as_str(),
                reason = reason.as_str()
            )
        }
        ErrorKind::MissingRequiredArgument => {
            let args = list(e, ContextKind::InvalidArg);
            t!(l, "usage-missing-argument", args = args.as_str())
        }
        ErrorKind::MissingSubcommand => {
            let valid = list(e, ContextKind::ValidSubcommand);
            t!(l, "usage-missing-command", commands = valid.as_str())
        }
        ErrorKind::ArgumentConflict => {
            let prior = list(e, ContextKind::PriorArg);
            t!(
                l,
                "usage-conflict",
                arg = arg.as_str(),
                other = prior.as_str()
            )
        }
        ErrorKind::TooManyValues => {
            t!(
                l,
                "usage-too-many-values",
                arg = arg.as_str(),
                value = value.as_str()
            )
        }
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            t!(l, "usage-wrong-number-of-values", arg = arg.as_str())
        }
        ErrorKind::NoEquals => t!(l, "usage-no-equals", arg = arg.as_str()),
        ErrorKind::InvalidUtf8 => t!(l, "usage-invalid-utf8"),
        _ => return None,
    })
}

fn suggestion(e: &clap::Error, l: &Localizer) -> Option<String> {
    if let Some(sub) = text(e, ContextKind::SuggestedSubcommand) {
        return Some(t!(l, "usage-did-you-mean", suggestion = sub.as_str()));
    }
    if let Some(arg) = text(e, ContextKind::SuggestedArg) {
        return Some(t!(l, "usage-did-you-mean", suggestion = arg.as_str()));
    }
    if let Some(value) = text(e, ContextKind::SuggestedValue) {
        return Some(t!(l, "usage-did-you-mean", suggestion = value.as_str()));
    }
    if let Some(trailing) = text(e, ContextKind::TrailingArg) {
        return Some(t!(l, "usage-trailing", arg = trailing.as_str()));
    }
    None
}

fn text(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(v) => v.first().map(ToString::to_string),
        ContextValue::Number(n) => Some(n.to_string()),
        ContextValue::Bool(b) => b.then(String::new),
        _ => None,
    }
}

fn list(e: &clap::Error, kind: ContextKind) -> String {
    match e.get(kind) {
        Some(ContextValue::Strings(v)) => v.join(", "),
        Some(ContextValue::StyledStrs(v)) => v
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::help;
    use mentor_shared::i18n::{localizer, Lang};

    fn error(args: &[&str], lang: Lang) -> String {
        let l = localizer(lang);
        let cmd = help::localize(<crate::cli::Cli as clap::CommandFactory>::command(), l);
        match cmd.try_get_matches_from(args) {
            Ok(_) => panic!("{args:?} parsed"),
            Err(e) => render(&e, l),
        }
    }

    #[test]
    fn unknown_commands_are_explained_in_french() {
        let text = error(&["mentor", "notebook", "lsit"], Lang::FrFr);
        assert!(text.contains("commande inconnue « lsit »"), "{text}");
        assert!(text.contains("Utilisation : mentor notebook"), "{text}");
        assert!(text.contains("--help"), "{text}");
    }

    #[test]
    fn every_common_kind_is_localized() {
        let cases: &[&[&str]] = &[
            &["mentor", "frobnicate"],
            &["mentor", "notebook", "list", "--bogus"],
            &["mentor", "completions", "tcsh"],
            &["mentor", "source", "search", "nb", "q", "--limit", "0"],
            &["mentor", "notebook", "create"],
            &[
                "mentor", "source", "add", "nb", "a.txt", "--url", "http://x",
            ],
        ];
        for case in cases {
            let text = error(case, Lang::FrFr);
            // clap's English words must not leak into a French error.
            for english in [
                "error:",
                "unexpected",
                "invalid value",
                "required",
                "cannot be used",
            ] {
                assert!(!text.contains(english), "{case:?}: {text}");
            }
            assert!(text.starts_with("mentor: "), "{case:?}: {text}");
        }
    }
}
