//! The state of what opens over or beside the conversation: the artifacts panel, an artifact
//! being read, a quiz being taken and the notebook picker. Pure state, driven by `App`.

use mentor_shared::artifacts::Quiz;
use mentor_shared::ids::{ArtifactId, NotebookId};
use mentor_shared::jobs::Artifact;
use mentor_shared::protocol::NotebookSummary;

/// The notebook's artifacts, newest first, and the one selected.
#[derive(Debug, Clone, Default)]
pub struct ArtifactList {
    /// The artifacts.
    pub items: Vec<Artifact>,
    /// The selected row.
    pub selected: usize,
}

impl ArtifactList {
    /// Replaces the list, keeping the same artifact selected when it is still there.
    pub fn set(&mut self, mut items: Vec<Artifact>) {
        let keep = self.current().map(|a| a.id);
        items.sort_by_key(|a| std::cmp::Reverse(a.created));
        self.items = items;
        self.selected = keep
            .and_then(|id| self.items.iter().position(|a| a.id == id))
            .unwrap_or(0);
    }

    /// The selected artifact.
    pub fn current(&self) -> Option<&Artifact> {
        self.items.get(self.selected)
    }

    /// Moves the selection by one.
    pub fn step(&mut self, down: bool) {
        if self.items.is_empty() {
            return;
        }
        self.selected = if down {
            (self.selected + 1).min(self.items.len() - 1)
        } else {
            self.selected.saturating_sub(1)
        };
    }
}

/// An artifact open for reading (transcript, study guide, a failed job's outline).
#[derive(Debug, Clone)]
pub struct Reader {
    /// The artifact.
    pub artifact: ArtifactId,
    /// Its title.
    pub title: String,
    /// Its text, as Markdown.
    pub markdown: String,
    /// The first row shown.
    pub top: usize,
}

/// A quiz being taken: one question at a time, feedback after each answer.
#[derive(Debug, Clone)]
pub struct QuizPlayer {
    /// The quiz's artifact.
    pub artifact: ArtifactId,
    /// The quiz.
    pub quiz: Quiz,
    /// The question shown.
    pub at: usize,
    /// The option under the cursor.
    pub cursor: usize,
    /// The answers given so far (option indexes).
    pub answers: Vec<usize>,
    /// Whether the score was saved (or why not).
    pub saved: Option<Result<(), String>>,
}

/// Where a quiz is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuizStep {
    /// Waiting for an answer.
    Asking,
    /// Showing whether the last answer was right, with the explanation.
    Feedback {
        /// The answer given.
        chosen: usize,
        /// Whether it was right.
        right: bool,
    },
    /// Every question answered.
    Done {
        /// Right answers.
        score: u32,
        /// Questions.
        total: u32,
    },
}

impl QuizPlayer {
    /// Starts a quiz.
    pub fn new(artifact: ArtifactId, quiz: Quiz) -> QuizPlayer {
        QuizPlayer {
            artifact,
            quiz,
            at: 0,
            cursor: 0,
            answers: Vec::new(),
            saved: None,
        }
    }

    /// Where the quiz is.
    pub fn step(&self) -> QuizStep {
        let total = self.quiz.questions.len();
        if self.answers.len() > self.at {
            let chosen = self.answers[self.at];
            let right = self.quiz.questions.get(self.at).map(|q| q.answer) == Some(chosen);
            return QuizStep::Feedback { chosen, right };
        }
        if self.at >= total {
            return QuizStep::Done {
                score: self.score(),
                total: total as u32,
            };
        }
        QuizStep::Asking
    }

    /// Right answers so far.
    pub fn score(&self) -> u32 {
        self.answers
            .iter()
            .zip(&self.quiz.questions)
            .filter(|(a, q)| **a == q.answer)
            .count() as u32
    }

    /// Answers the question shown with `option`; true when this answer ends the quiz (its
    /// score is then to be saved).
    pub fn answer(&mut self, option: usize) -> bool {
        let Some(q) = self.quiz.questions.get(self.at) else {
            return false;
        };
        if self.step() != QuizStep::Asking || option >= q.options.len() {
            return false;
        }
        self.answers.push(option);
        self.answers.len() == self.quiz.questions.len()
    }

    /// From the feedback to the next question (or the result).
    pub fn next(&mut self) {
        if matches!(self.step(), QuizStep::Feedback { .. }) {
            self.at += 1;
            self.cursor = 0;
        }
    }

    /// Moves the option cursor.
    pub fn move_cursor(&mut self, down: bool) {
        let n = self
            .quiz
            .questions
            .get(self.at)
            .map_or(0, |q| q.options.len());
        if n == 0 {
            return;
        }
        self.cursor = if down {
            (self.cursor + 1).min(n - 1)
        } else {
            self.cursor.saturating_sub(1)
        };
    }
}

/// The notebook picker.
#[derive(Debug, Clone, Default)]
pub struct Picker {
    /// The notebooks.
    pub notebooks: Vec<NotebookSummary>,
    /// The selected row.
    pub selected: usize,
    /// A new notebook's title being typed (`None`: choosing).
    pub naming: Option<String>,
    /// The notebook open when the picker opened.
    pub current: Option<NotebookId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::artifacts::Question;
    use mentor_shared::jobs::Difficulty;

    pub fn quiz(n: usize) -> Quiz {
        Quiz {
            title: "Cells".into(),
            difficulty: Difficulty::Medium,
            language: "en-US".into(),
            questions: (0..n)
                .map(|i| Question {
                    question: format!("Question {i}?"),
                    options: vec!["w".into(), "x".into(), "y".into(), "z".into()],
                    answer: i % 4,
                    explanation: format!("Because {i}."),
                    source: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_quiz_asks_gives_feedback_and_scores() {
        let mut p = QuizPlayer::new(ArtifactId::new(), quiz(2));
        assert_eq!(p.step(), QuizStep::Asking);
        assert!(!p.answer(0));
        assert_eq!(
            p.step(),
            QuizStep::Feedback {
                chosen: 0,
                right: true
            }
        );
        // A second answer to the same question is ignored.
        assert!(!p.answer(1));
        p.next();
        assert!(!p.answer(9), "no such option");
        assert!(p.answer(0), "the last answer ends the quiz");
        assert_eq!(
            p.step(),
            QuizStep::Feedback {
                chosen: 0,
                right: false
            }
        );
        p.next();
        assert_eq!(p.step(), QuizStep::Done { score: 1, total: 2 });
        assert_eq!(p.answers, [0, 0]);
    }

    #[test]
    fn the_option_cursor_stays_on_the_options() {
        let mut p = QuizPlayer::new(ArtifactId::new(), quiz(1));
        p.move_cursor(false);
        assert_eq!(p.cursor, 0);
        for _ in 0..10 {
            p.move_cursor(true);
        }
        assert_eq!(p.cursor, 3);
    }
}
