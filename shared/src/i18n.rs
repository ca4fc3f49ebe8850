//! Localization. Every user-facing sentence lives in `i18n/<locale>/mentor.ftl` (Fluent),
//! embedded at build time, and is looked up through [`t!`](crate::t) — the one way to turn a
//! message id into text. The language comes from the configuration (where `MENTOR_LANG`
//! overrides the file), then the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`), then `en-US`.

use std::sync::OnceLock;

use fluent_bundle::{concurrent::FluentBundle, FluentResource};
pub use fluent_bundle::{FluentArgs, FluentValue};
use unic_langid::LanguageIdentifier;

/// The Fluent source of each locale, embedded in the binaries: one file per area, joined
/// (`mentor.ftl` for the daemon and the common CLI, `jobs.ftl` for the jobs commands,
/// `chat.ftl` for the conversation, `artifacts.ftl` for artifacts and quizzes, `tui.ftl` for
/// the terminal chat).
pub const SOURCES: [(Lang, &str); 2] = [
    (
        Lang::EnUs,
        concat!(
            include_str!("../../i18n/en-US/mentor.ftl"),
            "\n",
            include_str!("../../i18n/en-US/jobs.ftl"),
            "\n",
            include_str!("../../i18n/en-US/chat.ftl"),
            "\n",
            include_str!("../../i18n/en-US/artifacts.ftl"),
            "\n",
            include_str!("../../i18n/en-US/tui.ftl")
        ),
    ),
    (
        Lang::FrFr,
        concat!(
            include_str!("../../i18n/fr-FR/mentor.ftl"),
            "\n",
            include_str!("../../i18n/fr-FR/jobs.ftl"),
            "\n",
            include_str!("../../i18n/fr-FR/chat.ftl"),
            "\n",
            include_str!("../../i18n/fr-FR/artifacts.ftl"),
            "\n",
            include_str!("../../i18n/fr-FR/tui.ftl")
        ),
    ),
];

/// A language Mentor speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Lang {
    /// English (the fallback).
    #[serde(rename = "en-US")]
    EnUs,
    /// French.
    #[serde(rename = "fr-FR")]
    FrFr,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 2] = [Lang::EnUs, Lang::FrFr];

    /// The BCP 47 tag (`en-US`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::EnUs => "en-US",
            Lang::FrFr => "fr-FR",
        }
    }

    /// The language of a tag or POSIX locale name: `fr`, `fr-FR`, `fr_CA.UTF-8` → French.
    /// `C`, `POSIX` and languages Mentor does not speak give `None`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag
            .trim()
            .split(['-', '_', '.', '@'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::EnUs),
            "fr" => Some(Lang::FrFr),
            _ => None,
        }
    }

    /// Chooses the language: the configured one, else the locale, else English.
    pub fn detect(configured: Option<&str>) -> Lang {
        Self::detect_with(configured, |k| std::env::var(k).ok())
    }

    /// Like [`Lang::detect`] with an explicit environment lookup.
    pub fn detect_with(configured: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Lang {
        if let Some(lang) = configured.and_then(Lang::from_tag) {
            return lang;
        }
        if let Some(lang) = env("MENTOR_LANG").as_deref().and_then(Lang::from_tag) {
            return lang;
        }
        // POSIX precedence: the first non-empty of these decides, even if we don't speak it.
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Some(value) = env(var).filter(|v| !v.is_empty()) {
                return Lang::from_tag(&value).unwrap_or(Lang::EnUs);
            }
        }
        Lang::EnUs
    }
}

/// Looks up messages in one language.
pub struct Localizer {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
}

