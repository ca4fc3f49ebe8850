//! Tool calls in a local model's own words: Qwen2.5, Qwen3 and Hermes write each call as
//! `<tool_call>{"name": …, "arguments": {…}}</tool_call>` in the answer's text, SmolLM2 as a
//! list, `<tool_call>[{…}, {…}]</tool_call>`, and Llama 3 models with `parameters` for
//! `arguments`. [`Splitter`] takes the text as it is generated and separates the calls from
//! the words meant for the learner, holding back only what could still become a tag. A
//! `<think>…</think>` block (Qwen3's reasoning) is not words for the learner: it is dropped.

use serde_json::Value;

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";
const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";

/// A piece of a local model's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Text for the learner.
    Text(String),
    /// A call: the tool's name (empty when the model wrote no readable name) and its
    /// arguments as JSON text (as written when they are not JSON, for the tool to refuse).
    Call { name: String, arguments: String },
}

/// Separates tool calls from text, as the text streams.
#[derive(Debug, Default)]
pub struct Splitter {
    held: String,
    in_call: bool,
    /// Inside a `<think>` block, which is dropped.
    in_think: bool,
    /// A call has just closed: the blank space after it (between two calls, or before the
    /// end) is layout, not words for the learner.
    after_call: bool,
}

impl Splitter {
    /// Takes the next generated text.
    pub fn push(&mut self, text: &str, out: &mut Vec<Piece>) {
        self.held.push_str(text);
        loop {
            if self.in_think {
                let Some(end) = self.held.find(THINK_CLOSE) else {
                    // Nothing of it is shown; keep only what may start the closing tag.
                    let keep = partial_len(&self.held, THINK_CLOSE);
                    self.held.drain(..self.held.len() - keep);
                    return;
                };
                self.held.drain(..end + THINK_CLOSE.len());
                self.in_think = false;
                self.after_call = true;
                continue;
            }
            if !self.in_call {
                if let Some(start) = self.held.find(THINK_OPEN) {
                    if self.held.find(OPEN).is_none_or(|call| start < call) {
                        let before = &self.held[..start];
                        if !before.trim().is_empty() {
                            out.push(Piece::Text(before.to_string()));
                        }
                        self.held.drain(..start + THINK_OPEN.len());
                        self.in_think = true;
                        continue;
                    }
                }
            }
            if self.in_call {
                let Some(end) = self.held.find(CLOSE) else {
                    return;
                };
                let body: String = self.held[..end].to_string();
                self.held.drain(..end + CLOSE.len());
                out.extend(calls(&body));
                self.in_call = false;
                self.after_call = true;
            } else if let Some(start) = self.held.find(OPEN) {
                let before = &self.held[..start];
                // After a call or a thought, the blank that follows is layout.
                let before = if self.after_call {
                    before.trim_start()
                } else {
                    before
                };
                if !before.trim().is_empty() {
                    out.push(Piece::Text(before.to_string()));
                }
                self.after_call = false;
                self.held.drain(..start + OPEN.len());
                self.in_call = true;
            } else {
                if self.after_call {
                    let blank = self.held.len() - self.held.trim_start().len();
                    self.held.drain(..blank);
                    if self.held.is_empty() {
                        return;
                    }
                    self.after_call = false;
                }
                // Everything but a tail that may be the start of `<tool_call>` or `<think>`.
                let keep = partial_len(&self.held, OPEN).max(partial_len(&self.held, THINK_OPEN));
                let cut = self.held.len() - keep;
                if cut > 0 {
                    out.push(Piece::Text(self.held[..cut].to_string()));
                    self.held.drain(..cut);
                }
                return;
            }
        }
    }

    /// The end of the answer: what was held back, and a call left open (a model stopped
    /// before writing `</tool_call>`) if its JSON is complete.
    pub fn finish(&mut self, out: &mut Vec<Piece>) {
        let rest = std::mem::take(&mut self.held);
        if self.in_think {
            // An unclosed reasoning block: still not words for the learner.
            self.in_think = false;
        } else if self.in_call {
            self.in_call = false;
            if !rest.trim().is_empty() {
                out.extend(calls(&rest));
            }
        } else if !rest.is_empty() {
            out.push(Piece::Text(rest));
        }
    }
}

/// The length of the longest end of `s` that begins `tag`.
fn partial_len(s: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| {
            s.len() >= n && s.is_char_boundary(s.len() - n) && tag.starts_with(&s[s.len() - n..])
        })
        .unwrap_or(0)
}

/// The calls written between the tags: one object, or (SmolLM2) a list of them.
fn calls(body: &str) -> Vec<Piece> {
    let body = body.trim();
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(items)) if !items.is_empty() => {
            items.iter().map(|item| call(&item.to_string())).collect()
        }
        _ => vec![call(body)],
    }
}

