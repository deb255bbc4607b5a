//! Helpers for the engine's unit tests: one way to write a signal and a
//! context holding some, instead of a copy in every test module.

use super::Scope;
use super::collect::Output;
use super::rules::{Ctx, Signal};

impl Signal {
    /// A signal for the engine's unit tests: weight 4, source `test`,
    /// undated.
    pub(crate) fn test(component: &str, kind: &'static str, detail: &str) -> Signal {
        Signal {
            component: component.into(),
            kind,
            weight: 4.0,
            source: "test".into(),
            detail: detail.into(),
            at: None,
        }
    }
}

impl<'a> Ctx<'a> {
    /// A context holding `signals`, for the engine's unit tests.
    pub(crate) fn with_signals(scope: &'a Scope, signals: Vec<Signal>) -> Ctx<'a> {
        Ctx {
            signals,
            ..Ctx::new(scope)
        }
    }
}

impl Output {
    /// A successful answer of `tool` (`server.name`, e.g. `k8s.logs`) to
    /// `args`, for the engine's unit tests.
    pub(crate) fn test(tool: &str, args: serde_json::Value, text: &str) -> Output {
        Output {
            tool: tool.into(),
            name: tool.rsplit('.').next().unwrap_or(tool).into(),
            args,
            outcome: crate::registry::ToolOutcome {
                text: text.into(),
                is_error: false,
                elapsed_ms: 1,
            },
        }
    }
}
