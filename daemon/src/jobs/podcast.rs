//! The podcast generator: an outline, a transcript written segment by segment, speech clip by
//! clip (in parallel up to the core count), and one WAV with short pauses between turns.
//!
//! Every step is a checkpoint with its progress, so an attempt resumed after a crash, a
//! restart or a retry asks the model nothing it already answered and records no clip already
//! recorded:
//!
//! | checkpoint    | data                                          | stage             |
//! |---------------|-----------------------------------------------|-------------------|
//! | `outline`     | `{text: Markdown, outline: Outline}`          | `stage-outline`   |
//! | `segment-<i>` | `{turns: [Turn]}`                             | `stage-transcript`|
//! | `transcript`  | `{text: Markdown, turns: [Turn]}`             | (with the last segment) |
//! | `clip-<i>`    | `{file, rate, samples}` (the file in `clips/`) | `stage-speech`    |
//!
//! then `stage-combine` while the clips become `podcast.wav`. With the speech engine `none`
//! the podcast is its transcript, and says so (`audio: null`).
//!
//! The percentage is the whole episode's, known from the start ([`Shares`]): the outline is
//! 10 %, the script 55 % (each segment an equal part), the voices 30 % (each clip an equal
//! part, once the script says how many there are) and the combining 5 %; without speech the
//! outline is 15 % and the script 85 %. So the bar only moves forward.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use mentor_shared::artifacts::{Audio, Outline, Podcast, SourceRef, Turn};
use mentor_shared::i18n::{self, Lang};
use mentor_shared::jobs::{JobKind, JobSpec, PodcastFormat, PodcastLength};
use mentor_shared::t;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::files::{ArtifactFiles, CLIPS_DIR, PODCAST_FILE};
use super::quality::{self, Echo, Flaw, Kind, Part};
use super::{api_error, Kit, Material, Params, Problem, Step};
use crate::chat::prompt::{
    multi_line, one_line, PODCAST_OUTLINE_TEMPLATE, PODCAST_SEGMENT_TEMPLATE,
};
use crate::llm::JsonSchema;
use crate::queue::{JobContext, JobError, JobHandler};
use crate::tts::{wav, Speech, TtsError};

/// Silence between two turns.
pub const PAUSE_MS: u32 = 350;
/// Longest turn kept, in characters.
const TURN_MAX_CHARS: usize = 1_500;
/// Longest turn the schema lets the model write (a turn is one or a few sentences; bounded,
/// a segment's answer fits the window with room for its repair).
const TURN_SCHEMA_CHARS: usize = 600;
/// Longest title (the episode's, a segment's) kept, in characters.
const TITLE_MAX_CHARS: usize = 200;
/// Longest outline point kept, in characters.
const POINT_MAX_CHARS: usize = 500;
/// Turns of the previous segment shown when writing the next one.
const PREVIOUS_TURNS: usize = 3;

/// The podcast job.
pub struct PodcastHandler {
    kit: Kit,
    speech: Speech,
    files: ArtifactFiles,
}

impl PodcastHandler {
    /// A handler writing with `kit`, speaking with `speech`, storing under `files`.
    pub fn new(kit: Kit, speech: Speech, files: ArtifactFiles) -> PodcastHandler {
        PodcastHandler { kit, speech, files }
    }
}

/// The speakers' names: two hosts for a deep dive, the first alone for a brief.
pub fn hosts(lang: Lang, format: PodcastFormat) -> Vec<String> {
    let names = match lang {
        Lang::EnUs => ["Alex", "Sam"],
        Lang::FrFr => ["Camille", "Hugo"],
    };
    let n = match format {
        PodcastFormat::DeepDive => 2,
        PodcastFormat::Brief => 1,
    };
    names[..n].iter().map(|s| s.to_string()).collect()
}

/// Segments of an episode of this length.
pub fn segment_count(length: PodcastLength) -> usize {
    match length {
        PodcastLength::Short => 2,
        PodcastLength::Default => 4,
        PodcastLength::Long => 6,
    }
}

fn format_id(format: PodcastFormat) -> &'static str {
    match format {
        PodcastFormat::DeepDive => "deep_dive",
        PodcastFormat::Brief => "brief",
    }
}

