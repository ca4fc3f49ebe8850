//! The learner's shortcuts (`/podcast TOPIC`, `/quiz TOPIC`, `/guide TOPIC`; see
//! [`mentor_shared::chat::shortcut`]). The turn that answers one does not wait for the model
//! to decide: it makes the `generate_artifact` call itself, as the model's first step, and
//! everything after is the usual tool path (the job, the daemon's notices, the model going
//! on teaching). So a small local model that never calls tools can still start a generator.

use mentor_shared::chat::ToolCall;
use mentor_shared::jobs::JobKind;
use serde_json::json;

/// The `generate_artifact` call a shortcut stands for; `n` tells calls of one turn apart.
pub fn call(kind: JobKind, topic: &str, n: usize) -> ToolCall {
    ToolCall {
        id: format!("call_shortcut_{}_{n}", ulid::Ulid::new()),
        name: "generate_artifact".into(),
        arguments: json!({"artifact_type": kind.as_str(), "topic": topic}).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortcut_is_the_call_the_model_would_make() {
        let c = call(JobKind::StudyGuide, "cell \"division\"", 0);
        assert_eq!(c.name, "generate_artifact");
        let args: serde_json::Value = serde_json::from_str(&c.arguments).expect("JSON");
        assert_eq!(
            args,
            json!({"artifact_type": "study_guide", "topic": "cell \"division\""})
        );
        assert_ne!(c.id, call(JobKind::StudyGuide, "x", 1).id);
    }
}
