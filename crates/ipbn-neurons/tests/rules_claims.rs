//! The rule claims through the public claims API: each holds with a modest case count, and an
//! ignored test runs them with 10,000 cases and prints the table
//! (`cargo test --release -p ipbn-neurons --test rules_claims -- --ignored --nocapture`).

use ipbn_neurons::claims;
use std::time::Instant;

const RULE_CLAIMS: [&str; 6] = [
    "rule-is-gradient",
    "target-fixed-point",
    "equilibria",
    "affine-covariance",
    "moment-matching-is-bn",
    "rule-limits",
];

#[test]
fn rule_claims_are_registered_and_hold() {
    for id in RULE_CLAIMS {
        let c = claims::find(id).unwrap_or_else(|| panic!("claim {id} is not registered"));
        assert!(!c.statement.is_empty());
        let r = (c.run)(200, 2015);
        assert_eq!(r.id, id);
        assert_eq!(r.cases, 200);
        assert!(r.holds, "{id}: {}", r.detail);
        assert!(r.worst_error <= r.tolerance && r.worst_error.is_finite());
    }
}

#[test]
fn same_seed_same_report() {
    for id in RULE_CLAIMS {
        let c = claims::find(id).unwrap();
        assert_eq!((c.run)(20, 11), (c.run)(20, 11), "{id}");
    }
}

#[test]
#[ignore = "10,000 cases per claim; run with --release -- --ignored --nocapture"]
fn rule_claims_10000_cases() {
    println!(
        "{:<22} {:>8} {:>12} {:>10} {:>8}  verdict",
        "claim", "cases", "worst error", "tolerance", "seconds"
    );
    let total = Instant::now();
    for id in RULE_CLAIMS {
        let c = claims::find(id).unwrap();
        let t = Instant::now();
        let r = (c.run)(10_000, 2015);
        println!(
            "{:<22} {:>8} {:>12.3e} {:>10.1e} {:>8.2}  {}",
            r.id,
            r.cases,
            r.worst_error,
            r.tolerance,
            t.elapsed().as_secs_f64(),
            if r.holds { "holds" } else { "FAILS" }
        );
        assert!(r.holds, "{id}: {}", r.detail);
    }
    println!("total {:.2} s", total.elapsed().as_secs_f64());
}
