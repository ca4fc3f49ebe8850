//! Typed identifiers. Every id is a ULID with a short kind prefix (`nb:01J…`, `job:01J…`), so
//! an id pasted into the wrong command is caught instead of silently matching nothing. Every
//! parser accepts the id with or without its prefix, in any letter case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {kind} id")]
pub struct IdParseError {
    /// The text that failed to parse.
    pub input: String,
    /// The prefix of the expected kind (`nb`, `job`, …).
    pub kind: &'static str,
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            /// The prefix written before the ULID.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id (time-ordered).
            pub fn new() -> Self {
                Self(Ulid::new())
            }

            /// The bare ULID text, as stored in the database.
            pub fn ulid(&self) -> String {
                self.0.to_string()
            }

            /// Parses the stored (bare) form or the prefixed form.
            pub fn parse(input: &str) -> Result<Self, IdParseError> {
                let trimmed = input.trim();
                let bare = match trimmed.split_once(':') {
                    Some((p, rest)) if p.eq_ignore_ascii_case($prefix) => rest,
                    Some(_) => "",
                    None => trimmed,
                };
                Ulid::from_string(bare)
                    .map(Self)
                    .map_err(|_| IdParseError { input: input.to_string(), kind: $prefix })
            }

            /// True when the text looks like an id of this kind (used to tell ids from titles).
            pub fn looks_like(input: &str) -> bool {
                Self::parse(input).is_ok()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}:{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// A notebook: one subject or module.
    NotebookId,
    "nb"
);
define_id!(
    /// A source document inside a notebook.
    SourceId,
    "src"
);
define_id!(
    /// A learning objective of a notebook.
    ObjectiveId,
    "obj"
);
define_id!(
    /// A background job.
    JobId,
    "job"
);
define_id!(
    /// A generated artifact (podcast, quiz, study guide).
    ArtifactId,
    "art"
);

define_id!(
    /// A message in a notebook's conversation.
    MessageId,
    "msg"
);

/// The learner a request acts for: the operating-system uid of the connected peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserId(pub u32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_with_or_without_prefix_in_any_case() {
        let id = JobId::new();
        let shown = id.to_string();
        assert!(shown.starts_with("job:"));
        assert_eq!(JobId::parse(&shown), Ok(id));
        assert_eq!(JobId::parse(&id.ulid()), Ok(id));
        assert_eq!(JobId::parse(&shown.to_uppercase()), Ok(id));
        assert_eq!(JobId::parse(&id.ulid().to_lowercase()), Ok(id));
        assert_eq!(JobId::parse(&format!("  {shown} ")), Ok(id));
    }

    #[test]
    fn wrong_prefix_or_garbage_is_refused() {
        let nb = NotebookId::new();
        assert!(JobId::parse(&nb.to_string()).is_err());
        assert!(JobId::parse("job:").is_err());
        assert!(JobId::parse("photosynthesis").is_err());
        assert!(JobId::parse("").is_err());
        assert!(!NotebookId::looks_like("Biology 101"));
    }

    #[test]
    fn serde_round_trip_uses_the_prefixed_form() {
        let id = ArtifactId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: ArtifactId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        let bare: ArtifactId = serde_json::from_str(&format!("\"{}\"", id.ulid())).unwrap();
        assert_eq!(bare, id);
    }
}
