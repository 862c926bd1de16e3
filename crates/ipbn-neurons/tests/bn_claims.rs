//! Runs every batch-normalisation claim of claims.md with a few hundred cases.

use ipbn_neurons::claims;

const CASES: u32 = 256;

fn check(id: &str) {
    let claim = claims::find(id).unwrap_or_else(|| panic!("claim `{id}` is not registered"));
    assert!(!claim.statement.is_empty());
    let report = (claim.run)(CASES, 20_240_601);
    assert_eq!(report.id, id);
    assert_eq!(report.cases, u64::from(CASES), "{report:?}");
    assert!(report.holds, "{report:?}");
    assert!(
        report.worst_error.is_finite() && report.worst_error <= report.tolerance,
        "{report:?}"
    );
}

#[test]
fn bn_is_ip() {
    check("bn-is-ip");
}

#[test]
fn bn_eval_is_affine() {
    check("bn-eval-is-affine");
}

#[test]
fn composition() {
    check("composition");
}

#[test]
fn bn_moments() {
    check("bn-moments");
}

#[test]
fn bn_invariance() {
    check("bn-invariance");
}

#[test]
fn bn_grad_orthogonal() {
    check("bn-grad-orthogonal");
}

#[test]
fn gradients() {
    check("gradients");
}

#[test]
fn tolerances_are_those_of_claims_md() {
    for (id, tol) in [
        ("bn-is-ip", 1e-12),
        ("bn-eval-is-affine", 1e-12),
        ("composition", 1e-12),
        ("bn-moments", 1e-12),
        ("bn-invariance", 1e-12),
        ("bn-grad-orthogonal", 1e-12),
        ("gradients", 1e-6),
    ] {
        let claim = claims::find(id).expect("registered");
        let report = (claim.run)(1, 1);
        assert_eq!(report.tolerance, tol, "{id}");
    }
}

#[test]
fn same_seed_same_report() {
    let claim = claims::find("gradients").expect("registered");
    let a = (claim.run)(16, 99);
    let b = (claim.run)(16, 99);
    assert_eq!(a, b);
    assert!(
        a.worst_error > 0.0,
        "finite differences are never exact: {a:?}"
    );
}
