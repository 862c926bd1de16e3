//! Quadrature: composite Gauss–Legendre (16 points per panel) and composite Simpson.
//!
//! * [`gauss_legendre`]: a 16-point rule on each of `panels` equal sub-intervals, exact for
//!   polynomials of degree 31 per panel and accurate to rounding for the smooth integrands
//!   met here (densities times polynomials or tanh/logistic terms) with a few dozen panels.
//! * [`simpson`]: the composite Simpson rule on `n` (even) equal intervals, for integrands
//!   tabulated on an even grid (input densities, histogram bins); error O(h⁴).
//!
//! Both call back once per node, in increasing order of the node, so sums taken in the
//! callback are reproducible bit for bit.

use std::sync::OnceLock;

/// Points per Gauss–Legendre panel.
pub const GAUSS_POINTS: usize = 16;

/// Nodes and weights of the [`GAUSS_POINTS`]-point Gauss–Legendre rule on [−1, 1], computed
/// once by Newton's method on the Legendre polynomial (nodes accurate to rounding).
pub fn gauss_legendre_rule() -> &'static ([f64; GAUSS_POINTS], [f64; GAUSS_POINTS]) {
    static RULE: OnceLock<([f64; GAUSS_POINTS], [f64; GAUSS_POINTS])> = OnceLock::new();
    RULE.get_or_init(|| {
        let n = GAUSS_POINTS;
        let mut x = [0.0; GAUSS_POINTS];
        let mut w = [0.0; GAUSS_POINTS];
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

/// Calls `f(node, weight)` for every node of the composite Gauss–Legendre rule on `[a, b]`
/// with `panels` panels (at least 1), in increasing panel order. The weights sum to `b − a`.
pub fn gauss_legendre(a: f64, b: f64, panels: usize, mut f: impl FnMut(f64, f64)) {
    let (xs, ws) = gauss_legendre_rule();
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

/// ∫ₐᵇ f(y) dy by [`gauss_legendre`] with `panels` panels.
///
/// ```
/// let g = ipbn_math::numeric::integrate(-10.0, 10.0, 32, |x| (-0.5 * x * x).exp());
/// assert!((g - (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-13);
/// ```
pub fn integrate(a: f64, b: f64, panels: usize, f: impl Fn(f64) -> f64) -> f64 {
    let mut s = 0.0;
    gauss_legendre(a, b, panels, |x, w| s += w * f(x));
    s
}

/// The weight of node `i` of `n` (even) in the composite Simpson rule, before the factor
/// h/3: 1 at both ends, then 4 and 2 alternately.
pub fn simpson_weight(i: usize, n: usize) -> f64 {
    if i == 0 || i == n {
        1.0
    } else if i % 2 == 1 {
        4.0
    } else {
        2.0
    }
}

/// Calls `f(node, weight)` for the `n + 1` nodes `a + i h`, `h = (b − a)/n`, of the
/// composite Simpson rule on `[a, b]`, with weight `simpson_weight(i, n) · h / 3`. `n` is
/// rounded up to an even number of at least 2; the rounded `n` is returned.
pub fn simpson(a: f64, b: f64, n: usize, mut f: impl FnMut(f64, f64)) -> usize {
    let n = (n.max(2) + 1) & !1;
    let h = (b - a) / n as f64;
    for i in 0..=n {
        f(a + h * i as f64, simpson_weight(i, n) * h / 3.0);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_is_exact_for_polynomials_and_accurate_for_smooth_functions() {
        let (_, w) = gauss_legendre_rule();
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-14);
        let p = integrate(-1.0, 2.0, 1, |x| x.powi(31) - 3.0 * x.powi(4) + 1.0);
        let exact = (2f64.powi(32) - 1.0) / 32.0 - 3.0 * (32.0 + 1.0) / 5.0 + 3.0;
        assert!((p - exact).abs() < 1e-9 * exact.abs());
        let g = integrate(-10.0, 10.0, 32, |x| (-0.5 * x * x).exp());
        assert!((g - (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-13);
        let t = integrate(0.0, 3.0, 32, f64::tanh);
        assert!((t - 3f64.cosh().ln()).abs() < 1e-14);
    }

    #[test]
    fn gauss_legendre_visits_nodes_in_order_with_weights_summing_to_the_width() {
        let mut last = f64::NEG_INFINITY;
        let mut count = 0;
        let mut sum = 0.0;
        gauss_legendre(1.0, 4.0, 3, |x, w| {
            // Nodes within a panel come from the largest root down; panels go left to right.
            assert!((1.0..=4.0).contains(&x) && w > 0.0);
            last = last.max(x);
            count += 1;
            sum += w;
        });
        assert_eq!(count, 3 * GAUSS_POINTS);
        assert!((sum - 3.0).abs() < 1e-14 && last < 4.0);
    }

    #[test]
    fn simpson_is_exact_for_cubics_and_rounds_n_up() {
        let mut s = 0.0;
        let n = simpson(0.0, 2.0, 3, |x, w| s += w * (x * x * x - x));
        assert_eq!(n, 4);
        assert!((s - (4.0 - 2.0)).abs() < 1e-14);
        assert_eq!(
            (0..=4).map(|i| simpson_weight(i, 4)).collect::<Vec<_>>(),
            [1.0, 4.0, 2.0, 4.0, 1.0]
        );
        let mut e = 0.0;
        simpson(0.0, 1.0, 200, |x, w| e += w * x.exp());
        assert!((e - (1f64.exp() - 1.0)).abs() < 1e-11);
    }
}
