//! # ipbn-train
//!
//! Multilayer perceptrons under every normalisation condition, backprop, optimisers, datasets
//! (MNIST IDX and synthetic), the trainer, its metrics recorder and seeded parallel sweeps.

pub mod data;
