//! Exit codes scripts can rely on.

/// An RCA was produced.
pub const OK: u8 = 0;
/// Something unexpected failed.
pub const INTERNAL: u8 = 1;
/// Bad input or configuration (the message says which).
pub const BAD_INPUT: u8 = 2;
/// No data source could be reached.
pub const UNREACHABLE: u8 = 3;
/// `eval`: accuracy below the recorded baseline.
pub const BELOW_BASELINE: u8 = 4;

/// Marks an error as bad input.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct BadInput(pub anyhow::Error);

/// Marks an error as an unreachable source.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Unreachable(pub anyhow::Error);

/// Wraps an error as bad input (exit 2).
pub fn bad_input(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(BadInput(e.into()))
}

/// Wraps an error as an unreachable source (exit 3).
pub fn unreachable(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Unreachable(e.into()))
}

/// The exit code for an error.
pub fn classify(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<BadInput>().is_some() {
        BAD_INPUT
    } else if e.downcast_ref::<Unreachable>().is_some() {
        UNREACHABLE
    } else {
        INTERNAL
    }
}
