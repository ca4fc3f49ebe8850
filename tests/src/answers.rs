//! What the scripted model server answers the generators: a good answer to each structured
//! request (`podcast_outline`, `podcast_segment`, `quiz_question`, `study_guide_overview`,
//! `…_key_concepts`, `…_glossary`, `…_questions`), shaped by the schema it asks for, so
//! end-to-end tests and benchmarks run the real generators.

use serde_json::{json, Value};

use crate::openai::Reply;

/// Whether `request` asks for structured output (a generator's request, not the chat's).
pub fn is_structured(request: &Value) -> bool {
    !schema_name(request).is_empty()
}

/// The schema a structured request asks for (`podcast_outline`, `quiz`, …).
pub fn schema_name(request: &Value) -> String {
    request["response_format"]["json_schema"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The JSON schema a structured request asks for.
pub fn schema(request: &Value) -> &Value {
    &request["response_format"]["json_schema"]["schema"]
}

/// A reply whose text is `value` as JSON.
pub fn json_reply(value: Value) -> Reply {
    Reply::text(&value.to_string())
}

/// A good answer to every generator's request, shaped by the schema it asks for, written
/// the way a capable model writes it: from the passages the request shows (quoted, cited),
/// in the language it asks for, as long as it asks, and never the same sentence twice. So
/// the generators' quality gates pass it for the right reasons.
pub fn good_answer(request: &Value) -> Reply {
    let s = schema(request);
    let asked = Asked::of(request);
    let w = asked.words();
    match schema_name(request).as_str() {
        "podcast_outline" => {
            let n = s["properties"]["segments"]["minItems"]
                .as_u64()
                .unwrap_or(1) as usize;
            let terms = asked.terms();
            json_reply(json!({
                "title": asked.title(),
                "segments": (0..n).map(|i| {
                    let term = &terms[i % terms.len()];
                    json!({
                        "title": format!("{} {}", w.part, i + 1),
                        "points": [
                            format!("{} {term} ({} {})", w.why[i % w.why.len()], w.part, i + 1),
                            format!("{} {term} ({} {})", w.how[i % w.how.len()], w.part, i + 1),
                        ],
                    })
                }).collect::<Vec<_>>(),
            }))
        }
        "podcast_segment" => {
            let hosts: Vec<String> = s["properties"]["turns"]["items"]["properties"]["speaker"]
                ["enum"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|h| h.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let (number, words) = (asked.segment(), asked.segment_words());
            // Each segment goes on where the one before stopped in the sources.
            let mut sentences = asked.sentences().into_iter().skip((number - 1) * 3).take(3);
            // Four turns (the hosts in turn), together as long as the segment should be.
            let per_turn = (words / TURNS).max(8);
            let mut k = 0;
            let turns: Vec<Value> = (0..TURNS)
                .map(|i| {
                    // A sentence of the sources when one is left, then made-up ones, each
                    // different from every other in the episode.
                    let mut text = sentences.next().unwrap_or_default();
                    while text.split_whitespace().count() < per_turn {
                        text.push(' ');
                        text.push_str(&w.sentence(number * 100 + k));
                        k += 1;
                    }
                    json!({
                        "speaker": hosts[i % hosts.len().max(1)],
                        "text": text.trim(),
                    })
                })
                .collect();
            json_reply(json!({ "turns": turns }))
        }
        "quiz_question" => {
            let number = question_number(request);
            let passage = asked.suggested_passage();
            let fact = asked
                .passage_sentences(passage)
                .into_iter()
                .nth((number as usize).saturating_sub(1) / asked.passages().len().max(1))
                .or_else(|| asked.passage_sentences(passage).into_iter().next());
            let (answer, source) = match fact {
                Some(f) => (f, passage),
                None => (w.fallback.to_string(), 0),
            };
            json_reply(json!({
                "question": format!("{} {number}: {}", w.question, w.which),
                "options": [w.wrong[0], cap(&answer, 190), w.wrong[1], w.wrong[2]],
                "answer": 1,
                "explanation": format!("{} {source} {} {}", w.passage, w.says, cap(&answer, 300)),
                "source": source,
            }))
        }
        "study_guide_overview" => json_reply(json!({
            "title": asked.title(),
            "overview": asked.sentences().into_iter().take(2).collect::<Vec<_>>().join(" "),
        })),
        "study_guide_key_concepts" => {
            let passages = asked.passages();
            let concepts: Vec<Value> = if passages.is_empty() {
                vec![json!({"name": "Mitochondria", "explanation": w.fallback, "sources": []})]
            } else {
                (1..=passages.len().min(3))
                    .filter_map(|p| {
                        let first = asked.passage_sentences(p).into_iter().next()?;
                        let name = long_words(&first).into_iter().next()?;
                        let explanation = format!("{first} {}", w.sentence(800 + p));
                        Some(json!({"name": name, "explanation": explanation, "sources": [p]}))
                    })
                    .collect()
            };
            json_reply(json!({ "key_concepts": concepts }))
        }
        "study_guide_glossary" => {
            let terms = asked.terms();
            let glossary: Vec<Value> = terms
                .iter()
                .take(4)
                .enumerate()
                .map(|(i, t)| json!({"term": t, "definition": w.sentence(900 + i)}))
                .collect();
            json_reply(json!({ "glossary": glossary }))
        }
        "study_guide_questions" => {
            let terms = asked.terms();
            json_reply(json!({
                "questions": terms.iter().take(3).map(|t| format!("{} {t} ?", w.matters))
                    .collect::<Vec<_>>(),
            }))
        }
        other => Reply::status(400, format!("unexpected request {other}")),
    }
}

/// Turns in each segment of a scripted podcast.
pub const TURNS: usize = 4;

/// Cuts `text` to at most `max` characters.
fn cap(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// What a generator's request asks: its system message, read the way a model reads it.
struct Asked {
    system: String,
    french: bool,
}

impl Asked {
    fn of(request: &Value) -> Asked {
        let system = request["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let french = system.contains("in French");
        Asked { system, french }
    }

    fn words(&self) -> &'static Words {
        if self.french {
            &FRENCH
        } else {
            &ENGLISH
        }
    }

    /// The passages' texts, in order (passage 1 first).
    fn passages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for n in 1.. {
            let open = format!("<<<PASSAGE {n} ");
            let close = format!("<<<END PASSAGE {n}>>>");
            let Some(start) = self.system.find(&open) else {
                break;
            };
            let body = &self.system[start..];
            let Some(text_start) = body.find(">>>\n").map(|i| i + 4) else {
                break;
            };
            let end = body.find(&close).unwrap_or(body.len());
            out.push(body[text_start.min(end)..end].trim().to_string());
        }
        out
    }

    /// The sentences of passage `n` (1-based) of four words or more.
    fn passage_sentences(&self, n: usize) -> Vec<String> {
        let passages = self.passages();
        let Some(text) = n.checked_sub(1).and_then(|i| passages.get(i)) else {
            return Vec::new();
        };
        split_sentences(text)
    }

    /// Every passage's sentences, in order.
    fn sentences(&self) -> Vec<String> {
        let all: Vec<String> = self
            .passages()
            .iter()
            .flat_map(|p| split_sentences(p))
            .collect();
        if all.is_empty() {
            vec![self.words().fallback.to_string()]
        } else {
            all
        }
    }

    /// Distinct long words of the passages (or of the fallback), to name things with.
    fn terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = Vec::new();
        for s in self.sentences() {
            for w in long_words(&s) {
                let lower = w.to_lowercase();
                if !terms.iter().any(|t| t.to_lowercase() == lower) {
                    terms.push(w);
                }
            }
        }
        if terms.is_empty() {
            terms.push("Mitochondria".into());
        }
        terms
    }

    /// A title from the sources (their first words) or the notebook's.
    fn title(&self) -> String {
        let notebook = self
            .system
            .split("notebook \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("");
        let first = self.terms().into_iter().next().unwrap_or_default();
        format!("{notebook}: {first}")
            .trim_matches([':', ' '])
            .to_string()
    }

    /// The passage a quiz question is suggested to come from, or 1.
    fn suggested_passage(&self) -> usize {
        self.system
            .split("preferably from passage ")
            .nth(1)
            .and_then(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(1)
    }

    /// The segment being written ("Now write segment 2 of 4").
    fn segment(&self) -> usize {
        self.number_after("Now write segment ").unwrap_or(1).max(1)
    }

    /// The words the segment should have ("about 160 words").
    fn segment_words(&self) -> usize {
        self.number_after("has about ").unwrap_or(60)
    }

    fn number_after(&self, prefix: &str) -> Option<usize> {
        let rest = self.system.split(prefix).nth(1)?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    }
}

/// The words of six letters or more of `text`, in order.
fn long_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 6)
        .map(str::to_string)
        .collect()
}

/// The sentences of `text` of four words or more.
fn split_sentences(text: &str) -> Vec<String> {
    // Headings are not sentences.
    let prose: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    prose
        .join(" ")
        .split_inclusive(['.', '!', '?'])
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| s.split_whitespace().count() >= 4)
        .collect()
}

/// The scripted model's own words, in one language.
struct Words {
    part: &'static str,
    why: [&'static str; 3],
    how: [&'static str; 3],
    question: &'static str,
    which: &'static str,
    wrong: [&'static str; 3],
    passage: &'static str,
    says: &'static str,
    matters: &'static str,
    fallback: &'static str,
    subjects: [&'static str; 10],
    verbs: [&'static str; 10],
    objects: [&'static str; 10],
}

impl Words {
    /// Made-up sentence `i`: different for every `i` below 1 000 (segment `n` uses
    /// `100 n` on), and none of the degenerate kinds.
    fn sentence(&self, i: usize) -> String {
        format!(
            "{} {} {}.",
            self.subjects[i % 10],
            self.verbs[(i / 10) % 10],
            self.objects[(i / 100) % 10]
        )
    }
}

const ENGLISH: Words = Words {
    part: "Part",
    why: ["Why it matters:", "Where we meet", "What defines"],
    how: ["How to use", "A worked example of", "Common mistakes with"],
    question: "Question",
    which: "which statement is true?",
    wrong: [
        "Sunlight melts granite overnight.",
        "Oceans freeze every summer.",
        "Birds photosynthesize with feathers.",
    ],
    passage: "Passage",
    says: "says:",
    matters: "Why does this matter for",
    fallback: "Mitochondria turn sugar into energy for the whole cell.",
    subjects: [
        "Good teachers",
        "Careful readers",
        "Many students",
        "Our listeners",
        "Engineers",
        "Beginners",
        "Curious people",
        "Researchers",
        "Experts",
        "Most learners",
    ],
    verbs: [
        "often revisit",
        "slowly compare",
        "happily explain",
        "rarely forget",
        "quickly sketch",
        "gladly discuss",
        "patiently check",
        "calmly review",
        "eagerly test",
        "clearly describe",
    ],
    objects: [
        "these ideas",
        "the main points",
        "such details",
        "every example",
        "the key terms",
        "those rules",
        "each step",
        "the whole picture",
        "small cases",
        "real situations",
    ],
};

const FRENCH: Words = Words {
    part: "Partie",
    why: ["Pourquoi compte", "Où rencontrer", "Ce qui définit"],
    how: ["Comment utiliser", "Un exemple de", "Les erreurs avec"],
    question: "Question",
    which: "quelle affirmation est vraie ?",
    wrong: [
        "Le soleil fait fondre le granite la nuit.",
        "Les océans gèlent chaque été.",
        "Les oiseaux font la photosynthèse avec leurs plumes.",
    ],
    passage: "Le passage",
    says: "dit :",
    matters: "Pourquoi est-ce important pour",
    fallback: "Les mitochondries transforment le sucre en énergie pour la cellule.",
    subjects: [
        "Les bons professeurs",
        "Les lecteurs attentifs",
        "Les élèves",
        "Nos auditeurs",
        "Les ingénieurs",
        "Les débutants",
        "Les curieux",
        "Les chercheurs",
        "Les experts",
        "La plupart des gens",
    ],
    verbs: [
        "revoient souvent",
        "comparent lentement",
        "expliquent volontiers",
        "retiennent bien",
        "dessinent vite",
        "discutent de",
        "vérifient toujours",
        "relisent calmement",
        "testent sans cesse",
        "décrivent clairement",
    ],
    objects: [
        "ces idées",
        "les points principaux",
        "ces détails",
        "chaque exemple",
        "les termes clés",
        "les règles",
        "chaque étape",
        "la vue d'ensemble",
        "les petits cas",
        "les situations réelles",
    ],
};

/// The number of the quiz question a request asks for ("Write question 3 now."), or 0.
pub fn question_number(request: &Value) -> u64 {
    let (_, text) = crate::openai::last_message(request);
    text.strip_prefix("Write question ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