fn outline_schema(segments: usize) -> JsonSchema {
    JsonSchema {
        name: "podcast_outline".into(),
        schema: json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["title", "segments"],
            "properties": {
                "title": { "type": "string", "maxLength": 120 },
                "segments": {
                    "type": "array",
                    "minItems": segments,
                    "maxItems": segments,
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["title", "points"],
                        "properties": {
                            "title": { "type": "string", "maxLength": 120 },
                            "points": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 4,
                                "items": { "type": "string", "maxLength": 300 }
                            }
                        }
                    }
                }
            }
        }),
    }
}

fn segment_schema(hosts: &[String]) -> JsonSchema {
    JsonSchema {
        name: "podcast_segment".into(),
        schema: json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["turns"],
            "properties": {
                "turns": {
                    "type": "array",
                    "minItems": hosts.len(),
                    "maxItems": if hosts.len() > 1 { 8 } else { 6 },
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["speaker", "text"],
                        "properties": {
                            "speaker": { "type": "string", "enum": hosts },
                            "text": { "type": "string", "maxLength": TURN_SCHEMA_CHARS }
                        }
                    }
                }
            }
        }),
    }
}

/// Checks the outline as it will be kept (see [`clean_outline`]), so text that cleaning
/// empties (control characters) counts as missing.
fn validate_outline(o: &Outline, segments: usize) -> Result<(), String> {
    if one_line(&o.title, TITLE_MAX_CHARS).is_empty() {
        return Err("the title is empty".into());
    }
    if o.segments.len() < segments {
        return Err(format!(
            "{segments} segments were asked for, the outline has {}",
            o.segments.len()
        ));
    }
    for (i, s) in o.segments.iter().take(segments).enumerate() {
        if one_line(&s.title, TITLE_MAX_CHARS).is_empty() {
            return Err(format!("segment {} has no title", i + 1));
        }
        if s.points
            .iter()
            .all(|p| one_line(p, POINT_MAX_CHARS).is_empty())
        {
            return Err(format!("segment {} has no points", i + 1));
        }
    }
    Ok(())
}

/// The quality gates of an outline (once its form is right): a title that names the subject,
/// points that are words (not soup, not the instructions, not the same point twice), in the
/// episode's language.
fn gate_outline(
    o: &Outline,
    segments: usize,
    material: &Material,
    echo: &Echo,
) -> Result<(), Flaw> {
    let title = one_line(&o.title, TITLE_MAX_CHARS);
    quality::title(&title, &material.subject)?;
    echo.check(&Part::Title, &title)?;
    let part = Part::Outline;
    let mut points: Vec<String> = Vec::new();
    for s in o.segments.iter().take(segments) {
        let heading = one_line(&s.title, TITLE_MAX_CHARS);
        quality::soup(&part, &heading)?;
        echo.check(&part, &heading)?;
        for p in &s.points {
            let point = one_line(p, POINT_MAX_CHARS);
            if point.is_empty() {
                continue;
            }
            let before: Vec<&str> = points.iter().map(String::as_str).collect();
            quality::says(&part, &point, 2)?;
            quality::degenerate(&part, &point, &before)?;
            echo.check(&part, &point)?;
            if points.iter().any(|e| quality::same_item(e, &point)) {
                return Err(Flaw {
                    part,
                    kind: Kind::Duplicate(Part::Outline),
                });
            }
            points.push(point);
        }
    }
    quality::language(&part, &points.join(". "), material.lang)
}

/// The outline as stored: `segments` segments, titles and points cleaned and capped, blank
/// points dropped.
fn clean_outline(mut outline: Outline, segments: usize) -> Outline {
    outline.title = one_line(&outline.title, TITLE_MAX_CHARS);
    outline.segments.truncate(segments);
    for s in &mut outline.segments {
        s.title = one_line(&s.title, TITLE_MAX_CHARS);
        s.points = s
            .points
            .iter()
            .map(|p| one_line(p, POINT_MAX_CHARS))
            .filter(|p| !p.is_empty())
            .collect();
    }
    outline
}

/// The model's answer for one segment.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct SegmentTurns {
    turns: Vec<Turn>,
}

