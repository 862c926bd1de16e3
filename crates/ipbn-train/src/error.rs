//! The crate's error types.

use std::path::PathBuf;

/// A configuration value that is missing, malformed or out of range. `key` is the JSON key
/// (or command-line flag without the dashes) at fault; the message says what is accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("config key `{key}`: {message}")]
pub struct ConfigError {
    /// The configuration key at fault, e.g. `lr` or `grid.batches`.
    pub key: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl ConfigError {
    /// A new error for `key`.
    ///
    /// Control characters in the key or message (e.g. a newline inside a JSON key) are
    /// escaped, so the error always prints as one line.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: one_line(key.into()),
            message: one_line(message.into()),
        }
    }
}

/// Escapes control characters so that `s` prints on one line.
fn one_line(s: String) -> String {
    if !s.chars().any(char::is_control) {
        return s;
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Errors from building, training and sweeping networks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// An invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A layer rejected its settings or input.
    #[error(transparent)]
    Neuron(#[from] ipbn_neurons::NeuronError),
    /// The data could not be loaded.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file could not be parsed (or a value could not be serialised).
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The run or sweep was stopped through its cancellation flag before it finished.
    #[error("cancelled before the run finished")]
    Cancelled,
}

impl TrainError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the error comes from the user's input (a bad config or data folder) rather
    /// than from running.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            TrainError::Config(_) | TrainError::Data(_) | TrainError::Neuron(_)
        )
    }
}

/// Result alias for this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
