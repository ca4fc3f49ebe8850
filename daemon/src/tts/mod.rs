//! Text to speech for podcasts. So far the audio side: reading the clips speech engines write
//! and combining them into one file ([`wav`]). The engines (espeak-ng, an OpenAI-compatible
//! `/v1/audio/speech` server, none) come with the podcast generator.

pub mod wav;
