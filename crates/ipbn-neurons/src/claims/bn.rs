//! Claims about batch normalisation and the BN <-> IP mapping.

use super::Claim;

/// The BN claims, in claims.md order.
pub(super) fn claims() -> Vec<Claim> {
    Vec::new()
}
