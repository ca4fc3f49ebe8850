//! The study guide generator: key concepts, a glossary and questions to think about, citing
//! the learner's sources.
//!
//! The model answers JSON (schema `study_guide`: validated, one repair); Mentor writes the
//! Markdown itself, with headings in the learner's language and each concept's sources named,
//! so every guide has the same sections whatever the model.

use futures::future::BoxFuture;
use mentor_shared::artifacts::StudyGuide;
use mentor_shared::i18n::{localizer, Lang};
use mentor_shared::jobs::JobKind;
use mentor_shared::t;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::{api_error, Kit, Material, Params};
use crate::chat::prompt::{multi_line, one_line, STUDY_GUIDE_TEMPLATE};
use crate::llm::{JsonSchema, Priority, WireMessage};
use crate::queue::{JobContext, JobError, JobHandler};

/// The study guide job.
pub struct StudyGuideHandler {
    kit: Kit,
}

impl StudyGuideHandler {
    /// A handler using `kit`.
    pub fn new(kit: Kit) -> StudyGuideHandler {
        StudyGuideHandler { kit }
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    title: String,
    #[serde(default)]
    overview: String,
    key_concepts: Vec<Concept>,
    glossary: Vec<Term>,
    questions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Concept {
    name: String,
    explanation: String,
    #[serde(default)]
    sources: Vec<usize>,
}

#[derive(Debug, Deserialize)]
struct Term {
    term: String,
    definition: String,
}

/// The guide's schema; `passages` as in the quiz's.
fn schema(passages: usize) -> JsonSchema {
    JsonSchema {
        name: "study_guide".into(),
        schema: json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["title", "overview", "key_concepts", "glossary", "questions"],
            "properties": {
                "title": { "type": "string" },
                "overview": { "type": "string" },
                "key_concepts": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["name", "explanation", "sources"],
                        "properties": {
                            "name": { "type": "string" },
                            "explanation": { "type": "string" },
                            "sources": { "type": "array", "items": super::citation_schema(passages) }
                        }
                    }
                },
                "glossary": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["term", "definition"],
                        "properties": {
                            "term": { "type": "string" },
                            "definition": { "type": "string" }
                        }
                    }
                },
                "questions": { "type": "array", "minItems": 1, "items": { "type": "string" } }
            }
        }),
    }
}

/// Longest title, concept name or glossary term kept, in characters.
const NAME_MAX_CHARS: usize = 200;
/// Longest overview or concept explanation kept, in characters.
const TEXT_MAX_CHARS: usize = 4_000;
/// Longest definition or question kept, in characters.
const LINE_MAX_CHARS: usize = 1_000;

/// The questions as the guide shows them: cleaned, capped, blank ones dropped.
fn shown_questions(a: &Answer) -> Vec<String> {
    a.questions
        .iter()
        .map(|q| one_line(q, LINE_MAX_CHARS))
        .filter(|q| !q.is_empty())
        .collect()
}

/// Checks the answer as the guide will show it (cleaned and capped), so text that cleaning
/// empties (control characters) counts as missing.
fn validate(a: &Answer, material: &Material) -> Result<(), String> {
    if one_line(&a.title, NAME_MAX_CHARS).is_empty() {
        return Err("the title is empty".into());
    }
    if a.key_concepts.is_empty() {
        return Err("there are no key concepts".into());
    }
    if a.glossary.is_empty() {
        return Err("the glossary is empty".into());
    }
    if shown_questions(a).is_empty() {
        return Err("there are no questions to think about".into());
    }
    for (i, c) in a.key_concepts.iter().enumerate() {
        if one_line(&c.name, NAME_MAX_CHARS).is_empty()
            || multi_line(&c.explanation, TEXT_MAX_CHARS).is_empty()
        {
            return Err(format!(
                "key concept {} has no name or no explanation",
                i + 1
            ));
        }
        for &n in &c.sources {
            material
                .check_citation(n)
                .map_err(|e| format!("key concept {}: {e}", i + 1))?;
        }
    }
    if let Some(i) = a.glossary.iter().position(|t| {
        one_line(&t.term, NAME_MAX_CHARS).is_empty()
            || one_line(&t.definition, LINE_MAX_CHARS).is_empty()
    }) {
        return Err(format!(
            "glossary entry {} has no term or no definition",
            i + 1
        ));
    }
    Ok(())
}

