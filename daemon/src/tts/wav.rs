//! WAV in and out: the podcast's clips come from espeak-ng (22,050 Hz mono) or an
//! OpenAI-compatible speech server (often 24,000 Hz), and are combined into one file.
//!
//! Only what speech engines write is read: RIFF/WAVE, PCM, 16-bit, mono or stereo (folded to
//! mono). Unknown chunks are skipped. A data chunk whose size says "unknown" (`0xFFFFFFFF`,
//! as a streamed `--stdout` header does) runs to the end of the file. Everything else is a
//! clear error naming what was found.

use std::fmt;
use std::io::{self, Seek, SeekFrom, Write};

/// A mono 16-bit PCM clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Samples per second.
    pub rate: u32,
    /// The samples.
    pub samples: Vec<i16>,
}

/// Why bytes are not a WAV this module can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WavError {
    /// Not RIFF/WAVE at all.
    NotWav,
    /// A WAV, but not 16-bit PCM mono or stereo.
    Unsupported(String),
    /// The header or a chunk is cut short.
    Truncated,
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WavError::NotWav => write!(f, "not a WAV file (no RIFF/WAVE header)"),
            WavError::Unsupported(what) => write!(f, "unsupported WAV format: {what}"),
            WavError::Truncated => write!(f, "the WAV file is cut short"),
        }
    }
}

impl std::error::Error for WavError {}

fn u16_at(b: &[u8], at: usize) -> Result<u16, WavError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(WavError::Truncated)
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, WavError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(WavError::Truncated)
}

impl Clip {
    /// Reads a WAV file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Clip, WavError> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(WavError::NotWav);
        }
        let mut at = 12;
        let mut format: Option<(u16, u16, u32, u16)> = None;
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let size = u32_at(bytes, at + 4)?;
            let body = at + 8;
            if id == b"fmt " {
                let tag = u16_at(bytes, body)?;
                let channels = u16_at(bytes, body + 2)?;
                let rate = u32_at(bytes, body + 4)?;
                let bits = u16_at(bytes, body + 14)?;
                format = Some((tag, channels, rate, bits));
            } else if id == b"data" {
                let (tag, channels, rate, bits) = format.ok_or(WavError::Unsupported(
                    "the data comes before its format".into(),
                ))?;
                // 1: PCM; 0xFFFE: WAVE_FORMAT_EXTENSIBLE (its sub-format is PCM for 16 bits).
                if tag != 1 && tag != 0xFFFE {
                    return Err(WavError::Unsupported(format!("format tag {tag}, not PCM")));
                }
                if bits != 16 {
                    return Err(WavError::Unsupported(format!("{bits}-bit samples, not 16")));
                }
                if channels != 1 && channels != 2 {
                    return Err(WavError::Unsupported(format!("{channels} channels")));
                }
                if rate == 0 {
                    return Err(WavError::Unsupported("a sample rate of 0".into()));
                }
                let end = match size {
                    u32::MAX => bytes.len(),
                    n => body.checked_add(n as usize).ok_or(WavError::Truncated)?,
                };
                // A streamed header may promise more than came; take whole frames only.
                let data = bytes.get(body..end.min(bytes.len())).unwrap_or_default();
                let frame = 2 * channels as usize;
                let samples = data
                    .chunks_exact(frame)
                    .map(|f| {
                        let left = i16::from_le_bytes([f[0], f[1]]);
                        if channels == 2 {
                            let right = i16::from_le_bytes([f[2], f[3]]);
                            ((i32::from(left) + i32::from(right)) / 2) as i16
                        } else {
                            left
                        }
                    })
                    .collect();
                return Ok(Clip { rate, samples });
            }
            // Chunks are padded to an even size.
            at = body
                .checked_add(size as usize + (size as usize & 1))
                .ok_or(WavError::Truncated)?;
        }
        Err(WavError::Truncated)
    }

    /// The clip's length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate)
    }

    /// The clip at another sample rate (linear interpolation: speech loses nothing audible).
    pub fn resampled(&self, rate: u32) -> Clip {
        if rate == self.rate || self.samples.is_empty() || rate == 0 {
            return Clip {
                rate: if rate == 0 { self.rate } else { rate },
                samples: self.samples.clone(),
            };
        }
        let n = (self.samples.len() as u64 * u64::from(rate) / u64::from(self.rate)) as usize;
        let step = f64::from(self.rate) / f64::from(rate);
        let last = self.samples.len() - 1;
        let samples = (0..n)
            .map(|i| {
                let pos = i as f64 * step;
                let j = (pos as usize).min(last);
                let frac = pos - j as f64;
                let a = f64::from(self.samples[j]);
                let b = f64::from(self.samples[(j + 1).min(last)]);
                (a + (b - a) * frac).round() as i16
            })
            .collect();
        Clip { rate, samples }
    }

    /// The file's bytes: RIFF/WAVE, PCM 16-bit mono.
    pub fn to_wav(&self) -> Vec<u8> {
        let data_len = (self.samples.len() * 2) as u32;
        let mut out = Vec::with_capacity(HEADER_LEN + data_len as usize);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&self.rate.to_le_bytes());
        out.extend_from_slice(&(self.rate * 2).to_le_bytes()); // bytes per second
        out.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }
}

