//! The study guide generator: a title and an overview, key concepts, a glossary and
//! questions to think about, citing the learner's sources.
//!
//! One structured request per section, each a checkpoint with its progress:
//!
//! | checkpoint       | data                      | stage                   | share |
//! |------------------|---------------------------|-------------------------|-------|
//! | `guide-overview` | `{title, overview}`       | `stage-guide-overview`  | 15 %  |
//! | `guide-concepts` | `{key_concepts: [...]}`   | `stage-guide-concepts`  | 45 %  |
//! | `guide-glossary` | `{glossary: [...]}`       | `stage-guide-glossary`  | 25 %  |
//! | `guide-questions`| `{questions: [...]}`      | `stage-guide-questions` | 15 %  |
//!
//! Each section's request is told what the guide says so far, so the next does not repeat
//! it. A section that does not pass its checks (its form, and the quality gates of
//! [`super::quality`]: every key concept supported by the passages it cites) is sent back
//! for repair ([`Kit::step`]), then fails the job; a resumed attempt asks only for the sections not yet written. Mentor writes the
//! Markdown itself, with headings in the learner's language and each concept's sources named,
//! so every guide has the same sections whatever the model.

use futures::future::BoxFuture;
use mentor_shared::artifacts::StudyGuide;
use mentor_shared::i18n::{localizer, Lang};
use mentor_shared::jobs::JobKind;
use mentor_shared::t;
use minijinja::context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::quality::{self, Echo, Flaw, Kind, Part};
use super::{api_error, Kit, Material, Params, Problem, Step};
use crate::chat::prompt::{multi_line, one_line, STUDY_GUIDE_TEMPLATE};
use crate::llm::JsonSchema;
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

/// The whole guide, as its sections make it.
#[derive(Debug, Deserialize)]
struct Answer {
    title: String,
    #[serde(default)]
    overview: String,
    key_concepts: Vec<Concept>,
    glossary: Vec<Term>,
    questions: Vec<String>,
}

/// The first section.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct Overview {
    title: String,
    #[serde(default)]
    overview: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Concepts {
    key_concepts: Vec<Concept>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Concept {
    name: String,
    explanation: String,
    #[serde(default)]
    sources: Vec<usize>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Glossary {
    glossary: Vec<Term>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Term {
    term: String,
    definition: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Questions {
    questions: Vec<String>,
}

/// A section of the guide: its id in the template, its checkpoint, its stage, its share of
/// the whole job (percent), and the tokens its answer may have.
struct Section {
    id: &'static str,
    checkpoint: &'static str,
    stage: &'static str,
    share: u8,
    max_tokens: u32,
}

/// The sections, in the order they are written.
const SECTIONS: [Section; 4] = [
    Section {
        id: "overview",
        checkpoint: "guide-overview",
        stage: "stage-guide-overview",
        share: 15,
        max_tokens: 512,
    },
    Section {
        id: "key_concepts",
        checkpoint: "guide-concepts",
        stage: "stage-guide-concepts",
        share: 45,
        max_tokens: 2_048,
    },
    Section {
        id: "glossary",
        checkpoint: "guide-glossary",
        stage: "stage-guide-glossary",
        share: 25,
        max_tokens: 1_536,
    },
    Section {
        id: "questions",
        checkpoint: "guide-questions",
        stage: "stage-guide-questions",
        share: 15,
        max_tokens: 768,
    },
];

/// The percentage of the guide done once its first `done` sections are written.
fn percent(done: usize) -> u8 {
    SECTIONS.iter().take(done).map(|s| s.share).sum()
}

/// A section's schema; `passages` as in the quiz's.
fn schema(section: &Section, passages: usize) -> JsonSchema {
    let string = |max: usize| json!({ "type": "string", "maxLength": max });
    let schema = match section.id {
        "overview" => json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["title", "overview"],
            "properties": { "title": string(120), "overview": string(800) }
        }),
        "key_concepts" => json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["key_concepts"],
            "properties": { "key_concepts": {
                "type": "array",
                "minItems": 1,
                "maxItems": 8,
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "explanation", "sources"],
                    "properties": {
                        "name": string(120),
                        "explanation": string(700),
                        "sources": {
                            "type": "array",
                            "minItems": if passages == 0 { 0 } else { 1 },
                            "maxItems": 4,
                            "items": super::citation_schema(passages)
                        }
                    }
                }
            }}
        }),
        "glossary" => json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["glossary"],
            "properties": { "glossary": {
                "type": "array",
                "minItems": 1,
                "maxItems": 12,
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["term", "definition"],
                    "properties": { "term": string(80), "definition": string(300) }
                }
            }}
        }),
        _ => json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["questions"],
            "properties": { "questions": {
                "type": "array", "minItems": 1, "maxItems": 6, "items": string(300)
            }}
        }),
    };
    JsonSchema {
        name: format!("study_guide_{}", section.id),
        schema,
    }
}

