//! `mentor quiz`: take a ready quiz in line mode, and list the attempts saved.
//!
//! Taking a quiz reads one answer per line on stdin (a–d or 1–4, any case), so it works as
//! well typed at a terminal as piped from a file; a line that is not an answer is asked
//! again. Each answer gets its feedback at once; after the last one the daemon scores and
//! saves the attempt. Input that ends early saves nothing. With `--json` the conversation goes
//! to stderr and stdout holds only the saved attempt.

use std::io::{self, BufRead, IsTerminal, Write};

use clap::{Args, Subcommand};
use mentor_shared::artifacts::{Quiz, QuizAttempt};
use mentor_shared::i18n::{self, Localizer};
use mentor_shared::jobs::JobKind;
use mentor_shared::t;

use super::artifact::content;
use super::artifact::problem::Problem;
use super::{output, Env};
use crate::client::{self, answer, ctx, Client};
use crate::error::CliError;

/// `mentor quiz …`
#[derive(Debug, Subcommand)]
pub enum QuizCommand {
    /// Take a quiz, one question at a time.
    Take(QuizArg),
    /// List the attempts at a quiz.
    Attempts(QuizArg),
}

/// A quiz, by id.
#[derive(Debug, Args)]
pub struct QuizArg {
    /// Artifact id of the quiz (with or without `art:`).
    pub artifact: String,
}

/// The letter of an option: A for the first.
pub fn letter(index: usize) -> char {
    char::from(b'A' + (index.min(25) as u8))
}

/// Reads an answer: a letter a–d or a number 1–4, any case, with an optional `.` or `)`.
pub fn parse_answer(line: &str) -> Option<usize> {
    let word = line.trim().trim_end_matches(['.', ')']);
    let mut chars = word.chars();
    let c = chars.next()?.to_ascii_lowercase();
    if chars.next().is_some() {
        return None;
    }
    match c {
        'a'..='d' => Some(c as usize - 'a' as usize),
        '1'..='4' => Some(c as usize - '1' as usize),
        _ => None,
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every question answered: the options chosen.
    Answered(Vec<usize>),
    /// Input ended first.
    Stopped,
}

/// Asks every question of `quiz` on `out`, reading answers from `input`. With `echo`, each
/// answer read is written back (input that is not a terminal shows nothing of its own).
pub fn take<R: BufRead, W: Write>(
    l: &Localizer,
    quiz: &Quiz,
    input: &mut R,
    out: &mut W,
    echo: bool,
) -> io::Result<Outcome> {
    let total = quiz.questions.len();
    writeln!(
        out,
        "{}",
        t!(
            l,
            "quiz-take-intro",
            title = quiz.title.trim(),
            count = total
        )
    )?;
    let mut answers = Vec::with_capacity(total);
    for (i, question) in quiz.questions.iter().enumerate() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            t!(
                l,
                "quiz-take-question",
                number = i + 1,
                total = total,
                question = question.question.trim()
            )
        )?;
        for (j, option) in question.options.iter().enumerate() {
            writeln!(out, "   {}. {}", letter(j), option.trim())?;
        }
        let chosen = loop {
            write!(out, "{} ", t!(l, "quiz-take-prompt"))?;
            out.flush()?;
            let mut line = Vec::new();
            if input.read_until(b'\n', &mut line)? == 0 {
                writeln!(out)?;
                return Ok(Outcome::Stopped);
            }
            let line = String::from_utf8_lossy(&line);
            if echo {
                writeln!(out, "{}", line.trim())?;
            }
            match parse_answer(&line) {
                Some(a) => break a,
                None => writeln!(out, "{}", t!(l, "quiz-take-invalid"))?,
            }
        };
        let right = question
            .options
            .get(question.answer)
            .map(|o| format!("{}. {}", letter(question.answer), o.trim()))
            .unwrap_or_else(|| letter(question.answer).to_string());
        if chosen == question.answer {
            writeln!(out, "✓ {}", t!(l, "quiz-take-correct"))?;
        } else {
            writeln!(
                out,
                "✗ {}",
                t!(l, "quiz-take-wrong", option = right.as_str())
            )?;
        }
        if !question.explanation.trim().is_empty() {
            writeln!(
                out,
                "  {}",
                t!(l, "quiz-why", explanation = question.explanation.trim())
            )?;
        }
        if let Some(source) = &question.source {
            writeln!(
                out,
                "  {}",
                t!(l, "quiz-source", title = source.title.as_str())
            )?;
        }
        answers.push(chosen);
    }
    Ok(Outcome::Answered(answers))
}