/// One clip of `clips` after the other, at the first clip's rate (the others resampled), with
/// `pause_ms` of silence between two clips. `None` when there is no clip. The model
/// [`Writer`] is tested against.
#[cfg(test)]
pub fn combine(clips: &[Clip], pause_ms: u32) -> Option<Clip> {
    let rate = clips.first()?.rate;
    let pause = (u64::from(rate) * u64::from(pause_ms) / 1000) as usize;
    let total: usize = clips
        .iter()
        .map(|c| (c.samples.len() as u64 * u64::from(rate) / u64::from(c.rate.max(1))) as usize)
        .sum::<usize>()
        + pause * clips.len().saturating_sub(1);
    let mut samples = Vec::with_capacity(total);
    for (i, clip) in clips.iter().enumerate() {
        if i > 0 {
            samples.resize(samples.len() + pause, 0);
        }
        if clip.rate == rate {
            samples.extend_from_slice(&clip.samples);
        } else {
            samples.extend_from_slice(&clip.resampled(rate).samples);
        }
    }
    Some(Clip { rate, samples })
}

/// [`combine`] written clip by clip to `out` (a file, as a rule), without ever holding the
/// whole podcast in memory. The header goes first with placeholder sizes; [`Writer::finish`]
/// patches the rate and sizes once every clip is in.
pub struct Writer<W: Write + Seek> {
    out: W,
    start: u64,
    pause_ms: u32,
    rate: Option<u32>,
    samples: u64,
    bytes: Vec<u8>,
}

impl<W: Write + Seek> Writer<W> {
    /// Starts a file at the current position of `out`, with `pause_ms` of silence between
    /// two clips.
    pub fn new(mut out: W, pause_ms: u32) -> io::Result<Writer<W>> {
        let start = out.stream_position()?;
        out.write_all(&[0; HEADER_LEN])?;
        Ok(Writer {
            out,
            start,
            pause_ms,
            rate: None,
            samples: 0,
            bytes: Vec::new(),
        })
    }

    /// Appends `clip`, after a pause unless it is the first; it is resampled to the first
    /// clip's rate when its own differs.
    pub fn push(&mut self, clip: &Clip) -> io::Result<()> {
        let rate = *self.rate.get_or_insert(clip.rate);
        let resampled;
        let samples = if clip.rate == rate {
            &clip.samples
        } else {
            resampled = clip.resampled(rate);
            &resampled.samples
        };
        self.bytes.clear();
        if self.samples > 0 {
            let pause = (u64::from(rate) * u64::from(self.pause_ms) / 1000) as usize;
            self.bytes.resize(pause * 2, 0);
        }
        self.bytes.reserve(samples.len() * 2);
        for s in samples {
            self.bytes.extend_from_slice(&s.to_le_bytes());
        }
        self.out.write_all(&self.bytes)?;
        self.samples += (self.bytes.len() / 2) as u64;
        Ok(())
    }

    /// Writes the real header and returns the output with the rate and the number of
    /// samples. An error when no clip was pushed or the file would pass WAV's 4 GiB.
    pub fn finish(mut self) -> io::Result<(W, u32, u64)> {
        let Some(rate) = self.rate else {
            return Err(io::Error::other("no clips"));
        };
        let data_len = u32::try_from(self.samples * 2)
            .ok()
            .filter(|len| *len <= u32::MAX - 36)
            .ok_or_else(|| io::Error::other("the audio is too long for one WAV file"))?;
        let mut header = Clip {
            rate,
            samples: Vec::new(),
        }
        .to_wav();
        header[4..8].copy_from_slice(&(36 + data_len).to_le_bytes());
        header[40..44].copy_from_slice(&data_len.to_le_bytes());
        let end = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(self.start))?;
        self.out.write_all(&header)?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok((self.out, rate, self.samples))
    }
}

