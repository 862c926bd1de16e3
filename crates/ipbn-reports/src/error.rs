//! Errors of the `ipbn` binary, mapped to exit codes.

/// A failure of an `ipbn` command. Usage errors (bad flag, config, spec, data file) exit
/// with code 2; failures while running exit with code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input from the user: the message names the problem and the fix. Exit code 2.
    #[error("{0}")]
    Usage(String),
    /// A failure while running (I/O, a claim that fails). Exit code 1.
    #[error("{0}")]
    Run(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Run(_) => 1,
        }
    }
}

/// Result alias for commands.
pub type CliResult<T = ()> = Result<T, CliError>;

/// A failure of a figure (or another report), with the typed error of the crate it came
/// from kept as its source. The commands turn it into a [`CliError`]: bad settings or input
/// exit with code 2, failures while running with code 1.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The figure's settings are invalid; the message says what to change.
    #[error("{0}")]
    Config(String),
    /// A failure while running that no other crate's error describes.
    #[error("{0}")]
    Run(String),
    /// An invalid single-unit input distribution.
    #[error(transparent)]
    Input(#[from] ipbn_neurons::single_unit::SingleUnitError),
    /// Drawing or writing a figure failed.
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    /// Data, a configuration or a training run failed (`context` says which).
    #[error("{context}: {source}")]
    Train {
        /// What was being done.
        context: String,
        /// Whether the error comes from the user's input (exit code 2).
        usage: bool,
        /// The error of `ipbn-train`.
        source: ipbn_train::TrainError,
    },
    /// A rule spec, layer or rule failed (`context` says which).
    #[error("{context}: {source}")]
    Neurons {
        /// What was being done.
        context: String,
        /// Whether the error comes from the user's input (exit code 2).
        usage: bool,
        /// The error of `ipbn-neurons`.
        source: ipbn_neurons::NeuronError,
    },
    /// A statistic could not be computed (`context` says which).
    #[error("{context}: {source}")]
    Math {
        /// What was being done.
        context: String,
        /// The error of `ipbn-math`.
        source: ipbn_math::MathError,
    },
    /// A configuration could not be serialised.
    #[error("cannot serialise the configuration: {0}")]
    Json(#[from] serde_json::Error),
    /// Not a failure: in plan mode (`ipbn reproduce --shard`) a figure's runs were declared
    /// and the figure stopped before training or drawing (see [`crate::runs`]).
    #[error("the figure's runs were declared; nothing was trained or drawn")]
    Planned,
}

impl ReportError {
    /// Whether the error comes from the user's settings or input (exit code 2).
    pub fn is_usage(&self) -> bool {
        match self {
            ReportError::Config(_) | ReportError::Input(_) => true,
            ReportError::Train { usage, .. } | ReportError::Neurons { usage, .. } => *usage,
            _ => false,
        }
    }
}

impl From<ReportError> for CliError {
    fn from(e: ReportError) -> Self {
        if e.is_usage() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Run(e.to_string())
        }
    }
}

/// Result alias for figures and reports.
pub type ReportResult<T = ()> = Result<T, ReportError>;
