//! `mentor generate`: start a podcast, quiz or study guide in the background. Without `--wait`
//! it prints the job id at once; with it, it follows the job exactly as `mentor jobs watch`
//! does and exits with the job's outcome.

use clap::{Args, Subcommand, ValueEnum};
use mentor_shared::i18n;
use mentor_shared::jobs::{
    Difficulty, JobRequest, JobSpec, JobSubmitted, PodcastFormat, PodcastLength, TestScript,
    DEFAULT_QUIZ_QUESTIONS,
};
use mentor_shared::t;

use super::{jobs, output, Env};
use crate::client::{self, answer, ctx};
use crate::error::CliError;

/// `mentor generate …`
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Generate a podcast from a notebook's sources.
    Podcast(PodcastArgs),
    /// Generate a multiple-choice quiz.
    Quiz(QuizArgs),
    /// Generate a study guide.
    StudyGuide(SubmitArgs),
    /// Submit a scripted test job (used by the test suite).
    #[command(hide = true)]
    Test(TestArgs),
}

/// What every generation takes.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Notebook id or title.
    #[arg(short, long)]
    pub notebook: String,
    /// Topic or focus (default: the whole notebook).
    #[arg(long)]
    pub topic: Option<String>,
    /// Follow the job until it ends and exit with its outcome.
    #[arg(long)]
    pub wait: bool,
}

/// Arguments of `generate podcast`.
#[derive(Debug, Args)]
pub struct PodcastArgs {
    #[command(flatten)]
    pub submit: SubmitArgs,
    /// Two hosts in conversation, or one speaker.
    #[arg(long, value_enum, default_value_t = FormatArg::DeepDive,
          hide_default_value = true, hide_possible_values = true)]
    pub format: FormatArg,
    /// How long it runs.
    #[arg(long, value_enum, default_value_t = LengthArg::Default,
          hide_default_value = true, hide_possible_values = true)]
    pub length: LengthArg,
}

/// Arguments of `generate quiz`.
#[derive(Debug, Args)]
pub struct QuizArgs {
    #[command(flatten)]
    pub submit: SubmitArgs,
    /// Number of questions.
    #[arg(long, default_value_t = DEFAULT_QUIZ_QUESTIONS, value_parser = super::usage::number_in(1, 50),
          hide_default_value = true)]
    pub questions: u32,
    /// How hard the questions are.
    #[arg(long, value_enum, default_value_t = DifficultyArg::Medium,
          hide_default_value = true, hide_possible_values = true)]
    pub difficulty: DifficultyArg,
}

/// Arguments of `generate test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub submit: SubmitArgs,
    /// The script, as JSON (`{"steps": 3, "step_ms": 50}`).
    #[arg(long, value_parser = parse_script)]
    pub script: TestScript,
}

/// `--format` of a podcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Two hosts in conversation.
    DeepDive,
    /// One speaker.
    Brief,
}

/// `--length` of a podcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LengthArg {
    /// A few segments.
    Short,
    /// The usual.
    Default,
    /// More segments.
    Long,
}

/// `--difficulty` of a quiz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DifficultyArg {
    /// Recall.
    Easy,
    /// Understanding.
    Medium,
    /// Application.
    Hard,
}

impl From<FormatArg> for PodcastFormat {
    fn from(a: FormatArg) -> Self {
        match a {
            FormatArg::DeepDive => PodcastFormat::DeepDive,
            FormatArg::Brief => PodcastFormat::Brief,
        }
    }
}

impl From<LengthArg> for PodcastLength {
    fn from(a: LengthArg) -> Self {
        match a {
            LengthArg::Short => PodcastLength::Short,
            LengthArg::Default => PodcastLength::Default,
            LengthArg::Long => PodcastLength::Long,
        }
    }
}

impl From<DifficultyArg> for Difficulty {
    fn from(a: DifficultyArg) -> Self {
        match a {
            DifficultyArg::Easy => Difficulty::Easy,
            DifficultyArg::Medium => Difficulty::Medium,
            DifficultyArg::Hard => Difficulty::Hard,
        }
    }
}

/// Parses `--script`; a bad one is a usage error in the learner's language.
pub fn parse_script(s: &str) -> Result<TestScript, String> {
    serde_json::from_str(s).map_err(|e| {
        t!(
            i18n::ui(),
            "generate-test-bad-script",
            reason = e.to_string()
        )
    })
}

/// The submission a command asks for, and whether to wait for it.
fn request(cmd: GenerateCommand) -> (JobRequest, bool) {
    let (submit, spec) = match cmd {
        GenerateCommand::Podcast(a) => (
            a.submit,
            JobSpec::Podcast {
                format: a.format.into(),
                length: a.length.into(),
            },
        ),
        GenerateCommand::Quiz(a) => (
            a.submit,
            JobSpec::Quiz {
                questions: a.questions,
                difficulty: a.difficulty.into(),
            },
        ),
        GenerateCommand::StudyGuide(a) => (a, JobSpec::StudyGuide),
        GenerateCommand::Test(a) => (a.submit, JobSpec::Test(a.script)),
    };
    let request = JobRequest {
        notebook: submit.notebook,
        topic: submit.topic.unwrap_or_default().trim().to_string(),
        // The artifact speaks the learner's language, which is this process's.
        language: Some(i18n::ui().lang().tag().to_string()),
        spec,
    };
    (request, submit.wait)
}