/// The host a speaker's name designates (case and spacing ignored).
fn host_index(hosts: &[String], speaker: &str) -> Option<usize> {
    let key = speaker.trim().to_lowercase();
    hosts.iter().position(|h| h.to_lowercase() == key)
}

/// The text of a turn as it will be kept (see [`clean_turns`]).
fn turn_text(text: &str) -> String {
    one_line(text, TURN_MAX_CHARS)
}

/// Checks the turns of segment `number` as they will be kept, so a turn that cleaning
/// empties (control characters) counts as saying nothing.
fn validate_segment(s: &SegmentTurns, hosts: &[String], number: usize) -> Result<(), Problem> {
    let flaw = |kind| {
        Problem::Flaw(Flaw {
            part: Part::Segment(number),
            kind,
        })
    };
    if s.turns.iter().all(|t| turn_text(&t.text).is_empty()) {
        return Err(flaw(Kind::Empty));
    }
    for (i, t) in s.turns.iter().enumerate() {
        if host_index(hosts, &t.speaker).is_none() {
            return Err(format!(
                "turn {} is spoken by \"{}\"; the speaker must be one of: {}",
                i + 1,
                t.speaker,
                hosts.join(", ")
            )
            .into());
        }
        if turn_text(&t.text).is_empty() {
            return Err(format!("turn {} says nothing", i + 1).into());
        }
    }
    if hosts.len() > 1 {
        let speakers: std::collections::HashSet<usize> = s
            .turns
            .iter()
            .filter_map(|t| host_index(hosts, &t.speaker))
            .collect();
        if speakers.len() < hosts.len() {
            return Err(flaw(Kind::OneVoice));
        }
    }
    Ok(())
}

/// What a segment's gates compare it with: its place, the episode's length range and the
/// segments written before it.
struct SegmentPlace<'a> {
    number: usize,
    count: usize,
    range: (f64, f64),
    earlier: &'a [Vec<Turn>],
}

impl SegmentPlace<'_> {
    /// The segment's share of the episode's range, in minutes.
    fn range(&self) -> (f64, f64) {
        let n = self.count.max(1) as f64;
        (self.range.0 / n, self.range.1 / n)
    }

    /// The words a segment should have: the middle of its share.
    fn words(&self) -> usize {
        let (least, most) = self.range();
        ((least + most) / 2.0 * quality::WORDS_PER_MINUTE).round() as usize
    }
}