/// Longest title, concept name or glossary term kept, in characters.
const NAME_MAX_CHARS: usize = 200;
/// Longest overview or concept explanation kept, in characters.
const TEXT_MAX_CHARS: usize = 4_000;
/// Longest definition or question kept, in characters.
const LINE_MAX_CHARS: usize = 1_000;

/// The questions as the guide shows them: cleaned, capped, blank ones dropped.
fn shown_questions(questions: &[String]) -> Vec<String> {
    questions
        .iter()
        .map(|q| one_line(q, LINE_MAX_CHARS))
        .filter(|q| !q.is_empty())
        .collect()
}

/// Checks the first section as the guide will show it (cleaned and capped), so text that
/// cleaning empties (control characters) counts as missing; then the quality gates.
fn validate_overview(o: &Overview, material: &Material, echo: &Echo) -> Result<(), Problem> {
    let title = one_line(&o.title, NAME_MAX_CHARS);
    quality::title(&title, &material.subject)?;
    let overview = multi_line(&o.overview, TEXT_MAX_CHARS);
    quality::says(&Part::Overview, &overview, 6)?;
    quality::beyond(&Part::Overview, &overview, &title)?;
    prose(&Part::Overview, &overview, &[], material, echo)?;
    echo.check(&Part::Title, &title)?;
    Ok(())
}

/// The gates every piece of prose passes: not degenerate (counting `earlier` text too), not
/// copied from the instructions, in the guide's language.
fn prose(
    part: &Part,
    text: &str,
    earlier: &[&str],
    material: &Material,
    echo: &Echo,
) -> Result<(), Flaw> {
    quality::degenerate(part, text, earlier)?;
    echo.check(part, text)?;
    quality::about_the_subject(part, text)?;
    quality::language(part, text, material.lang)
}

fn validate_concepts(c: &Concepts, material: &Material, echo: &Echo) -> Result<(), Problem> {
    if c.key_concepts.is_empty() {
        return Err(Problem::Form("there are no key concepts".into()));
    }
    let mut earlier: Vec<(Part, String)> = Vec::new();
    for (i, c) in c.key_concepts.iter().enumerate() {
        let part = Part::Concept(i + 1);
        let name = one_line(&c.name, NAME_MAX_CHARS);
        let explanation = multi_line(&c.explanation, TEXT_MAX_CHARS);
        if name.is_empty() || explanation.is_empty() {
            return Err(Flaw {
                part,
                kind: Kind::Empty,
            }
            .into());
        }
        for &n in &c.sources {
            material
                .check_citation(n)
                .map_err(|e| format!("key concept {}: {e}", i + 1))?;
        }
        quality::says(&part, &explanation, 4)?;
        quality::beyond(&part, &explanation, &name)?;
        let text = format!("{name}. {explanation}");
        let before: Vec<&str> = earlier.iter().map(|(_, t)| t.as_str()).collect();
        prose(&part, &text, &before, material, echo)?;
        quality::soup(&part, &name)?;
        if let Some(other) =
            quality::duplicate(&text, earlier.iter().map(|(p, t)| (p.clone(), t.as_str())))
        {
            return Err(Flaw {
                part,
                kind: Kind::Duplicate(other),
            }
            .into());
        }
        material.grounded(part.clone(), &text, &c.sources)?;
        earlier.push((part, text));
    }
    Ok(())
}

fn validate_glossary(g: &Glossary, material: &Material, echo: &Echo) -> Result<(), Problem> {
    if g.glossary.is_empty() {
        return Err(Problem::Form("the glossary is empty".into()));
    }
    let mut earlier: Vec<(Part, String)> = Vec::new();
    for (i, t) in g.glossary.iter().enumerate() {
        let part = Part::Term(i + 1);
        let term = one_line(&t.term, NAME_MAX_CHARS);
        let definition = one_line(&t.definition, LINE_MAX_CHARS);
        if term.is_empty() || definition.is_empty() {
            return Err(Flaw {
                part,
                kind: Kind::Empty,
            }
            .into());
        }
        if let Some((other, _)) = earlier
            .iter()
            .find(|(_, e)| quality::words(e) == quality::words(&term))
        {
            return Err(Flaw {
                part,
                kind: Kind::Duplicate(other.clone()),
            }
            .into());
        }
        let before: Vec<&str> = g.glossary[..i]
            .iter()
            .map(|t| t.definition.as_str())
            .collect();
        quality::soup(&part, &term)?;
        quality::says(&part, &definition, 2)?;
        quality::beyond(&part, &definition, &term)?;
        prose(
            &part,
            &format!("{term}: {definition}"),
            &before,
            material,
            echo,
        )?;
        earlier.push((part, term));
    }
    Ok(())
}

