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

/// A good answer to every generator's request, shaped by the schema it asks for.
pub fn good_answer(request: &Value) -> Reply {
    let s = schema(request);
    match schema_name(request).as_str() {
        "podcast_outline" => {
            let n = s["properties"]["segments"]["minItems"]
                .as_u64()
                .unwrap_or(1);
            json_reply(json!({
                "title": "Inside the cell",
                "segments": (0..n).map(|i| json!({
                    "title": format!("Part {}", i + 1),
                    "points": ["Mitochondria make energy", "Membranes filter"],
                })).collect::<Vec<_>>(),
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
            let turns: Vec<Value> = (0..3)
                .map(|i| {
                    json!({
                        "speaker": hosts[i % hosts.len()],
                        "text": format!("Turn {i}: mitochondria turn sugar into energy."),
                    })
                })
                .collect();
            json_reply(json!({ "turns": turns }))
        }
        "quiz_question" => {
            let number = question_number(request);
            json_reply(json!({
                "question": format!("Question {number}: what makes ATP?"),
                "options": ["Ribosome", "Mitochondrion", "Nucleus", "Golgi"],
                "answer": 1,
                "explanation": "Mitochondria make ATP.",
                "source": 1,
            }))
        }
        "study_guide_overview" => json_reply(json!({
            "title": "The cell",
            "overview": "Cells are the units of life.",
        })),
        "study_guide_key_concepts" => json_reply(json!({
            "key_concepts": [{"name": "Mitochondria", "explanation": "They make ATP.", "sources": [1]}],
        })),
        "study_guide_glossary" => json_reply(json!({
            "glossary": [{"term": "ATP", "definition": "The cell's energy currency."}],
        })),
        "study_guide_questions" => json_reply(json!({
            "questions": ["Why do cells need energy?"],
        })),
        other => Reply::status(400, format!("unexpected request {other}")),
    }
}

/// The number of the quiz question a request asks for ("Write question 3 now."), or 0.
pub fn question_number(request: &Value) -> u64 {
    let (_, text) = crate::openai::last_message(request);
    text.strip_prefix("Write question ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