/// The quality gates of a segment (once its form is right): speakable words, no repetition
/// (of its own sentences, or of earlier segments'), no copy of the instructions, the
/// episode's language, and its share of the episode's length.
fn gate_segment(
    s: &SegmentTurns,
    place: &SegmentPlace,
    material: &Material,
    echo: &Echo,
) -> Result<(), Flaw> {
    let part = Part::Segment(place.number);
    let texts: Vec<String> = s.turns.iter().map(|t| turn_text(&t.text)).collect();
    for t in &texts {
        quality::unspeakable(&part, t)?;
    }
    let text = texts.join("\n");
    let earlier: Vec<String> = place
        .earlier
        .iter()
        .map(|turns| {
            turns
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let earlier: Vec<&str> = earlier.iter().map(String::as_str).collect();
    quality::degenerate(&part, &text, &earlier)?;
    echo.check(&part, &text)?;
    quality::about_the_subject(&part, &text)?;
    quality::language(&part, &text, material.lang)?;
    quality::length(&part, quality::spoken_minutes(&text), place.range())
}

/// The turns as stored: speakers' names as the hosts spell them, text cleaned and capped.
fn clean_turns(s: SegmentTurns, hosts: &[String]) -> Vec<Turn> {
    s.turns
        .into_iter()
        .filter_map(|t| {
            let host = host_index(hosts, &t.speaker)?;
            let text = turn_text(&t.text);
            (!text.is_empty()).then(|| Turn {
                speaker: hosts[host].clone(),
                text,
            })
        })
        .collect()
}

/// The transcript as Markdown: the title, each segment's heading, every turn with its
/// speaker in bold.
pub fn transcript_markdown(outline: &Outline, segments: &[Vec<Turn>]) -> String {
    let mut md = format!("# {}\n", outline.title.trim());
    for (i, turns) in segments.iter().enumerate() {
        if let Some(s) = outline.segments.get(i) {
            md.push_str(&format!("\n## {}. {}\n", i + 1, s.title.trim()));
        }
        for t in turns {
            md.push_str(&format!("\n**{}:** {}\n", t.speaker, t.text));
        }
    }
    md
}

/// The episode's steps as shares of the whole job, in percent.
#[derive(Debug, Clone, Copy)]
struct Shares {
    outline: f64,
    script: f64,
    voices: f64,
    segments: usize,
}

impl Shares {
    fn new(segments: usize, speaks: bool) -> Shares {
        let (outline, script, voices) = if speaks {
            (10.0, 55.0, 30.0)
        } else {
            (15.0, 85.0, 0.0)
        };
        Shares {
            outline,
            script,
            voices,
            segments: segments.max(1),
        }
    }

    /// Done once the outline and `segments` segments are written.
    fn script(&self, segments: usize) -> u8 {
        let part = self.script * segments.min(self.segments) as f64 / self.segments as f64;
        (self.outline + part) as u8
    }

    /// Done once `clips` of `total` clips are recorded.
    fn voices(&self, clips: usize, total: usize) -> u8 {
        let part = match total {
            0 => self.voices,
            _ => self.voices * clips.min(total) as f64 / total as f64,
        };
        (self.outline + self.script + part) as u8
    }
}

/// How far the spoken audio may stray from the episode's range (the speech engine's rate is
/// not the gates' [`quality::WORDS_PER_MINUTE`], and turns have pauses between them).
const AUDIO_SLACK: (f64, f64) = (0.6, 1.4);

/// Checks the recorded episode's length against its range, with [`AUDIO_SLACK`]: speech
/// that reads out what the words did not show (digits, symbols) is caught here.
fn audio_length(duration_ms: u64, (least, most): (f64, f64)) -> Result<(), JobError> {
    let minutes = duration_ms as f64 / 60_000.0;
    let range = (least * AUDIO_SLACK.0, most * AUDIO_SLACK.1);
    quality::length(&Part::Episode, minutes, range).map_err(|flaw| {
        let l = i18n::ui();
        JobError::Permanent(t!(
            l,
            "quality-failed",
            kind = "podcast",
            reason = flaw.localize(l)
        ))
    })
}

/// Where a clip's file goes.
fn clip_name(i: usize) -> String {
    format!("clip-{i:04}.wav")
}

/// A clip's checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClipDone {
    file: String,
    rate: u32,
    samples: u64,
}

fn tts_error(e: TtsError) -> JobError {
    match e {
        TtsError::Cancelled => JobError::Cancelled,
        e if e.is_transient() => JobError::Transient(e.localize(i18n::ui())),
        e => JobError::Permanent(e.localize(i18n::ui())),
    }
}

fn write_error(dir: &Path, e: &dyn std::fmt::Display) -> JobError {
    JobError::Transient(t!(
        i18n::ui(),
        "podcast-write-failed",
        path = dir.display().to_string(),
        reason = e.to_string()
    ))
}

impl PodcastHandler {
    /// The outline: from its checkpoint, or asked for and recorded.
    async fn outline(
        &self,
        ctx: &JobContext,
        material: &Material,
        format: PodcastFormat,
        hosts: &[String],
        (segments, shares): (usize, Shares),
    ) -> Result<Outline, JobError> {
        #[derive(Deserialize)]
        struct Saved {
            outline: Outline,
        }
        if let Some(saved) = ctx.checkpoint_as::<Saved>("outline") {
            return Ok(saved.outline);
        }
        ctx.progress_at(0, 1, "stage-outline", 0).await?;
        let system = material
            .prompts
            .job(
                PODCAST_OUTLINE_TEMPLATE,
                context! {
                    language => material.language,
                    topic => one_line(&ctx.job().topic, 300),
                    notebook_title => one_line(&material.notebook_title, 200),
                    format => format_id(format),
                    hosts,
                    segments,
                    passages => &material.passages,
                },
            )
            .map_err(|e| api_error(&e))?;
        let topic = ctx.job().topic.clone();
        let echo = Echo::new(
            &system,
            &[&material.passages, &topic, &material.notebook_title],
        );
        let schema = outline_schema(segments);
        let step = Step {
            system,
            ask: "Write the outline now.".into(),
            schema: &schema,
            max_tokens: None,
            budget: material.budget,
        };
        let outline: Outline = self
            .kit
            .step(ctx, JobKind::Podcast, step, |o: &Outline| {
                validate_outline(o, segments)?;
                gate_outline(o, segments, material, &echo)?;
                Ok(())
            })
            .await?;
        let outline = clean_outline(outline, segments);
        let data = json!({ "text": outline.markdown(), "outline": outline });
        ctx.step_done_at(
            "outline",
            &data,
            (1, segments as u32, "stage-transcript"),
            shares.script(0),
        )
        .await?;
        Ok(outline)
    }

    /// Every segment's turns: from their checkpoints, or asked for one after the other.
    async fn transcript(
        &self,
        ctx: &JobContext,
        material: &Material,
        format: PodcastFormat,
        hosts: &[String],
        (outline, shares, range): (&Outline, Shares, (f64, f64)),
    ) -> Result<Vec<Vec<Turn>>, JobError> {
        let count = outline.segments.len();
        let outline_md = multi_line(&outline.markdown(), 8_000);
        let mut segments: Vec<Vec<Turn>> = Vec::with_capacity(count);
        for (i, segment) in outline.segments.iter().enumerate() {
            let name = format!("segment-{i}");
            if let Some(saved) = ctx.checkpoint_as::<SegmentTurns>(&name) {
                segments.push(saved.turns);
                continue;
            }
            ctx.check()?;
            let previous = segments
                .last()
                .map(|turns| {
                    let start = turns.len().saturating_sub(PREVIOUS_TURNS);
                    turns[start..]
                        .iter()
                        .map(|t| format!("{}: {}", t.speaker, t.text))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            let place = SegmentPlace {
                number: i + 1,
                count,
                range,
                earlier: &segments,
            };
            let system = material
                .prompts
                .job(
                    PODCAST_SEGMENT_TEMPLATE,
                    context! {
                        language => material.language,
                        format => format_id(format),
                        hosts,
                        title => &outline.title,
                        outline => &outline_md,
                        number => i + 1,
                        count,
                        segment_title => &segment.title,
                        points => &segment.points,
                        previous => multi_line(&previous, 3 * TURN_MAX_CHARS),
                        words => place.words(),
                        passages => &material.passages,
                    },
                )
                .map_err(|e| api_error(&e))?;
            let points = segment.points.join("\n");
            let echo = Echo::new(
                &system,
                &[
                    &material.passages,
                    &outline_md,
                    &previous,
                    &points,
                    &outline.title,
                ],
            );
            let schema = segment_schema(hosts);
            let step = Step {
                system,
                ask: format!("Write segment {} now.", i + 1),
                schema: &schema,
                max_tokens: None,
                budget: material.budget,
            };
            let answer: SegmentTurns = self
                .kit
                .step(ctx, JobKind::Podcast, step, |s: &SegmentTurns| {
                    validate_segment(s, hosts, i + 1)?;
                    gate_segment(s, &place, material, &echo)?;
                    Ok(())
                })
                .await?;
            let turns = clean_turns(answer, hosts);
            let data = json!({ "turns": turns });
            let next = (i + 2).min(count) as u32;
            ctx.step_done_at(
                &name,
                &data,
                (next, count as u32, "stage-transcript"),
                shares.script(i + 1),
            )
            .await?;
            segments.push(turns);
        }
        if ctx.checkpoint_data("transcript").is_none() {
            let all: Vec<&Turn> = segments.iter().flatten().collect();
            let data = json!({ "text": transcript_markdown(outline, &segments), "turns": all });
            ctx.checkpoint("transcript", &data).await?;
        }
        Ok(segments)
    }

    /// Records every turn not recorded yet, `speech.parallel()` at a time, and hands every
    /// clip to `assembly` (those recorded by an earlier attempt as their files).
    async fn speak_all(
        &self,
        ctx: &JobContext,
        turns: &[Turn],
        voices: &[String],
        hosts: &[String],
        clips_dir: &Path,
        (assembly, shares): (&Assembly, Shares),
    ) -> Result<(), JobError> {
        let total = turns.len() as u32;
        let paths: Vec<PathBuf> = (0..turns.len())
            .map(|i| clips_dir.join(clip_name(i)))
            .collect();
        // A clip counts as done when its checkpoint and its file are both there.
        let (todo, done): (Vec<usize>, Vec<usize>) = (0..turns.len()).partition(|&i| {
            ctx.checkpoint_as::<ClipDone>(&format!("clip-{i}"))
                .is_none()
                || !paths[i].is_file()
        });
        for &i in &done {
            assembly.add(i, Piece::OnDisk(paths[i].clone()));
        }
        if todo.is_empty() {
            return Ok(());
        }
        let done = done.len() as u32;
        ctx.progress_at(
            done,
            total,
            "stage-speech",
            shares.voices(done as usize, total as usize),
        )
        .await?;
        // Progress is committed in order (a clip finishing first does not report "5" before
        // another's "4").
        let order = Arc::new(tokio::sync::Mutex::new(done));
        let token = ctx.cancelled().clone();
        futures::stream::iter(todo)
            .map(|i| {
                let order = order.clone();
                let token = token.clone();
                let path = paths[i].clone();
                let turn = &turns[i];
                let voice = host_index(hosts, &turn.speaker)
                    .and_then(|h| voices.get(h % voices.len().max(1)))
                    .or(voices.first())
                    .cloned()
                    .unwrap_or_default();
                async move {
                    let clip = self
                        .speech
                        .speak(&turn.text, &voice, &path, &token)
                        .await
                        .map_err(tts_error)?;
                    let mut done = order.lock().await;
                    *done += 1;
                    let data = ClipDone {
                        file: clip_name(i),
                        rate: clip.rate,
                        samples: clip.samples.len() as u64,
                    };
                    let percent = shares.voices(*done as usize, total as usize);
                    ctx.step_done_at(
                        &format!("clip-{i}"),
                        &data,
                        (*done, total, "stage-speech"),
                        percent,
                    )
                    .await?;
                    assembly.add(i, Piece::Recorded(clip));
                    Ok::<_, JobError>(())
                }
            })
            .buffer_unordered(self.speech.parallel().max(1))
            .try_collect::<()>()
            .await
    }
}

/// A turn's clip, for the [`Assembly`]: just recorded, or the file an earlier attempt wrote.
enum Piece {
    Recorded(wav::Clip),
    OnDisk(PathBuf),
}

/// The podcast's WAV, written while its clips are being recorded: on a blocking thread, each
/// clip is appended (after a pause) as soon as every clip before it is in, so that when the
/// last one is recorded only its own samples, the header and a sync remain to be done.
///
/// The file is `out.part` until [`Assembly::finish`] renames it to `out`. An assembly that
/// ends short (speech failed or was cancelled) removes its part file before `finish` returns.
struct Assembly {
    clips: std::sync::mpsc::Sender<(usize, Piece)>,
    done: tokio::task::JoinHandle<Result<Assembled, String>>,
}

/// The podcast's WAV once assembled.
struct Assembled {
    duration_ms: u64,
    rate: u32,
}

impl Assembly {
    /// Starts writing `out.part` for `count` clips.
    fn start(out: PathBuf, count: usize) -> Assembly {
        let (clips, pieces) = std::sync::mpsc::channel();
        let done = tokio::task::spawn_blocking(move || {
            let part = super::files::part_path(&out);
            let assembled = assemble(&pieces, count, &part).and_then(|a| {
                std::fs::rename(&part, &out)
                    .map_err(|e| e.to_string())
                    .map(|()| a)
            });
            if assembled.is_err() {
                let _ = std::fs::remove_file(&part);
            }
            assembled
        });
        Assembly { clips, done }
    }

    /// Hands over turn `i`'s clip (in any order). When the assembly has failed already, the
    /// clip is dropped: [`Assembly::finish`] says why.
    fn add(&self, i: usize, piece: Piece) {
        let _ = self.clips.send((i, piece));
    }

    /// Waits for the last clips to be written and the file to be in place.
    async fn finish(self) -> Result<Assembled, String> {
        drop(self.clips);
        self.done.await.map_err(|e| e.to_string())?
    }
}

/// Writes the clips coming from `pieces` in turn order to `part`, until the channel closes.
/// Blocking.
fn assemble(
    pieces: &std::sync::mpsc::Receiver<(usize, Piece)>,
    count: usize,
    part: &Path,
) -> Result<Assembled, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let at = |e: std::io::Error| format!("{}: {e}", part.display());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(part)
        .map_err(at)?;
    let mut writer =
        wav::Writer::new(std::io::BufWriter::with_capacity(1 << 16, file), PAUSE_MS).map_err(at)?;
    let mut waiting = std::collections::BTreeMap::new();
    let mut next = 0;
    let mut busy = std::time::Duration::ZERO;
    while let Ok((i, piece)) = pieces.recv() {
        let started = std::time::Instant::now();
        waiting.insert(i, piece);
        while let Some(piece) = waiting.remove(&next) {
            let clip = match piece {
                Piece::Recorded(clip) => clip,
                Piece::OnDisk(path) => {
                    let bytes =
                        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    wav::Clip::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?
                }
            };
            writer.push(&clip).map_err(at)?;
            next += 1;
        }
        busy += started.elapsed();
    }
    let closed = std::time::Instant::now();
    if next < count {
        return Err(format!("{next} of {count} clips"));
    }
    let (out, rate, samples) = writer.finish().map_err(at)?;
    out.into_inner()
        .map_err(|e| at(e.into_error()))?
        .sync_all()
        .map_err(at)?;
    let duration_ms = samples * 1000 / u64::from(rate.max(1));
    tracing::info!(
        clips = count,
        duration_ms,
        while_speaking_ms = busy.as_secs_f64() * 1000.0,
        after_ms = closed.elapsed().as_secs_f64() * 1000.0,
        "podcast combined"
    );
    Ok(Assembled { duration_ms, rate })
}

impl JobHandler for PodcastHandler {
    fn kind(&self) -> JobKind {
        JobKind::Podcast
    }

    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<serde_json::Value, JobError>> {
        Box::pin(async move {
            let params = Params::of(ctx)?;
            let JobSpec::Podcast { format, length } = params.spec else {
                return Err(JobError::Permanent(t!(
                    i18n::ui(),
                    "job-bad-kind",
                    kind = "podcast"
                )));
            };
            let lang = params.lang();
            let hosts = hosts(lang, format);
            let segments = segment_count(length);
            let range = quality::length_range(format, length);
            let material = Material::gather(&self.kit, ctx, lang).await?;
            let shares = Shares::new(segments, self.speech.speaks());
            let outline = self
                .outline(ctx, &material, format, &hosts, (segments, shares))
                .await?;
            let by_segment = self
                .transcript(ctx, &material, format, &hosts, (&outline, shares, range))
                .await?;
            let transcript = transcript_markdown(&outline, &by_segment);
            let turns: Vec<Turn> = by_segment.into_iter().flatten().collect();
            let sources: Vec<SourceRef> = material.cited(1..=material.refs.len());
            let mut podcast = Podcast {
                title: outline.title.clone(),
                format,
                language: lang.tag().to_string(),
                speakers: hosts.clone(),
                outline,
                turns,
                transcript,
                audio: None,
                sources,
            };
            if !self.speech.speaks() {
                return serde_json::to_value(&podcast)
                    .map_err(|e| JobError::Permanent(e.to_string()));
            }
            self.speech.check().await.map_err(tts_error)?;
            let (Some(notebook), Some(artifact)) = (ctx.notebook(), ctx.job().artifact_id) else {
                return Err(JobError::Permanent(t!(i18n::ui(), "job-no-notebook")));
            };
            let dir = self.files.artifact_dir(notebook, artifact);
            let clips_dir = dir.join(CLIPS_DIR);
            ArtifactFiles::create_dir(&clips_dir).map_err(|e| write_error(&dir, &e))?;
            let voices = self.speech.voices(lang).to_vec();
            let out = dir.join(PODCAST_FILE);
            let assembly = Assembly::start(out.clone(), podcast.turns.len());
            let spoken = self
                .speak_all(
                    ctx,
                    &podcast.turns,
                    &voices,
                    &hosts,
                    &clips_dir,
                    (&assembly, shares),
                )
                .await
                .and_then(|()| ctx.check());
            if let Err(e) = spoken {
                // The part file is gone once the assembly has ended.
                let _ = assembly.finish().await;
                return Err(e);
            }
            let combining = shares.voices(1, 1);
            ctx.progress_at(0, 1, "stage-combine", combining).await?;
            let Assembled {
                duration_ms,
                rate: sample_rate,
            } = assembly.finish().await.map_err(|reason| {
                JobError::Permanent(t!(i18n::ui(), "podcast-audio-failed", reason = reason))
            })?;
            audio_length(duration_ms, range)?;
            ctx.progress_at(1, 1, "stage-combine", 100).await?;
            if let Err(e) = std::fs::remove_dir_all(&clips_dir) {
                tracing::warn!(dir = %clips_dir.display(), error = %e, "cannot remove the clips");
            }
            podcast.audio = Some(Audio {
                path: out.display().to_string(),
                duration_ms,
                sample_rate,
                engine: self.speech.engine().to_string(),
                voices: hosts
                    .iter()
                    .enumerate()
                    .map(|(i, _)| {
                        voices
                            .get(i % voices.len().max(1))
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect(),
            });
            serde_json::to_value(&podcast).map_err(|e| JobError::Permanent(e.to_string()))
        })
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use mentor_shared::artifacts::OutlineSegment;

    fn turn(speaker: &str, text: &str) -> Turn {
        Turn {
            speaker: speaker.into(),
            text: text.into(),
        }
    }

    #[test]
    fn segments_need_known_speakers_both_hosts_and_words() {
        let hosts = hosts(Lang::EnUs, PodcastFormat::DeepDive);
        let ok = SegmentTurns {
            turns: vec![turn("alex ", "Hi."), turn("Sam", "Hello.")],
        };
        validate_segment(&ok, &hosts, 1).unwrap();
        let cleaned = clean_turns(ok, &hosts);
        assert_eq!(cleaned[0].speaker, "Alex");
        let empty = SegmentTurns { turns: vec![] };
        assert!(validate_segment(&empty, &hosts, 1)
            .unwrap_err()
            .to_string()
            .contains("segment 1 is empty"));
        let stranger = SegmentTurns {
            turns: vec![turn("Alex", "Hi."), turn("Bob", "Yo.")],
        };
        assert!(validate_segment(&stranger, &hosts, 1)
            .unwrap_err()
            .to_string()
            .contains("\"Bob\""));
        let alone = SegmentTurns {
            turns: vec![turn("Alex", "Hi."), turn("Alex", "Me again.")],
        };
        assert!(validate_segment(&alone, &hosts, 1)
            .unwrap_err()
            .to_string()
            .contains("only one host"));
        let brief = hosts_brief();
        let solo = SegmentTurns {
            turns: vec![turn("Camille", "Bonjour.")],
        };
        validate_segment(&solo, &brief, 1).unwrap();
    }

    fn hosts_brief() -> Vec<String> {
        hosts(Lang::FrFr, PodcastFormat::Brief)
    }

    #[test]
    fn outlines_need_enough_segments_and_the_transcript_names_speakers() {
        let outline = Outline {
            title: "Cells".into(),
            segments: vec![
                OutlineSegment {
                    title: "Intro".into(),
                    points: vec!["What a cell is".into()],
                },
                OutlineSegment {
                    title: "Membranes".into(),
                    points: vec![" ".into()],
                },
            ],
        };
        assert!(validate_outline(&outline, 3)
            .unwrap_err()
            .contains("3 segments"));
        assert!(validate_outline(&outline, 2)
            .unwrap_err()
            .contains("segment 2 has no points"));
        validate_outline(&outline, 1).unwrap();
        let md = transcript_markdown(
            &outline,
            &[vec![turn("Alex", "Welcome."), turn("Sam", "Hi!")]],
        );
        assert_eq!(
            md,
            "# Cells\n\n## 1. Intro\n\n**Alex:** Welcome.\n\n**Sam:** Hi!\n"
        );
        assert_eq!(segment_count(PodcastLength::Short), 2);
        assert_eq!(segment_count(PodcastLength::Long), 6);
    }
}