fn validate_questions(q: &Questions, material: &Material, echo: &Echo) -> Result<(), Problem> {
    let questions = shown_questions(&q.questions);
    if questions.is_empty() {
        return Err(Problem::Form(
            "there are no questions to think about".into(),
        ));
    }
    for (i, text) in questions.iter().enumerate() {
        let part = Part::Thought(i + 1);
        quality::says(&part, text, 2)?;
        let before: Vec<&str> = questions[..i].iter().map(String::as_str).collect();
        prose(&part, text, &before, material, echo)?;
        let earlier = before
            .iter()
            .enumerate()
            .map(|(j, t)| (Part::Thought(j + 1), *t));
        if let Some(other) = quality::duplicate(text, earlier) {
            return Err(Flaw {
                part,
                kind: Kind::Duplicate(other),
            }
            .into());
        }
    }
    Ok(())
}

/// Checks the whole guide, section by section.
#[cfg(test)]
fn validate(a: &Answer, material: &Material) -> Result<(), Problem> {
    let echo = Echo::new("", &[]);
    validate_overview(
        &Overview {
            title: a.title.clone(),
            overview: a.overview.clone(),
        },
        material,
        &echo,
    )?;
    validate_concepts(
        &Concepts {
            key_concepts: a.key_concepts.clone(),
        },
        material,
        &echo,
    )?;
    validate_glossary(
        &Glossary {
            glossary: a.glossary.clone(),
        },
        material,
        &echo,
    )?;
    validate_questions(
        &Questions {
            questions: a.questions.clone(),
        },
        material,
        &echo,
    )
}