/// The session's writer: stdout, or stderr when stdout is kept for JSON.
struct Console {
    stderr: bool,
}

impl Write for Console {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stderr {
            io::stderr().write(buf)
        } else {
            io::stdout().write(buf)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.stderr {
            io::stderr().flush()
        } else {
            io::stdout().flush()
        }
    }
}

/// Runs a quiz command.
pub async fn run(env: &Env, cmd: QuizCommand) -> Result<(), CliError> {
    env.config()?;
    let c = client::connect(&env.dirs).await?;
    match cmd {
        QuizCommand::Take(a) => take_quiz(env, c, a.artifact).await,
        QuizCommand::Attempts(a) => {
            let l = i18n::ui();
            let attempts = answer(c.rpc.quiz_attempts(ctx(30), a.artifact.clone()).await)?;
            if env.json {
                return output::json(&attempts);
            }
            if attempts.is_empty() {
                let shown = answer(c.rpc.artifact_show(ctx(30), a.artifact).await)?;
                let id = shown.id.to_string();
                outln!("{}", t!(l, "quiz-attempts-empty", artifact = id.as_str()));
                return Ok(());
            }
            print_attempts(l, &attempts);
            Ok(())
        }
    }
}

async fn take_quiz(env: &Env, c: Client, reference: String) -> Result<(), CliError> {
    let l = i18n::ui();
    let artifact = answer(c.rpc.artifact_show(ctx(30), reference).await)?;
    let quiz: Quiz = content::ready(&artifact, JobKind::Quiz)?;
    let id = artifact.id.to_string();
    let json = env.json;
    let echo = !io::stdin().is_terminal();
    // Reading stdin blocks: off the runtime, which keeps the connection served meanwhile.
    let outcome = tokio::task::spawn_blocking(move || {
        let mut input = io::stdin().lock();
        take(l, &quiz, &mut input, &mut Console { stderr: json }, echo)
    })
    .await
    .map_err(|e| CliError::Io {
        path: "stdin".into(),
        reason: e.to_string(),
    })?
    .map_err(|e| CliError::Io {
        path: if e.kind() == io::ErrorKind::BrokenPipe {
            "stdout".into()
        } else {
            "stdin".into()
        },
        reason: e.to_string(),
    })?;
    let answers = match outcome {
        Outcome::Answered(answers) => answers,
        Outcome::Stopped => return Err(Problem::QuizStopped { artifact: id }.into()),
    };
    let attempt = save(env, c, &id, answers).await?;
    let score = t!(
        l,
        "quiz-take-score",
        score = attempt.score,
        total = attempt.total
    );
    let saved = t!(
        l,
        "quiz-take-saved",
        number = attempt.number,
        artifact = id.as_str()
    );
    if json {
        eprintln!("\n{score}\n{saved}");
        return output::json(&attempt);
    }
    outln!();
    outln!("{score}");
    outln!("{saved}");
    Ok(())
}

/// Saves an attempt; once more on a new connection if the first broke while the learner was
/// answering (a daemon restarted meanwhile).
async fn save(
    env: &Env,
    c: Client,
    id: &str,
    answers: Vec<usize>,
) -> Result<QuizAttempt, CliError> {
    match answer(
        c.rpc
            .quiz_attempt_save(ctx(30), id.to_string(), answers.clone())
            .await,
    ) {
        Err(CliError::Connection(_)) => {
            let c = client::connect(&env.dirs).await?;
            answer(
                c.rpc
                    .quiz_attempt_save(ctx(30), id.to_string(), answers)
                    .await,
            )
        }
        other => other,
    }
}

