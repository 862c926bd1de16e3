//! The crate's error type.

/// Errors from building rules and layers or from running them on bad input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NeuronError {
    /// A rule parameter outside its valid range.
    #[error("rule `{rule}`: parameter `{param}` = {value} is out of range; accepted: {range}")]
    ParamOutOfRange {
        /// Rule id.
        rule: String,
        /// Parameter key.
        param: String,
        /// Offending value.
        value: f64,
        /// Accepted range, human-readable.
        range: String,
    },
    /// A rule name that is not in the registry.
    #[error("unknown IP rule `{name}`; known rules: {known}")]
    UnknownRule {
        /// The name given.
        name: String,
        /// Comma-separated list of known ids.
        known: String,
    },
    /// A key a rule does not accept.
    #[error("rule `{rule}` has no parameter `{key}`; accepted keys: {accepted}")]
    UnknownKey {
        /// Rule id.
        rule: String,
        /// The key given.
        key: String,
        /// Comma-separated accepted keys.
        accepted: String,
    },
    /// A malformed spec string or value.
    #[error("bad rule spec `{spec}`: {reason}")]
    BadSpec {
        /// The spec as given.
        spec: String,
        /// What is wrong and how to write it.
        reason: String,
    },
    /// A rule that cannot be registered (taken or malformed id, bad parameter table, or a
    /// rule that does not build at its defaults).
    #[error("rule `{rule}` cannot be registered: {reason}")]
    BadRule {
        /// Rule id.
        rule: String,
        /// What is wrong.
        reason: String,
    },
    /// A rule used with an activation it was not derived for.
    #[error("rule `{rule}` needs activation `{needs}`, but the layer uses `{got}`")]
    WrongActivation {
        /// Rule id.
        rule: String,
        /// Required activation.
        needs: String,
        /// Activation given.
        got: String,
    },
    /// Batch normalisation in training mode with one sample per feature.
    #[error("batch normalisation in training mode needs at least 2 samples per feature, got {0}; use a batch size of 2 or more, or evaluation mode")]
    BatchTooSmall(usize),
    /// Input of the wrong shape for a layer.
    #[error("shape mismatch: {0}")]
    Shape(String),
}

/// Result alias for this crate.
pub type Result<T, E = NeuronError> = std::result::Result<T, E>;
