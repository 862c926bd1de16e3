//! Central finite differences: the derivative of a function of one variable and the
//! gradient of a function of a slice.
//!
//! Three stencils ([`Stencil`]), each of which evaluates its function at `x ± h` (and
//! `x ± 2h` or `x ± h/2`) in a fixed order:
//!
//! | stencil | estimate | truncation | rounding |
//! |---|---|---|---|
//! | [`Stencil::Central`] | `(f(x⁺) − f(x⁻)) / (x⁺ − x⁻)` | O(h²) | ≈ ε·\|f\|/h |
//! | [`Stencil::FivePoint`] | `(8 (f(x+h) − f(x−h)) − (f(x+2h) − f(x−2h))) / 12h` | O(h⁴) | ≈ 1.5 ε·\|f\|/h |
//! | [`Stencil::Richardson`] | `(4 D(h/2) − D(h)) / 3`, `D` the central stencil | O(h⁴) | ≈ 2 ε·\|f\|/h |
//!
//! The central stencil divides by the difference of the two arguments as they are stored
//! (`x⁺ = x + h`, `x⁻ = x − h` rounded), which removes the error of an `h` that is not
//! exactly representable next to `x`.
//!
//! ## Choosing the step
//!
//! The total error is truncation plus rounding, smallest where the two balance: for an O(1)
//! function with O(1) derivatives, `h ≈ ε^(1/3) ≈ 6e-6` for the central stencil and
//! `h ≈ ε^(1/5) ≈ 7e-4` for the fourth-order ones ([`Stencil::optimal_step`] returns these,
//! scaled by `max(|x|, 1)`). Callers whose functions have a natural length scale (a standard
//! deviation, a gain α) should pass a step in that scale instead, e.g. `1e-4 · α`.

/// A finite-difference stencil (see the [module docs](self) for the formulas).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stencil {
    /// Two points, `x ± h`; second order.
    Central,
    /// Four points, `x ± h` and `x ± 2h`; fourth order.
    FivePoint,
    /// Central differences at `h` and `h/2`, Richardson-extrapolated; fourth order.
    Richardson,
}

impl Stencil {
    /// The step that balances truncation against rounding for an O(1) function with O(1)
    /// derivatives at `x`: `ε^(1/3) · max(|x|, 1)` for [`Stencil::Central`],
    /// `ε^(1/5) · max(|x|, 1)` for the fourth-order stencils.
    pub fn optimal_step(self, x: f64) -> f64 {
        let p = match self {
            Stencil::Central => 1.0 / 3.0,
            Stencil::FivePoint | Stencil::Richardson => 1.0 / 5.0,
        };
        f64::EPSILON.powf(p) * x.abs().max(1.0)
    }
}

/// Estimates `f′(x)` with `stencil` and step `h`.
///
/// ```
/// use ipbn_math::numeric::{derivative, Stencil};
/// let d = derivative(f64::sin, 0.5, 1e-3, Stencil::FivePoint);
/// assert!((d - 0.5f64.cos()).abs() < 1e-12);
/// ```
pub fn derivative(mut f: impl FnMut(f64) -> f64, x: f64, h: f64, stencil: Stencil) -> f64 {
    match try_derivative(|v| Ok::<f64, std::convert::Infallible>(f(v)), x, h, stencil) {
        Ok(d) => d,
        Err(never) => match never {},
    }
}

/// [`derivative`] for a fallible function: the first error of an evaluation is returned.
///
/// # Errors
/// Whatever `f` returns.
pub fn try_derivative<E>(
    mut f: impl FnMut(f64) -> Result<f64, E>,
    x: f64,
    h: f64,
    stencil: Stencil,
) -> Result<f64, E> {
    let mut central = |step: f64| -> Result<f64, E> {
        let (xp, xm) = (x + step, x - step);
        let (fp, fm) = (f(xp)?, f(xm)?);
        Ok((fp - fm) / (xp - xm))
    };
    match stencil {
        Stencil::Central => central(h),
        Stencil::Richardson => {
            let d1 = central(h)?;
            let d2 = central(h / 2.0)?;
            Ok((4.0 * d2 - d1) / 3.0)
        }
        Stencil::FivePoint => {
            let (p1, m1) = (f(x + h)?, f(x - h)?);
            let (p2, m2) = (f(x + 2.0 * h)?, f(x - 2.0 * h)?);
            Ok((8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h))
        }
    }
}

