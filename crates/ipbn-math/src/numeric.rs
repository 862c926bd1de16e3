//! The one home of the workspace's generic numerics: central finite differences
//! ([`diff`]), a damped 2-D Newton solver ([`newton`]) and quadrature ([`quadrature`]).
//!
//! Claims, figures and tests call these instead of keeping their own copies, so a stencil,
//! a line search or a rule's nodes is written (and tested) once. Each routine evaluates its
//! function at the same points in the same order on every call, so results are reproducible
//! bit for bit.

pub mod diff;
pub mod newton;
pub mod quadrature;

pub use diff::{derivative, gradient, try_derivative, try_gradient, Stencil};
pub use newton::{Newton2, NewtonError, NewtonNorm, Root2};
pub use quadrature::{gauss_legendre, gauss_legendre_rule, integrate, simpson, simpson_weight};