/// A call from the text of one object.
fn call(body: &str) -> Piece {
    let body = body.trim();
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
        return Piece::Call {
            name: String::new(),
            arguments: body.to_string(),
        };
    };
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // `parameters` is what Llama 3 models write.
    let arguments = match map.get("arguments").or_else(|| map.get("parameters")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "{}".to_string(),
        Some(other) => other.to_string(),
    };
    Piece::Call { name, arguments }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pieces: &[&str]) -> Vec<Piece> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for p in pieces {
            s.push(p, &mut out);
        }
        s.finish(&mut out);
        // Neighbouring text pieces as one, as the stream reader merges them.
        let mut merged: Vec<Piece> = Vec::new();
        for p in out {
            match (merged.last_mut(), p) {
                (Some(Piece::Text(a)), Piece::Text(b)) => a.push_str(&b),
                (_, p) => merged.push(p),
            }
        }
        merged
    }

    #[test]
    fn text_and_calls_come_apart_however_the_text_is_cut() {
        let answer = "Let me look.<tool_call>\n{\"name\": \"search_sources\", \"arguments\": \
                      {\"query\": \"cells\"}}\n</tool_call>Found it: a < b.";
        let expected = vec![
            Piece::Text("Let me look.".into()),
            Piece::Call {
                name: "search_sources".into(),
                arguments: r#"{"query":"cells"}"#.into(),
            },
            Piece::Text("Found it: a < b.".into()),
        ];
        for (size, out) in every_cut(answer).into_iter().enumerate() {
            assert_eq!(out, expected, "pieces of {}", size + 1);
        }
    }

    /// `answer` cut into pieces of every size.
    fn every_cut(answer: &str) -> Vec<Vec<Piece>> {
        let chars: Vec<char> = answer.chars().collect();
        (1..chars.len())
            .map(|size| {
                let pieces: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
                let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
                split(&refs)
            })
            .collect()
    }

    #[test]
    fn smollm2_writes_its_calls_as_a_list() {
        // SmolLM2-1.7B's form (its model card's tool-calling prompt).
        let answer = "<tool_call>[{\"name\": \"search_sources\", \"arguments\": {\"query\": \
                      \"glob\"}}, {\"name\": \"generate_artifact\", \"arguments\": \
                      {\"artifact_type\": \"quiz\"}}]</tool_call>";
        let expected = vec![
            Piece::Call {
                name: "search_sources".into(),
                arguments: r#"{"query":"glob"}"#.into(),
            },
            Piece::Call {
                name: "generate_artifact".into(),
                arguments: r#"{"artifact_type":"quiz"}"#.into(),
            },
        ];
        for out in every_cut(answer) {
            assert_eq!(out, expected);
        }
        // An empty list is no call: the tool refuses what it gets.
        assert!(matches!(
            split(&["<tool_call>[]</tool_call>"])[0],
            Piece::Call { .. }
        ));
    }

    #[test]
    fn qwen3_thinking_is_dropped_and_the_answer_and_calls_stay() {
        let answer = "<think>\nThe learner wants a quiz; I should call the tool.\n</think>\n\n\
                      Sure.<tool_call>\n{\"name\": \"generate_artifact\", \"arguments\": \
                      {\"artifact_type\": \"quiz\"}}\n</tool_call>";
        let expected = vec![
            Piece::Text("Sure.".into()),
            Piece::Call {
                name: "generate_artifact".into(),
                arguments: r#"{"artifact_type":"quiz"}"#.into(),
            },
        ];
        for out in every_cut(answer) {
            assert_eq!(out, expected);
        }
        // A block the model never closed is not shown either.
        assert_eq!(
            split(&["Hello. <think>hmm, maybe"]),
            vec![Piece::Text("Hello. ".into())]
        );
        // Text that only looks like a tag's start is kept.
        assert_eq!(
            split(&["a <thin", "g> here"]),
            vec![Piece::Text("a <thing> here".into())]
        );
    }

    #[test]
    fn the_blank_between_and_after_calls_is_not_text() {
        let answer = "<tool_call>{\"name\": \"a\"}</tool_call>\n\n<tool_call>{\"name\": \"b\"}\
                      </tool_call>\n";
        let call = |name: &str| Piece::Call {
            name: name.into(),
            arguments: "{}".into(),
        };
        for (size, out) in every_cut(answer).into_iter().enumerate() {
            assert_eq!(out, vec![call("a"), call("b")], "pieces of {}", size + 1);
        }
        // Words after a call are text, without the blank that led to them.
        assert_eq!(
            split(&["<tool_call>{\"name\": \"a\"}</tool_call>", "\n", " Done."]),
            vec![call("a"), Piece::Text("Done.".into())]
        );
    }

    #[test]
    fn odd_calls_still_reach_the_tool_which_refuses_them() {
        assert_eq!(
            split(&["<tool_call>not json</tool_call>"]),
            vec![Piece::Call {
                name: String::new(),
                arguments: "not json".into()
            }]
        );
        assert_eq!(
            split(&[r#"<tool_call>{"name": "x", "parameters": {"a": 1}}"#]),
            vec![Piece::Call {
                name: "x".into(),
                arguments: r#"{"a":1}"#.into()
            }]
        );
        assert_eq!(
            split(&[r#"<tool_call>{"name": "x", "arguments": "{\"a\": 1}"}</tool_call>"#]),
            vec![Piece::Call {
                name: "x".into(),
                arguments: r#"{"a": 1}"#.into()
            }]
        );
        assert_eq!(
            split(&["just <tool_c"]),
            vec![Piece::Text("just <tool_c".into())]
        );
        assert_eq!(split(&["é<tool"]), vec![Piece::Text("é<tool".into())]);
    }
}
