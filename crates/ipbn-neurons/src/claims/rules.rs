//! Claims about IP rules; every one iterates over the registry.

use super::Claim;

/// The rule claims, in claims.md order.
pub(super) fn claims() -> Vec<Claim> {
    Vec::new()
}
