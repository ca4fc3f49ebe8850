//! mentor-shared: the protocol between `mentor` and `mentord` — data types, the tarpc service,
//! the wire framing, where files live, the configuration and localization. No business logic.

pub mod artifacts;
pub mod catalog;
pub mod chat;
pub mod config;
pub mod error;
pub mod i18n;
pub mod ids;
pub mod jobs;
pub mod net;
pub mod paths;
pub mod protocol;
pub mod service;
pub mod time;
pub mod wire;

pub use error::ApiError;
pub use protocol::PROTOCOL_VERSION;

/// Settings of the property tests named `fuzz_*`: `MENTOR_FUZZ_CASES` cases each (5,000 when
/// unset, the CI form), and no failure files: a crash found becomes a plain regression test.
#[cfg(test)]
pub(crate) fn fuzz_config() -> proptest::test_runner::Config {
    let cases = std::env::var("MENTOR_FUZZ_CASES")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(5_000);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
