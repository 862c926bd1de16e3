//! `ipbn claims`: run every claim with many random cases and print a table.

use crate::error::{CliError, CliResult};
use ipbn_train::claims::{self, ClaimReport};
use rayon::prelude::*;

/// Arguments of `ipbn claims`.
#[derive(clap::Args, Debug, Clone)]
pub struct ClaimsArgs {
    /// Random cases per claim.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub cases: u32,
    /// Seed of the case generator (the same seed draws the same cases).
    #[arg(long, default_value_t = 2015)]
    pub seed: u64,
    /// Print a JSON array of `{id, cases, worst_error, tolerance, holds}` instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run only the claims whose id contains this text; given a rule id, run every claim of
    /// that rule's kind on that rule alone.
    #[arg(long)]
    pub only: Option<String>,
}

/// Runs every selected claim (in parallel over claims, each claim single-threaded and seeded)
/// and returns the reports in the registry's order.
pub fn run_claims(cases: u32, seed: u64, only: Option<&str>) -> Vec<ClaimReport> {
    let list: Vec<_> = claims::all()
        .into_iter()
        .filter(|c| only.is_none_or(|o| c.id.contains(o)))
        .collect();
    list.par_iter().map(|c| (c.run)(cases, seed)).collect()
}

/// Runs `ipbn claims`.
pub fn run(args: &ClaimsArgs) -> CliResult {
    // `--only RULE` checks that rule alone with every claim of its kind.
    let rule = args
        .only
        .as_deref()
        .and_then(|o| ipbn_neurons::registry::find(&o.to_ascii_lowercase()));
    let reports = match rule {
        Some(def) => claims::check_rule(&def, args.cases, args.seed)
            .map_err(|e| CliError::Usage(e.to_string()))?,
        None => run_claims(args.cases, args.seed, args.only.as_deref()),
    };
    if reports.is_empty() {
        return Err(CliError::Usage(format!(
            "no claim id contains `{}` and no registered rule has that id; run `ipbn claims` without --only to list the claims, `ipbn rules` for the rules",
            args.only.clone().unwrap_or_default()
        )));
    }
    if args.json {
        let text =
            serde_json::to_string_pretty(&reports).map_err(|e| CliError::Run(e.to_string()))?;
        println!("{text}");
    } else {
        println!(
            "{:<22} {:>8} {:>12} {:>10}  verdict",
            "claim", "cases", "worst error", "tolerance"
        );
        for r in &reports {
            println!(
                "{:<22} {:>8} {:>12.3e} {:>10.1e}  {}",
                r.id,
                r.cases,
                r.worst_error,
                r.tolerance,
                if r.holds { "holds" } else { "fails" }
            );
            if !r.holds {
                println!("    {}", r.detail);
            }
        }
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.holds)
        .map(|r| r.id.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Run(format!(
            "claims that fail: {}",
            failed.join(", ")
        )))
    }
}
