//! Composite Gauss–Legendre quadrature, used by the rule claims (expectations over a target
//! density or an input distribution) and by tests.
//!
//! A 16-point rule on each of `panels` equal sub-intervals: exact for polynomials of degree 31
//! per panel, and accurate to rounding for the smooth integrands met here (densities times
//! polynomials or tanh/logistic terms) with a few dozen panels.

use std::sync::OnceLock;

/// Points per panel.
const POINTS: usize = 16;

/// Nodes and weights of the `POINTS`-point Gauss–Legendre rule on [−1, 1], computed once by
/// Newton's method on the Legendre polynomial (nodes accurate to rounding).
fn rule() -> &'static ([f64; POINTS], [f64; POINTS]) {
    static RULE: OnceLock<([f64; POINTS], [f64; POINTS])> = OnceLock::new();
    RULE.get_or_init(|| {
        let n = POINTS;
        let mut x = [0.0; POINTS];
        let mut w = [0.0; POINTS];
        for i in 0..n {
            // Initial guess (Abramowitz & Stegun 22.16.6 asymptotics), then Newton.
            let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut dp = 1.0;
            for _ in 0..100 {
                // Recurrence: (j+1) P_{j+1} = (2j+1) z P_j − j P_{j−1}.
                let (mut p0, mut p1) = (1.0, z);
                for j in 1..n {
                    let p2 = ((2 * j + 1) as f64 * z * p1 - j as f64 * p0) / (j + 1) as f64;
                    p0 = p1;
                    p1 = p2;
                }
                // P_n'(z) = n (z P_n − P_{n−1}) / (z² − 1).
                dp = n as f64 * (z * p1 - p0) / (z * z - 1.0);
                let dz = p1 / dp;
                z -= dz;
                if dz.abs() < 1e-16 {
                    break;
                }
            }
            x[i] = z;
            w[i] = 2.0 / ((1.0 - z * z) * dp * dp);
        }
        (x, w)
    })
}

/// Calls `f(node, weight)` for every node of the composite rule on `[a, b]` with `panels`
/// panels, in increasing panel order (so sums are reproducible). The weights sum to `b − a`.
pub(crate) fn for_each_node(a: f64, b: f64, panels: usize, mut f: impl FnMut(f64, f64)) {
    let (xs, ws) = rule();
    let panels = panels.max(1);
    let width = (b - a) / panels as f64;
    for p in 0..panels {
        let lo = a + width * p as f64;
        let mid = lo + 0.5 * width;
        let half = 0.5 * width;
        for (&x, &w) in xs.iter().zip(ws) {
            f(mid + half * x, half * w);
        }
    }
}

/// ∫ₐᵇ f(y) dy with 32 panels (for tests).
#[cfg(test)]
pub(crate) fn integrate(a: f64, b: f64, f: impl Fn(f64) -> f64) -> f64 {
    integrate_panels(a, b, 32, f)
}

/// ∫ₐᵇ f(y) dy with the composite rule and `panels` panels (for tests).
#[cfg(test)]
pub(crate) fn integrate_panels(a: f64, b: f64, panels: usize, f: impl Fn(f64) -> f64) -> f64 {
    let mut s = 0.0;
    for_each_node(a, b, panels, |x, w| s += w * f(x));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_for_polynomials_and_accurate_for_smooth_functions() {
        let (_, w) = rule();
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-14);
        let p = integrate_panels(-1.0, 2.0, 1, |x| x.powi(31) - 3.0 * x.powi(4) + 1.0);
        let exact = (2f64.powi(32) - 1.0) / 32.0 - 3.0 * (32.0 + 1.0) / 5.0 + 3.0;
        assert!((p - exact).abs() < 1e-9 * exact.abs());
        let g = integrate(-10.0, 10.0, |x| (-0.5 * x * x).exp());
        assert!((g - (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-13);
        let t = integrate(0.0, 3.0, f64::tanh);
        assert!((t - 3f64.cosh().ln()).abs() < 1e-14);
    }
}
