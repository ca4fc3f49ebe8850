//! The conversation with the teacher (being written).

pub mod prompt;
