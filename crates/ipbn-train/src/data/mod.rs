//! Datasets: the IDX reader, the shipped MNIST subset and synthetic data.