/// Runs a generate command.
pub async fn run(env: &Env, cmd: GenerateCommand) -> Result<(), CliError> {
    env.config()?;
    let (request, wait) = request(cmd);
    let c = client::connect(&env.dirs).await?;
    let submitted = answer(c.rpc.job_submit(ctx(30), request).await)?;
    if env.json {
        if wait {
            // The first line of a JSON Lines stream; the job's lines follow.
            output::json_line("submitted", &submitted)?;
        } else {
            output::json(&submitted)?;
        }
    } else {
        print_submitted(&submitted);
    }
    if wait {
        jobs::follow(env, c, submitted.job.id.to_string()).await
    } else {
        Ok(())
    }
}

fn print_submitted(s: &JobSubmitted) {
    let l = i18n::ui();
    let id = s.job.id.to_string();
    outln!(
        "{}",
        t!(
            l,
            "generate-submitted",
            kind = s.job.kind.as_str(),
            job = id.as_str()
        )
    );
    if let Some(a) = &s.artifact_id {
        outln!(
            "{}",
            t!(l, "generate-submitted-artifact", artifact = a.to_string())
        );
    }
    outln!("{}", t!(l, "jobs-watch-hint", job = id.as_str()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> GenerateCommand {
        match Cli::try_parse_from(args) {
            Ok(Cli {
                command: Some(Command::Generate(g)),
                ..
            }) => g,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_a_deep_dive_and_five_medium_questions() {
        let (r, wait) = request(parse(&["mentor", "generate", "podcast", "-n", "Bio"]));
        assert_eq!(r.notebook, "Bio");
        assert_eq!(r.topic, "");
        assert!(!wait);
        assert_eq!(
            r.spec,
            JobSpec::Podcast {
                format: PodcastFormat::DeepDive,
                length: PodcastLength::Default
            }
        );
        let (r, _) = request(parse(&["mentor", "generate", "quiz", "--notebook", "Bio"]));
        assert_eq!(
            r.spec,
            JobSpec::Quiz {
                questions: 5,
                difficulty: Difficulty::Medium
            }
        );
    }

    #[test]
    fn options_reach_the_request() {
        let (r, wait) = request(parse(&[
            "mentor", "generate", "podcast", "-n", "Bio", "--topic", " Cells ", "--format",
            "brief", "--length", "long", "--wait",
        ]));
        assert!(wait);
        assert_eq!(r.topic, "Cells");
        assert_eq!(
            r.spec,
            JobSpec::Podcast {
                format: PodcastFormat::Brief,
                length: PodcastLength::Long
            }
        );
        let (r, _) = request(parse(&["mentor", "generate", "study-guide", "-n", "Bio"]));
        assert_eq!(r.spec, JobSpec::StudyGuide);
        assert!(r.language.is_some());
    }

    #[test]
    fn a_test_script_is_parsed_from_json() {
        let (r, _) = request(parse(&[
            "mentor",
            "generate",
            "test",
            "-n",
            "Bio",
            "--script",
            r#"{"steps": 3, "step_ms": 20, "fail": "transient", "fail_times": 1}"#,
        ]));
        let JobSpec::Test(script) = r.spec else {
            panic!("not a test job: {:?}", r.spec);
        };
        assert_eq!(script.steps, 3);
        assert_eq!(script.fail_times, 1);
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for args in [
            &[
                "mentor",
                "generate",
                "quiz",
                "-n",
                "Bio",
                "--questions",
                "0",
            ][..],
            &[
                "mentor",
                "generate",
                "quiz",
                "-n",
                "Bio",
                "--questions",
                "51",
            ],
            &[
                "mentor", "generate", "podcast", "-n", "Bio", "--format", "epic",
            ],
            &["mentor", "generate", "test", "-n", "Bio", "--script", "{"],
            &[
                "mentor",
                "generate",
                "test",
                "-n",
                "Bio",
                "--script",
                r#"{"stpes":1}"#,
            ],
            &["mentor", "generate", "quiz"],
        ] {
            let err = Cli::try_parse_from(args).expect_err("parsed");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
        assert!(parse_script(r#"{"stpes":1}"#)
            .unwrap_err()
            .contains("stpes"));
    }

    #[test]
    fn the_test_command_stays_out_of_the_help() {
        let mut cmd = crate::cli::help::localized_command();
        let help = cmd
            .find_subcommand_mut("generate")
            .map(|g| g.render_help().to_string())
            .unwrap_or_default();
        assert!(help.contains("study-guide"), "{help}");
        assert!(!help.contains("test"), "{help}");
    }
}