/// The gradient of `f` at `p` by `stencil`, entry `i` with step `steps[i]` (the last step
/// repeats if `steps` is shorter than `p`; an empty `steps` uses
/// [`Stencil::optimal_step`]). `p` is perturbed one entry at a time and restored exactly
/// before the next, so on return it holds its original values.
pub fn gradient(
    p: &mut [f64],
    steps: &[f64],
    stencil: Stencil,
    mut f: impl FnMut(&[f64]) -> f64,
) -> Vec<f64> {
    match try_gradient(p, steps, stencil, |v| {
        Ok::<f64, std::convert::Infallible>(f(v))
    }) {
        Ok(g) => g,
        Err(never) => match never {},
    }
}

/// [`gradient`] for a fallible function. `p` is restored before an error is returned.
///
/// # Errors
/// Whatever `f` returns.
pub fn try_gradient<E>(
    p: &mut [f64],
    steps: &[f64],
    stencil: Stencil,
    mut f: impl FnMut(&[f64]) -> Result<f64, E>,
) -> Result<Vec<f64>, E> {
    let mut out = Vec::with_capacity(p.len());
    for i in 0..p.len() {
        let v = p[i];
        let h = match steps.get(i).or(steps.last()) {
            Some(&h) => h,
            None => stencil.optimal_step(v),
        };
        let d = try_derivative(
            |x| {
                p[i] = x;
                f(p)
            },
            v,
            h,
            stencil,
        );
        p[i] = v;
        out.push(d?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stencils_reach_their_order() {
        // exp at 0.3: the error of each stencil shrinks as its order says when h halves.
        let x = 0.3f64;
        let exact = x.exp();
        for (stencil, order) in [
            (Stencil::Central, 2.0),
            (Stencil::FivePoint, 4.0),
            (Stencil::Richardson, 4.0),
        ] {
            let e1 = (derivative(f64::exp, x, 0.1, stencil) - exact).abs();
            let e2 = (derivative(f64::exp, x, 0.05, stencil) - exact).abs();
            let observed = (e1 / e2).log2();
            assert!(
                (observed - order).abs() < 0.1,
                "{stencil:?}: order {observed}"
            );
        }
    }

    #[test]
    fn optimal_steps_give_near_rounding_accuracy() {
        for stencil in [Stencil::Central, Stencil::FivePoint, Stencil::Richardson] {
            let h = stencil.optimal_step(1.2);
            let d = derivative(f64::sin, 1.2, h, stencil);
            let tol = if stencil == Stencil::Central {
                1e-10
            } else {
                1e-12
            };
            assert!((d - 1.2f64.cos()).abs() < tol, "{stencil:?}: {d}");
        }
        let h = Stencil::Central.optimal_step(-10.0);
        assert!((h / 10.0 - f64::EPSILON.cbrt()).abs() < 1e-18, "{h}");
        let h = Stencil::FivePoint.optimal_step(0.25);
        assert!((h - 7.400959797414e-4).abs() < 1e-15, "{h}");
    }

    #[test]
    fn five_point_matches_its_formula_bit_for_bit() {
        let f = |x: f64| x * x * x - 2.0 * x;
        let (x, h) = (0.7, 1e-4);
        let want = (8.0 * (f(x + h) - f(x - h)) - (f(x + 2.0 * h) - f(x - 2.0 * h))) / (12.0 * h);
        assert_eq!(
            derivative(f, x, h, Stencil::FivePoint).to_bits(),
            want.to_bits()
        );
        // A cubic is differentiated exactly by a fourth-order stencil, up to rounding.
        assert!((want - (3.0 * x * x - 2.0)).abs() < 1e-10);
    }

    #[test]
    fn gradient_restores_the_point_and_uses_per_entry_steps() {
        let mut p = vec![1.0, -2.0, 0.5];
        let before = p.clone();
        let g = gradient(&mut p, &[1e-3, 1e-2], Stencil::Richardson, |v| {
            v[0] * v[0] + v[1].sin() * v[2]
        });
        assert_eq!(p, before);
        let want = [2.0, (-2.0f64).cos() * 0.5, (-2.0f64).sin()];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        // The default step applies when none is given.
        let g = gradient(&mut p, &[], Stencil::Central, |v| v.iter().sum());
        assert!(g.iter().all(|d| (d - 1.0).abs() < 1e-9));
    }

    #[test]
    fn try_gradient_passes_errors_on_and_restores() {
        let mut p = vec![1.0, 2.0];
        let r = try_gradient(&mut p, &[1e-3], Stencil::FivePoint, |v| {
            if v[1] > 2.0 {
                Err("too big")
            } else {
                Ok(v[0] + v[1])
            }
        });
        assert_eq!(r, Err("too big"));
        assert_eq!(p, vec![1.0, 2.0]);
    }
}