fn print_attempts(l: &Localizer, attempts: &[QuizAttempt]) {
    let headers = [
        t!(l, "quiz-col-number"),
        t!(l, "quiz-col-score"),
        t!(l, "quiz-col-when"),
    ];
    let rows: Vec<Vec<String>> = attempts
        .iter()
        .map(|a| {
            vec![
                a.number.to_string(),
                format!("{}/{}", a.score, a.total),
                t!(l, "age-ago", age = output::age(a.created)),
            ]
        })
        .collect();
    output::table(&headers, &rows);
}

#[cfg(test)]
mod tests {
    use super::super::artifact::content::samples::quiz;
    use super::*;
    use mentor_shared::i18n::{localizer, Lang};

    #[test]
    fn answers_are_letters_or_numbers_in_any_case() {
        for (input, expected) in [
            ("a", Some(0)),
            ("B\n", Some(1)),
            ("  c  ", Some(2)),
            ("D.", Some(3)),
            ("b)", Some(1)),
            ("1", Some(0)),
            ("4\r\n", Some(3)),
            ("e", None),
            ("5", None),
            ("0", None),
            ("", None),
            ("ab", None),
            ("A B", None),
            ("é", None),
        ] {
            assert_eq!(parse_answer(input), expected, "{input:?}");
        }
        assert_eq!(
            ['A', 'B', 'C', 'D'],
            [letter(0), letter(1), letter(2), letter(3)]
        );
    }

    fn session(lang: Lang, input: &str, echo: bool) -> (Outcome, String) {
        let mut out = Vec::new();
        let outcome = take(
            localizer(lang),
            &quiz(),
            &mut input.as_bytes(),
            &mut out,
            echo,
        )
        .expect("session");
        (outcome, String::from_utf8(out).expect("utf-8"))
    }

    #[test]
    fn a_session_gives_feedback_and_asks_again_after_a_bad_answer() {
        let (outcome, text) = session(Lang::EnUs, "x\nb\n1\n", true);
        assert_eq!(outcome, Outcome::Answered(vec![1, 0]));
        for expected in [
            "Light and leaves",
            "Question 1 of 2: What colour does chlorophyll reflect?",
            "   A. Red\n   B. Green\n   C. Blue\n   D. Violet\n",
            "Answer with A, B, C or D.",
            "✓ Correct!",
            "Why: It absorbs red and blue",
            "Source: photosynthesis.txt",
            "✗ Not quite: the answer was D. Chloroplast",
        ] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        // The bad answer was asked again: two prompts for the first question.
        let first = text
            .split("Question 2")
            .next()
            .unwrap_or_default()
            .matches("Your answer")
            .count();
        assert_eq!(first, 2, "{text}");
        // Piped answers are echoed after the prompt.
        assert!(text.contains("Your answer (A–D): b\n"), "{text}");
    }

    #[test]
    fn a_session_speaks_french() {
        let (outcome, text) = session(Lang::FrFr, "B\nD\n", false);
        assert_eq!(outcome, Outcome::Answered(vec![1, 3]));
        assert!(text.contains("Question 1 sur 2"), "{text}");
        assert!(text.contains("Bonne réponse"), "{text}");
        assert!(!text.contains("Your answer"), "{text}");
    }

    #[test]
    fn the_end_of_input_stops_the_session() {
        let (outcome, _) = session(Lang::EnUs, "b\n", false);
        assert_eq!(outcome, Outcome::Stopped);
        let (outcome, _) = session(Lang::EnUs, "", false);
        assert_eq!(outcome, Outcome::Stopped);
        // Bad answers only, then the end: stopped, not answered.
        let (outcome, text) = session(Lang::EnUs, "z\nzz\n", false);
        assert_eq!(outcome, Outcome::Stopped);
        assert_eq!(text.matches("Answer with A, B, C or D.").count(), 2);
    }
}
