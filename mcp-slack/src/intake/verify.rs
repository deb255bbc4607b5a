//! Slack request signatures (`X-Slack-Signature: v0=…`).
//!
//! Slack signs every Events API, slash-command and interactivity request:
//! `v0=` + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw body)),
//! with the timestamp in `X-Slack-Request-Timestamp`. A request is accepted
//! only if the signature matches (compared in constant time) and the
//! timestamp is within five minutes of now, so a captured request cannot be
//! replayed later. "Now" comes from a [`Clock`], so tests can check Slack's
//! published example, signed in 2018.

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Header carrying the request timestamp (unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// How far the timestamp may be from now, in seconds.
pub const REPLAY_WINDOW_SECS: i64 = 5 * 60;

/// The current time, injectable.
pub trait Clock: Send + Sync + 'static {
    /// Unix seconds now.
    fn now_unix(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        jiff::Timestamp::now().as_second()
    }
}

/// A clock stopped at a given time (tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No signing secret is configured.
    #[error("no Slack signing secret is configured")]
    NoSecret,
    /// A header is missing or not text.
    #[error("missing or unreadable {0} header")]
    MissingHeader(&'static str),
    /// The timestamp is not an integer.
    #[error("the request timestamp is not a number")]
    BadTimestamp,
    /// The timestamp is outside the replay window.
    #[error(
        "stale request: timestamp {timestamp} is {age}s from now (limit {REPLAY_WINDOW_SECS}s)"
    )]
    Stale {
        /// The request's timestamp.
        timestamp: i64,
        /// Seconds between it and now.
        age: i64,
    },
    /// The signature does not match.
    #[error("the request signature does not match")]
    BadSignature,
}

/// Computes Slack's `v0=` signature of `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verifies one request: the plain function under everything else here.
pub fn verify_signature(
    secret: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now_unix: i64,
) -> Result<(), VerifyError> {
    if secret.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let age = now_unix.saturating_sub(ts);
    if age.abs() > REPLAY_WINDOW_SECS {
        return Err(VerifyError::Stale { timestamp: ts, age });
    }
    let expected = sign(secret, timestamp.trim(), body);
    if bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// A signing secret and a clock: verifies requests by their headers.
#[derive(Clone)]
pub struct SignatureVerifier {
    secret: Arc<str>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureVerifier").finish_non_exhaustive()
    }
}

impl SignatureVerifier {
    /// With the system clock.
    pub fn new(secret: impl Into<String>) -> Self {
        Self::with_clock(secret, Arc::new(SystemClock))
    }

    /// With a given clock.
    pub fn with_clock(secret: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            secret: Arc::from(secret.into()),
            clock,
        }
    }

    /// Verifies a request from its headers and raw body.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or(VerifyError::MissingHeader(name))
        };
        let timestamp = header(TIMESTAMP_HEADER)?;
        let signature = header(SIGNATURE_HEADER)?;
        verify_signature(
            &self.secret,
            timestamp,
            signature,
            body,
            self.clock.now_unix(),
        )
    }
}
