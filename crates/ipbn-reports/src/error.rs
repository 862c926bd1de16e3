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