/// The guide as Markdown, headings in `lang`.
fn render(a: &Answer, material: &Material, lang: Lang) -> StudyGuide {
    let l = localizer(lang);
    let title = one_line(&a.title, NAME_MAX_CHARS);
    let mut md = format!("# {title}\n");
    let overview = multi_line(&a.overview, TEXT_MAX_CHARS);
    if !overview.is_empty() {
        md.push_str(&format!("\n{overview}\n"));
    }
    md.push_str(&format!("\n## {}\n", t!(l, "guide-key-concepts")));
    for (i, c) in a.key_concepts.iter().enumerate() {
        md.push_str(&format!(
            "\n### {}. {}\n\n{}\n",
            i + 1,
            one_line(&c.name, NAME_MAX_CHARS),
            multi_line(&c.explanation, TEXT_MAX_CHARS)
        ));
        let cited = material.cited(c.sources.iter().copied());
        if !cited.is_empty() {
            let names: Vec<String> = cited.iter().map(|s| one_line(&s.title, 200)).collect();
            md.push_str(&format!(
                "\n*{}*\n",
                t!(l, "guide-concept-sources", sources = names.join(", "))
            ));
        }
    }
    md.push_str(&format!("\n## {}\n\n", t!(l, "guide-glossary")));
    for term in &a.glossary {
        md.push_str(&format!(
            "- **{}**: {}\n",
            one_line(&term.term, NAME_MAX_CHARS),
            one_line(&term.definition, LINE_MAX_CHARS)
        ));
    }
    md.push_str(&format!("\n## {}\n\n", t!(l, "guide-questions")));
    for (i, q) in shown_questions(a).iter().enumerate() {
        md.push_str(&format!("{}. {q}\n", i + 1));
    }
    let sources = material.cited(
        a.key_concepts
            .iter()
            .flat_map(|c| c.sources.iter().copied()),
    );
    if !sources.is_empty() {
        md.push_str(&format!("\n## {}\n\n", t!(l, "guide-sources")));
        for s in &sources {
            md.push_str(&format!("- {} ({})\n", one_line(&s.title, 200), s.id));
        }
    }
    StudyGuide {
        title,
        language: lang.tag().to_string(),
        markdown: md,
        sources,
    }
}

impl JobHandler for StudyGuideHandler {
    fn kind(&self) -> JobKind {
        JobKind::StudyGuide
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<serde_json::Value, JobError>> {
        Box::pin(async move {
            let params = Params::of(ctx)?;
            let lang = params.lang();
            ctx.progress(0, 1, "stage-guide").await?;
            let material = Material::gather(&self.kit, ctx, lang).await?;
            let system = material
                .prompts
                .job(
                    STUDY_GUIDE_TEMPLATE,
                    context! {
                        language => material.language,
                        topic => one_line(&ctx.job().topic, 300),
                        notebook_title => one_line(&material.notebook_title, 200),
                        passages => &material.passages,
                    },
                )
                .map_err(|e| api_error(&e))?;
            let messages = vec![
                WireMessage::System(system),
                WireMessage::User("Write the study guide now.".into()),
            ];
            ctx.check()?;
            let answer: Answer = self
                .kit
                .llm
                .structured(
                    messages,
                    &schema(material.refs.len()),
                    |a: &Answer| validate(a, &material),
                    Priority::Job,
                )
                .await
                .map_err(|e| api_error(&e))?;
            let guide = render(&answer, &material, lang);
            ctx.progress(1, 1, "stage-guide").await?;
            serde_json::to_value(&guide).map_err(|e| JobError::Permanent(e.to_string()))
        })
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::prompt::Prompts;
    use mentor_shared::artifacts::SourceRef;

    #[test]
    fn the_guide_has_its_sections_in_the_learners_language_and_cites_its_sources() {
        let material = Material {
            notebook_title: "Cells".into(),
            passages: String::new(),
            refs: vec![
                SourceRef {
                    id: "src:a".into(),
                    title: "Biology".into(),
                },
                SourceRef {
                    id: "src:b".into(),
                    title: "Notes".into(),
                },
            ],
            prompts: Prompts::builtin(),
            language: "French (français)",
        };
        let a: Answer = serde_json::from_value(json!({
            "title": "La cellule", "overview": "Tout sur la cellule.",
            "key_concepts": [{"name": "Membrane", "explanation": "Elle filtre.", "sources": [2, 2]}],
            "glossary": [{"term": "ATP", "definition": "Énergie."}],
            "questions": ["Pourquoi ?", " "]
        }))
        .unwrap();
        validate(&a, &material).unwrap();
        let g = render(&a, &material, Lang::FrFr);
        for part in [
            "# La cellule",
            "## Notions clés",
            "### 1. Membrane",
            "*Sources : Notes*",
            "## Glossaire",
            "- **ATP**: Énergie.",
            "## Questions pour réfléchir",
            "1. Pourquoi ?",
            "- Notes (src:b)",
        ] {
            assert!(
                g.markdown.contains(part),
                "{part} missing from\n{}",
                g.markdown
            );
        }
        assert_eq!(g.sources.len(), 1);
        let bad: Answer = serde_json::from_value(json!({
            "title": "T", "overview": "", "key_concepts": [{"name": "X", "explanation": "Y", "sources": [3]}],
            "glossary": [{"term": "a", "definition": "b"}], "questions": ["q"]
        }))
        .unwrap();
        assert!(validate(&bad, &material)
            .unwrap_err()
            .contains("not a passage number"));
        let empty: Answer = serde_json::from_value(json!({
            "title": "T", "overview": "", "key_concepts": [], "glossary": [], "questions": []
        }))
        .unwrap();
        assert!(validate(&empty, &material)
            .unwrap_err()
            .contains("no key concepts"));
    }
}
