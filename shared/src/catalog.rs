//! The model catalog shipped with Mentor (`shared/catalog.toml`): small instruct GGUF models
//! that call tools in a format Mentor parses, each pinned to a revision of its publisher's
//! repository with its size and SHA-256, so `mentor model pull NAME` (issue [J]) can
//! download, resume and verify it. The file is compiled in; [`Catalog::builtin`] reads it and
//! [`Catalog::parse`] checks any text of that shape (the tests keep the shipped one valid).

use serde::Deserialize;

use crate::i18n::Localizer;

/// The catalog as shipped.
const BUILTIN: &str = include_str!("../catalog.toml");

/// How a model writes its tool calls (what Mentor's parser must read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolFormat {
    /// `<tool_call>{"name": …, "arguments": …}</tool_call>` (Hermes, Qwen).
    Hermes,
    /// The same, after a `<think>…</think>` block that is not the answer (Qwen3).
    HermesThink,
    /// A bare `{"name": …, "parameters": …}` object (Llama 3.x).
    Llama3Json,
    /// `<tool_call>[{…}, …]</tool_call>`, a list (SmolLM2).
    Smollm2List,
}

/// One model of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// The name `mentor model pull` takes (lowercase letters, digits, `.` and `-`).
    pub name: String,
    /// The name shown to the learner ("Qwen2.5 3B Instruct").
    pub display: String,
    /// The publisher's repository (`owner/name`).
    pub repo: String,
    /// The GGUF file in it.
    pub file: String,
    /// The pinned commit (40 hex digits): a file re-uploaded under the same name changes.
    pub revision: String,
    /// The file's size.
    pub size_bytes: u64,
    /// The file's SHA-256 (64 hex digits).
    pub sha256: String,
    /// Its licence, as its publisher names it.
    pub licence: String,
    /// Memory it needs to run with an 8k context, in MiB.
    pub ram_mib: u64,
    /// The languages it teaches in (`en`, `fr`).
    pub languages: Vec<String>,
    /// How it calls tools.
    pub tool_format: ToolFormat,
    /// The fluent id of its one line in `mentor model list`.
    pub good_for: String,
}

impl Model {
    /// Where the file is downloaded from (the pinned revision, never a branch).
    pub fn url(&self, base: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{}",
            base.trim_end_matches('/'),
            self.repo,
            self.revision,
            self.file
        )
    }

    /// What it is good for, in the learner's language.
    pub fn good_for(&self, l: &Localizer) -> String {
        l.text(&self.good_for, None)
    }
}

/// The catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The models, smallest first as the file lists them.
    #[serde(rename = "model")]
    pub models: Vec<Model>,
}

fn hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_uppercase())
}

impl Catalog {
    /// The catalog shipped with Mentor.
    pub fn builtin() -> Result<Catalog, String> {
        Catalog::parse(BUILTIN)
    }

    /// Reads and checks a catalog: every entry complete and well formed, names unique.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut names = std::collections::HashSet::new();
        for m in &catalog.models {
            let bad = |what: &str| Err(format!("model `{}`: {what}", m.name));
            if m.name.is_empty()
                || !m
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
            {
                return bad("the name must be lowercase letters, digits, `.` and `-`");
            }
            if !names.insert(m.name.as_str()) {
                return bad("named twice");
            }
            if m.repo.split('/').count() != 2 || m.repo.split('/').any(str::is_empty) {
                return bad("the repository must be owner/name");
            }
            if !m.file.ends_with(".gguf") || m.file.contains('/') {
                return bad("the file must be a .gguf file name");
            }
            if !hex(&m.revision, 40) {
                return bad("the revision must be a commit (40 lowercase hex digits)");
            }
            if !hex(&m.sha256, 64) {
                return bad("the sha256 must be 64 lowercase hex digits");
            }
            if m.size_bytes == 0 || m.ram_mib * 1024 * 1024 < m.size_bytes {
                return bad("the size must be known, and the memory at least the file");
            }
            if m.languages.is_empty()
                || m.languages
                    .iter()
                    .any(|l| !matches!(l.as_str(), "en" | "fr"))
            {
                return bad("the languages must be among en, fr");
            }
            if m.display.trim().is_empty() || m.licence.trim().is_empty() {
                return bad("the display name and the licence must be given");
            }
        }
        Ok(catalog)
    }

    /// The model of that name.
    pub fn get(&self, name: &str) -> Option<&Model> {
        let name = name.trim().to_lowercase();
        self.models.iter().find(|m| m.name == name)
    }

    /// The model to recommend on a machine with `memory_mib` of memory: the largest that
    /// leaves half of it to the rest of the machine, and teaches in `lang` (`en`, `fr`).
    pub fn recommend(&self, memory_mib: u64, lang: &str) -> Option<&Model> {
        self.models
            .iter()
            .filter(|m| m.ram_mib * 2 <= memory_mib && m.languages.iter().any(|l| l == lang))
            .max_by_key(|m| m.ram_mib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{localizer, Lang};

    #[test]
    fn the_shipped_catalog_is_well_formed_and_speaks_both_languages() {
        let catalog = Catalog::builtin().expect("the shipped catalog parses");
        assert!(catalog.models.len() >= 5, "{catalog:?}");
        for m in &catalog.models {
            for lang in [Lang::EnUs, Lang::FrFr] {
                assert!(
                    localizer(lang).has(&m.good_for),
                    "{} has no {} in {}",
                    m.name,
                    m.good_for,
                    lang.tag()
                );
            }
            assert_eq!(
                m.url("https://huggingface.co"),
                format!(
                    "https://huggingface.co/{}/resolve/{}/{}",
                    m.repo, m.revision, m.file
                )
            );
        }
        assert!(catalog.get(" Qwen2.5-1.5B ").is_some());
        assert!(catalog.get("no-such-model").is_none());
    }

    #[test]
    fn recommendations_follow_the_memory_and_the_language() {
        let catalog = Catalog::builtin().expect("the shipped catalog parses");
        assert_eq!(catalog.recommend(2_048, "en"), None);
        let small = catalog
            .recommend(8 * 1024, "fr")
            .expect("a model for 8 GiB");
        assert!(small.ram_mib * 2 <= 8 * 1024, "{small:?}");
        assert!(small.languages.iter().any(|l| l == "fr"));
        let big = catalog
            .recommend(32 * 1024, "en")
            .expect("a model for 32 GiB");
        assert!(big.ram_mib >= small.ram_mib);
    }

    #[test]
    fn a_catalog_edited_into_nonsense_is_refused_with_what_is_wrong() {
        let good = BUILTIN;
        assert!(Catalog::parse("[[model]\nname = ").is_err());
        let e =
            Catalog::parse(&good.replacen("revision = \"", "revision = \"main", 1)).unwrap_err();
        assert!(e.contains("revision"), "{e}");
        let e = Catalog::parse(&good.replacen("sha256 = \"", "sha256 = \"zz", 1)).unwrap_err();
        assert!(e.contains("sha256"), "{e}");
        let first_entry = good.split("[[model]]").nth(1).unwrap_or_default();
        let twice = format!("{good}\n[[model]]{first_entry}");
        let e = Catalog::parse(&twice).unwrap_err();
        assert!(e.contains("named twice"), "{e}");
        let e = Catalog::parse(&good.replacen("languages = [", "languages = [\"de\", ", 1))
            .unwrap_err();
        assert!(e.contains("languages"), "{e}");
        let e =
            Catalog::parse(&good.replacen("tool_format = \"hermes\"", "tool_format = \"xml\"", 1))
                .unwrap_err();
        assert!(e.contains("xml") || e.contains("variant"), "{e}");
    }
}