/// What the guide says so far, as the next section's request is told it: title, overview,
/// the concepts' names, the terms.
fn so_far(
    overview: Option<&Overview>,
    concepts: Option<&Concepts>,
    glossary: Option<&Glossary>,
) -> String {
    let mut lines = Vec::new();
    if let Some(o) = overview {
        lines.push(format!("Title: {}", one_line(&o.title, NAME_MAX_CHARS)));
        let text = one_line(&o.overview, TEXT_MAX_CHARS);
        if !text.is_empty() {
            lines.push(format!("Overview: {text}"));
        }
    }
    if let Some(c) = concepts {
        let names: Vec<String> = c
            .key_concepts
            .iter()
            .map(|c| one_line(&c.name, NAME_MAX_CHARS))
            .collect();
        lines.push(format!("Key concepts: {}", names.join("; ")));
    }
    if let Some(g) = glossary {
        let terms: Vec<String> = g
            .glossary
            .iter()
            .map(|t| one_line(&t.term, NAME_MAX_CHARS))
            .collect();
        lines.push(format!("Glossary terms: {}", terms.join("; ")));
    }
    multi_line(&lines.join("\n"), 4 * TEXT_MAX_CHARS)
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
    for (i, q) in shown_questions(&a.questions).iter().enumerate() {
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

impl StudyGuideHandler {
    /// Section `index`: from its checkpoint, or asked for, checked and recorded.
    async fn section<T: DeserializeOwned + Serialize>(
        &self,
        ctx: &JobContext,
        material: &Material,
        index: usize,
        so_far: String,
        validate: impl Fn(&T, &Echo) -> Result<(), Problem> + Send + Sync,
    ) -> Result<T, JobError> {
        let section = &SECTIONS[index];
        if let Some(done) = ctx.checkpoint_as::<T>(section.checkpoint) {
            return Ok(done);
        }
        let system = material
            .prompts
            .job(
                STUDY_GUIDE_TEMPLATE,
                context! {
                    language => material.language,
                    topic => one_line(&ctx.job().topic, 300),
                    notebook_title => one_line(&material.notebook_title, 200),
                    passages => &material.passages,
                    section => section.id,
                    so_far => &so_far,
                },
            )
            .map_err(|e| api_error(&e))?;
        let ask = match section.id {
            "overview" => "Write the title and the overview now.",
            "key_concepts" => "Write the key concepts now.",
            "glossary" => "Write the glossary now.",
            _ => "Write the questions to think about now.",
        };
        let topic = ctx.job().topic.clone();
        let learners = [
            material.passages.as_str(),
            topic.as_str(),
            so_far.as_str(),
            material.notebook_title.as_str(),
        ];
        let echo = Echo::new(&system, &learners);
        let schema = schema(section, material.refs.len());
        let step = Step {
            system,
            ask: ask.into(),
            schema: &schema,
            max_tokens: Some(section.max_tokens),
            budget: material.budget,
        };
        let answer: T = self
            .kit
            .step(ctx, JobKind::StudyGuide, step, |t: &T| validate(t, &echo))
            .await?;
        // The stage goes on to the next section (the last one's stays until the end).
        let next = (index + 1).min(SECTIONS.len() - 1);
        ctx.step_done_at(
            section.checkpoint,
            &answer,
            (next as u32 + 1, SECTIONS.len() as u32, SECTIONS[next].stage),
            percent(index + 1),
        )
        .await?;
        Ok(answer)
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
            let first = SECTIONS
                .iter()
                .position(|s| ctx.checkpoint_data(s.checkpoint).is_none())
                .unwrap_or(SECTIONS.len());
            if let Some(s) = SECTIONS.get(first) {
                ctx.progress_at(
                    first as u32 + 1,
                    SECTIONS.len() as u32,
                    s.stage,
                    percent(first),
                )
                .await?;
            }
            let material = Material::gather(&self.kit, ctx, lang).await?;
            let m = &material;
            let overview: Overview = self
                .section(ctx, m, 0, String::new(), |o, echo| {
                    validate_overview(o, m, echo)
                })
                .await?;
            let concepts: Concepts = self
                .section(ctx, m, 1, so_far(Some(&overview), None, None), |c, echo| {
                    validate_concepts(c, m, echo)
                })
                .await?;
            let glossary: Glossary = self
                .section(
                    ctx,
                    m,
                    2,
                    so_far(Some(&overview), Some(&concepts), None),
                    |g, echo| validate_glossary(g, m, echo),
                )
                .await?;
            let questions: Questions = self
                .section(
                    ctx,
                    m,
                    3,
                    so_far(Some(&overview), Some(&concepts), Some(&glossary)),
                    |q, echo| validate_questions(q, m, echo),
                )
                .await?;
            let answer = Answer {
                title: overview.title,
                overview: overview.overview,
                key_concepts: concepts.key_concepts,
                glossary: glossary.glossary,
                questions: questions.questions,
            };
            let guide = render(&answer, &material, lang);
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

    /// An overview that says something.
    const OVERVIEW: &str = "La cellule est l'unité du vivant : sa membrane filtre ce qui entre et son noyau contient l'ADN.";

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
            texts: vec![
                "Le noyau contient l'ADN.".into(),
                "La membrane filtre ce qui entre dans la cellule.".into(),
            ],
            subject: quality::content("Cellules noyau ADN membrane filtre cellule"),
            prompts: Prompts::builtin(),
            language: "French (français)",
            lang: Lang::FrFr,
            budget: 3_000,
        };
        let a: Answer = serde_json::from_value(json!({
            "title": "La cellule", "overview": OVERVIEW,
            "key_concepts": [{"name": "Membrane", "explanation":
                "La membrane filtre ce qui entre dans la cellule et protège son contenu.",
                "sources": [2, 2]}],
            "glossary": [{"term": "ATP", "definition": "La molécule qui porte l'énergie."}],
            "questions": ["Pourquoi la membrane filtre-t-elle ce qui entre ?", " "]
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
            "- **ATP**: La molécule qui porte l'énergie.",
            "## Questions pour réfléchir",
            "1. Pourquoi la membrane filtre-t-elle ce qui entre ?",
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
            "title": "La cellule", "overview": OVERVIEW, "key_concepts": [{"name": "X", "explanation": "Y", "sources": [3]}],
            "glossary": [{"term": "a", "definition": "b"}], "questions": ["q"]
        }))
        .unwrap();
        assert!(validate(&bad, &material)
            .unwrap_err()
            .to_string()
            .contains("not a passage number"));
        let empty: Answer = serde_json::from_value(json!({
            "title": "La cellule", "overview": OVERVIEW, "key_concepts": [], "glossary": [], "questions": []
        }))
        .unwrap();
        assert!(validate(&empty, &material)
            .unwrap_err()
            .to_string()
            .contains("no key concepts"));
        // The gates: a concept its passage does not support, a title that names nothing.
        let unsupported: Answer = serde_json::from_value(json!({
            "title": "La cellule", "overview": OVERVIEW, "key_concepts": [{"name": "Saturne",
            "explanation": "Ses anneaux sont faits de glace, de poussière et de roches qui tournent.", "sources": [1]}],
            "glossary": [{"term": "a", "definition": "b"}], "questions": ["q"]
        }))
        .unwrap();
        let e = validate(&unsupported, &material).unwrap_err().to_string();
        assert!(
            e.contains("key concept 1 is not supported by passage 1"),
            "{e}"
        );
        let titled: Answer = serde_json::from_value(json!({
            "title": "titlme", "overview": "", "key_concepts": [],
            "glossary": [], "questions": []
        }))
        .unwrap();
        let e = validate(&titled, &material).unwrap_err().to_string();
        assert!(e.contains("does not name the subject"), "{e}");
    }
}
