//! Training versus inference mode.

/// Whether a layer runs in training mode (batch statistics, adaptation) or inference mode
/// (running estimates, frozen intrinsic parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Training: BN normalises with batch statistics and updates its running estimates; IP
    /// layers cache what `adapt` needs.
    Train,
    /// Inference: BN uses running estimates; IP parameters are frozen.
    Eval,
}
