//! The figure set (shared/spec/figures.md), one module per figure.
//!
//! [`all`] lists every figure in the order of figures.md. Each figure is a type implementing
//! [`crate::figure::Figure`] through the shared `experiment::Experiment` scaffolding: it runs
//! its experiment, draws through [`crate::plot`] and writes `ID.svg`, `ID.png` and `ID.json`.
//! The network figures share their training machinery in `common`.

pub mod batch_size;
pub mod bn_mnist;
mod common;
pub mod equivalence;
mod experiment;
pub mod homogenisation;
pub mod information;
pub mod lr_stability;
pub mod single_neuron;
mod unit_common;
pub mod vanishing_gradient;

use crate::figure::Figure;

pub use batch_size::BatchSize;
pub use bn_mnist::BnMnist;
pub use equivalence::Equivalence;
pub use homogenisation::Homogenisation;
pub use information::Information;
pub use lr_stability::LrStability;
pub use single_neuron::SingleNeuron;
pub use vanishing_gradient::VanishingGradient;

/// Every figure, in the order of figures.md: bn-mnist, vanishing-gradient, lr-stability,
/// single-neuron, information, equivalence, batch-size, homogenisation.
pub fn all() -> Vec<Box<dyn Figure>> {
    let figures: Vec<Box<dyn Figure>> = vec![
        Box::new(BnMnist::default()),
        Box::new(VanishingGradient::default()),
        Box::new(LrStability::default()),
        Box::new(SingleNeuron::default()),
        Box::new(Information::default()),
        Box::new(Equivalence::default()),
        Box::new(BatchSize::default()),
        Box::new(Homogenisation::default()),
    ];
    figures
}

/// The figure with this id, if any.
pub fn find(id: &str) -> Option<Box<dyn Figure>> {
    all().into_iter().find(|f| f.id() == id)
}
