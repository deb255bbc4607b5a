//! What a chat request carries besides messages and tools, per model.
//!
//! Chat models and reasoning models want different requests: a chat model
//! takes a low `temperature` for steady answers and limits its output with
//! `max_tokens`; a reasoning model (o-series, gpt-5) accepts only its default
//! temperature, counts hidden reasoning in `max_completion_tokens`, and
//! reads its instructions from a `developer` message. Deployment names on
//! Azure are free text, so the guess from the name ([`ModelOptions::for_model`])
//! is only a default: configuration overrides every field, and the client
//! adapts at run time when a model refuses a parameter anyway.

use serde::{Deserialize, Serialize};

/// Which field limits the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenField {
    /// `max_tokens`: chat models, and OpenAI-compatible servers that know no
    /// other.
    MaxTokens,
    /// `max_completion_tokens`: required by reasoning models (their hidden
    /// reasoning counts too), accepted by current OpenAI and Azure chat models.
    MaxCompletionTokens,
}

/// What goes into a request besides the messages and tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOptions {
    /// Sampling temperature; `None` sends none (the model's default), which
    /// is all reasoning models accept.
    pub temperature: Option<f64>,
    /// The output limit, if any.
    pub max_output_tokens: Option<u32>,
    /// The field the limit is sent in.
    pub token_field: TokenField,
    /// Send the instructions as a `developer` message instead of `system`
    /// (what reasoning models expect).
    pub developer_role: bool,
    /// `reasoning_effort` (`low`, `medium`, `high`…), reasoning models only.
    pub reasoning_effort: Option<String>,
    /// Send `parallel_tool_calls: true` with tools (the API's default
    /// anyway; some reasoning models refuse the field, so they omit it).
    pub parallel_tool_calls: bool,
}

impl Default for ModelOptions {
    fn default() -> Self {
        Self::chat()
    }
}

impl ModelOptions {
    /// A chat model: a low temperature for steady answers, `max_tokens`,
    /// `system` instructions.
    pub fn chat() -> Self {
        Self {
            temperature: Some(0.1),
            max_output_tokens: None,
            token_field: TokenField::MaxTokens,
            developer_role: false,
            reasoning_effort: None,
            parallel_tool_calls: true,
        }
    }

    /// A reasoning model: no temperature, `max_completion_tokens`,
    /// `developer` instructions.
    pub fn reasoning() -> Self {
        Self {
            temperature: None,
            max_output_tokens: None,
            token_field: TokenField::MaxCompletionTokens,
            developer_role: true,
            reasoning_effort: None,
            parallel_tool_calls: false,
        }
    }

    /// The options a model of this name most likely needs.
    pub fn for_model(name: &str) -> Self {
        if is_reasoning_model(name) {
            Self::reasoning()
        } else {
            Self::chat()
        }
    }
}

/// Whether a model (or an Azure deployment named after its model) is a
/// reasoning model: the o-series (`o1`, `o3-mini`, `o4-mini`…) and gpt-5
/// (`gpt-5`, `gpt-5-mini`, but not `gpt-5-chat`).
pub fn is_reasoning_model(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.rsplit('/').next().unwrap_or(&n);
    let o_series = n.len() >= 2
        && n.starts_with('o')
        && n[1..].starts_with(|c: char| c.is_ascii_digit())
        && n[1..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .all(|c| c.is_ascii_digit());
    let gpt5 = n.starts_with("gpt-5") && !n.contains("chat");
    o_series || gpt5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_models_are_recognised_by_name() {
        for name in [
            "o1",
            "o3-mini",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "openai/o3",
        ] {
            assert!(is_reasoning_model(name), "{name}");
        }
        for name in [
            "gpt-4o",
            "gpt-4.1-mini",
            "gpt-5-chat",
            "llama3",
            "olmo-2",
            "ollama",
        ] {
            assert!(!is_reasoning_model(name), "{name}");
        }
    }
}