impl Localizer {
    fn build(lang: Lang, source: &str) -> Localizer {
        let langid: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![langid]);
        // Terminal output: Unicode isolation marks would show up as garbage in some terminals.
        bundle.set_use_isolating(false);
        let resource = match FluentResource::try_new(source.to_string()) {
            Ok(r) => r,
            // A syntax error keeps the messages that did parse; the parity test reports it.
            Err((r, _)) => r,
        };
        // Duplicate ids are reported by the parity test; the first definition wins here.
        let _ = bundle.add_resource(resource);
        Localizer { lang, bundle }
    }

    /// The language of this localizer.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text of a message; the id itself when it is missing (tests keep that from happening).
    pub fn text(&self, id: &str, args: Option<&FluentArgs>) -> String {
        self.try_text(id, args).unwrap_or_else(|_| id.to_string())
    }

    /// The text of a message, or why it could not be formatted.
    pub fn try_text(&self, id: &str, args: Option<&FluentArgs>) -> Result<String, String> {
        let msg = self
            .bundle
            .get_message(id)
            .ok_or_else(|| format!("missing message `{id}` in {}", self.lang.tag()))?;
        let pattern = msg
            .value()
            .ok_or_else(|| format!("message `{id}` has no value in {}", self.lang.tag()))?;
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        if errors.is_empty() {
            Ok(text.into_owned())
        } else {
            Err(format!("message `{id}` in {}: {errors:?}", self.lang.tag()))
        }
    }

    /// True when the message exists.
    pub fn has(&self, id: &str) -> bool {
        self.bundle.get_message(id).is_some()
    }
}

/// The localizer for a language (built once, shared).
pub fn localizer(lang: Lang) -> &'static Localizer {
    static CELLS: [OnceLock<Localizer>; 2] = [OnceLock::new(), OnceLock::new()];
    let index = match lang {
        Lang::EnUs => 0,
        Lang::FrFr => 1,
    };
    CELLS[index].get_or_init(|| {
        let source = SOURCES
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, s)| *s)
            .unwrap_or("");
        Localizer::build(lang, source)
    })
}

static PROCESS_LANG: OnceLock<Lang> = OnceLock::new();

/// Sets this process's interface language (first call wins).
pub fn set_process_lang(lang: Lang) {
    let _ = PROCESS_LANG.set(lang);
}

/// The language of this process (English until [`set_process_lang`] is called).
pub fn process_lang() -> Lang {
    PROCESS_LANG.get().copied().unwrap_or(Lang::EnUs)
}

/// The interface localizer of this process (English until [`set_process_lang`] is called).
pub fn ui() -> &'static Localizer {
    localizer(PROCESS_LANG.get().copied().unwrap_or(Lang::EnUs))
}

/// Looks up a localized message: `t!(l, "id")` or `t!(l, "id", name = value, …)`.
#[macro_export]
macro_rules! t {
    ($l:expr, $id:literal) => {
        $l.text($id, None)
    };
    ($l:expr, $id:literal, $($k:ident = $v:expr),+ $(,)?) => {{
        let mut args = $crate::i18n::FluentArgs::new();
        $( args.set(stringify!($k), $crate::i18n::FluentValue::from($v)); )+
        $l.text($id, Some(&args))
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_detection_follows_the_documented_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Lang::detect_with(Some("fr-FR"), env(&[])), Lang::FrFr);
        assert_eq!(
            Lang::detect_with(None, env(&[("MENTOR_LANG", "fr"), ("LANG", "en_US.UTF-8")])),
            Lang::FrFr
        );
        assert_eq!(
            Lang::detect_with(None, env(&[("LC_ALL", "fr_CA.UTF-8"), ("LANG", "en_US")])),
            Lang::FrFr
        );
        assert_eq!(
            Lang::detect_with(None, env(&[("LC_ALL", "C"), ("LANG", "fr_FR")])),
            Lang::EnUs
        );
        assert_eq!(
            Lang::detect_with(None, env(&[("LC_MESSAGES", "fr_BE@euro")])),
            Lang::FrFr
        );
        assert_eq!(Lang::detect_with(None, env(&[])), Lang::EnUs);
    }

    #[test]
    fn missing_messages_fall_back_to_their_id() {
        assert_eq!(
            localizer(Lang::EnUs).text("no-such-message", None),
            "no-such-message"
        );
        assert!(localizer(Lang::FrFr)
            .try_text("no-such-message", None)
            .is_err());
    }
}
