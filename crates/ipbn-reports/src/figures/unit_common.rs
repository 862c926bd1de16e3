//! Labels and ranges the single-unit figures share (`single-neuron`, `information`,
//! `equivalence`). The unit itself (inputs, simulator, fixed point) is
//! [`ipbn_neurons::single_unit`].

use crate::plot::xy::fmt_number;
use ipbn_math::Activation;
use ipbn_neurons::single_unit::InputDist;
use ipbn_neurons::IpRule;

/// A short label of an input distribution, e.g. `N(0, 1)`.
pub fn input_label(input: &InputDist) -> String {
    let f = fmt_number;
    match *input {
        InputDist::Gaussian { mean, sd: 1.0 } => format!("N({}, 1)", f(mean)),
        InputDist::Gaussian { mean, sd } => format!("N({}, {}²)", f(mean), f(sd)),
        InputDist::Uniform { lo, hi } => format!("U[{}, {}]", f(lo), f(hi)),
        InputDist::Exponential { mean } => format!("Exp(mean {})", f(mean)),
    }
}

/// A rule's label with its parameters, e.g. `triesch (mu=0.1)`.
pub fn rule_label(rule: &dyn IpRule) -> String {
    let params: Vec<String> = rule
        .params()
        .iter()
        .map(|p| format!("{}={}", p.name, fmt_number(p.value)))
        .collect();
    if params.is_empty() {
        rule.id().to_string()
    } else {
        format!("{} ({})", rule.id(), params.join(", "))
    }
}

/// `n` record steps over `0..=steps`: 0, then log-spaced from 1 to `steps`.
pub fn log_records(steps: usize, n: usize) -> Vec<usize> {
    let mut v = vec![0];
    if steps == 0 || n < 2 {
        return v;
    }
    let top = (steps as f64).log10();
    v.extend(
        (0..n - 1).map(|i| 10f64.powf(top * i as f64 / (n - 2).max(1) as f64).round() as usize),
    );
    v.dedup();
    v
}

/// The open output range of an activation used for histograms and density curves.
pub fn output_range(act: Activation) -> (f64, f64) {
    match act {
        Activation::Tanh => (-1.0, 1.0),
        _ => (0.0, 1.0),
    }
}

/// The output range drawn and histogrammed for `act` given the outputs `ys` a unit produced:
/// [`output_range`] for the bounded activations (sigmoid, tanh); for an unbounded one
/// (softplus, relu) from 0 to 1.05 × the 99.5th percentile of the finite outputs (at least
/// 1e-6), so the histogram shows where the outputs are instead of only [0, 1].
pub fn observed_range(act: Activation, ys: &[f64]) -> (f64, f64) {
    match act {
        Activation::Sigmoid | Activation::Tanh => output_range(act),
        _ => {
            let mut v: Vec<f64> = ys.iter().copied().filter(|y| y.is_finite()).collect();
            if v.is_empty() {
                return (0.0, 1.0);
            }
            v.sort_by(f64::total_cmp);
            let i = ((v.len() - 1) as f64 * 0.995).round() as usize;
            (0.0, (1.05 * v[i]).max(1e-6))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_records() {
        let l: Vec<String> = InputDist::standard().iter().map(input_label).collect();
        assert_eq!(l, ["N(0, 1)", "U[0, 1]", "Exp(mean 0.1)"]);
        assert_eq!(
            input_label(&InputDist::Gaussian { mean: 2.0, sd: 3.0 }),
            "N(2, 3²)"
        );
        assert_eq!(log_records(100, 4), vec![0, 1, 10, 100]);
        assert_eq!(log_records(0, 4), vec![0]);
        assert_eq!(output_range(Activation::Tanh), (-1.0, 1.0));
        assert_eq!(output_range(Activation::Sigmoid), (0.0, 1.0));
        // Unbounded outputs: up to just above the 99.5th percentile, not [0, 1].
        let ys: Vec<f64> = (0..=1000).map(|i| 3.0 * i as f64 / 1000.0).collect();
        let (lo, hi) = observed_range(Activation::Softplus, &ys);
        assert_eq!(lo, 0.0);
        assert!((hi - 1.05 * 2.985).abs() < 1e-9, "{hi}");
        assert_eq!(observed_range(Activation::Tanh, &ys), (-1.0, 1.0));
    }
}