/// The length of the header [`Clip::to_wav`] writes.
const HEADER_LEN: usize = 44;

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, ms: u32) -> Clip {
        let n = (rate * ms / 1000) as usize;
        Clip {
            rate,
            samples: (0..n)
                .map(|i| ((i as f64 * 0.05).sin() * 8000.0) as i16)
                .collect(),
        }
    }

    #[test]
    fn writing_clip_by_clip_is_combining_then_writing() {
        let clips = [tone(22_050, 200), tone(24_000, 130), tone(22_050, 50)];
        let mut writer = Writer::new(io::Cursor::new(Vec::new()), 350).expect("writer");
        for clip in &clips {
            writer.push(clip).expect("pushed");
        }
        let (out, rate, samples) = writer.finish().expect("finished");
        let bytes = out.into_inner();
        let expected = combine(&clips, 350).expect("clips");
        assert_eq!((rate, samples), (22_050, expected.samples.len() as u64));
        assert_eq!(bytes, expected.to_wav());
        assert_eq!(Clip::parse(&bytes), Ok(expected));
        let empty = Writer::new(io::Cursor::new(Vec::new()), 350).expect("writer");
        assert!(empty.finish().is_err());
    }

    #[test]
    fn a_written_clip_reads_back() {
        let clip = tone(22_050, 250);
        let bytes = clip.to_wav();
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(bytes.len(), 44 + clip.samples.len() * 2);
        assert_eq!(Clip::parse(&bytes), Ok(clip));
    }

    #[test]
    fn stereo_extra_chunks_and_streamed_sizes_are_read() {
        let mut bytes = b"RIFF\xff\xff\xff\xffWAVE".to_vec();
        // An odd-sized chunk before the format, padded.
        bytes.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        bytes.extend_from_slice(b"fmt \x10\0\0\0");
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&24_000u32.to_le_bytes());
        bytes.extend_from_slice(&96_000u32.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&16u16.to_le_bytes());
        // A data size of "unknown", and half a frame at the end.
        bytes.extend_from_slice(b"data\xff\xff\xff\xff");
        for (l, r) in [(100i16, 300i16), (-100, -300)] {
            bytes.extend_from_slice(&l.to_le_bytes());
            bytes.extend_from_slice(&r.to_le_bytes());
        }
        bytes.extend_from_slice(&[1, 2]);
        let clip = Clip::parse(&bytes).expect("parsed");
        assert_eq!(clip.rate, 24_000);
        assert_eq!(clip.samples, [200, -200]);
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        assert_eq!(Clip::parse(b"ID3\x04 an mp3"), Err(WavError::NotWav));
        let mut float = tone(16_000, 10).to_wav();
        float[20] = 3; // IEEE float
        float[34] = 32;
        assert!(matches!(Clip::parse(&float), Err(WavError::Unsupported(_))));
        let cut = &tone(16_000, 10).to_wav()[..30];
        assert_eq!(Clip::parse(cut), Err(WavError::Truncated));
        let mut eight_bit = tone(16_000, 10).to_wav();
        eight_bit[34] = 8;
        let e = Clip::parse(&eight_bit).expect_err("8-bit");
        assert!(e.to_string().contains("8-bit"), "{e}");
    }

    #[test]
    fn resampling_keeps_the_duration_and_the_shape() {
        let clip = tone(24_000, 500);
        let down = clip.resampled(22_050);
        assert_eq!(down.rate, 22_050);
        assert!((down.seconds() - clip.seconds()).abs() < 0.001);
        // The same moment of the tone has about the same value.
        let at = |c: &Clip, secs: f64| f64::from(c.samples[(secs * f64::from(c.rate)) as usize]);
        for secs in [0.1, 0.25, 0.4] {
            assert!(
                (at(&clip, secs) - at(&down, secs)).abs() < 800.0,
                "at {secs} s"
            );
        }
        assert_eq!(clip.resampled(24_000), clip);
    }

    #[test]
    fn clips_are_combined_with_pauses_at_the_first_rate() {
        let a = tone(22_050, 1000);
        let b = tone(24_000, 500);
        let all = combine(&[a.clone(), b, a], 300).expect("combined");
        assert_eq!(all.rate, 22_050);
        // 1 s + 0.5 s + 1 s of speech and two pauses of 0.3 s.
        assert!((all.seconds() - 3.1).abs() < 0.01, "{}", all.seconds());
        let pause_start = 22_050;
        assert!(all.samples[pause_start..pause_start + 6_615]
            .iter()
            .all(|s| *s == 0));
        assert_eq!(combine(&[], 300), None);
    }

    #[test]
    fn espeak_ng_output_reads() {
        // The real engine (`./install.sh --test` installs it).
        let out = std::process::Command::new("espeak-ng")
            .args(["-v", "en-us", "--stdout", "Hello there."])
            .output()
            .expect("espeak-ng runs (install it with ./install.sh --test)");
        assert!(out.status.success());
        let clip = Clip::parse(&out.stdout).expect("espeak-ng's WAV");
        assert_eq!(clip.rate, 22_050);
        assert!(
            clip.seconds() > 0.3 && clip.seconds() < 5.0,
            "{}",
            clip.seconds()
        );
    }
}
