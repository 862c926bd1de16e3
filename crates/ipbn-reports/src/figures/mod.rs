//! The figure set (shared/spec/figures.md), one module per figure.
//!
//! [`all`] lists every figure in the order of figures.md. Each figure is a type implementing
//! [`crate::figure::Figure`]; it runs its experiment, draws through [`crate::plot`] and
//! writes `ID.svg`, `ID.png` and `ID.json`.

pub mod equivalence;
pub mod information;
pub mod single_neuron;

use crate::figure::Figure;

pub use equivalence::Equivalence;
pub use information::Information;
pub use single_neuron::SingleNeuron;

/// Every figure, in the order of figures.md: bn-mnist, vanishing-gradient, lr-stability,
/// single-neuron, information, equivalence, batch-size, homogenisation.
pub fn all() -> Vec<Box<dyn Figure>> {
    let figures: Vec<Box<dyn Figure>> = vec![
        // NETWORK FIGURES (before): bn-mnist, vanishing-gradient, lr-stability go here.
        Box::new(SingleNeuron::default()),
        Box::new(Information::default()),
        Box::new(Equivalence::default()),
        // NETWORK FIGURES (after): batch-size, homogenisation go here.
    ];
    figures
}

/// The figure with this id, if any.
pub fn find(id: &str) -> Option<Box<dyn Figure>> {
    all().into_iter().find(|f| f.id() == id)
}
