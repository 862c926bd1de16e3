//! Prints the `ipbn bench` table (training throughput per condition, the GEMM-only bound and
//! the sweep speed-up) from the bench harness.
//!
//! Run with `cargo bench -p ipbn-train --bench throughput`; set `IPBN_BENCH_STEPS`,
//! `IPBN_BENCH_REPS`, `IPBN_BENCH_BLOCK`, `IPBN_BENCH_CONDITIONS` (comma-separated) or `IPBN_BENCH_SWEEP=0` to
//! change the measurement.

use ipbn_train::bench::{run_bench, BenchOptions};

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let mut opts = BenchOptions::default();
    if let Some(s) = env_usize("IPBN_BENCH_STEPS") {
        opts.steps = s;
    }
    if let Some(b) = env_usize("IPBN_BENCH_BLOCK") {
        opts.block = b;
    }
    if let Some(r) = env_usize("IPBN_BENCH_REPS") {
        opts.reps = r;
    }
    if let Ok(list) = std::env::var("IPBN_BENCH_CONDITIONS") {
        match list.split(',').map(str::parse).collect() {
            Ok(c) => opts.conditions = c,
            Err(e) => {
                eprintln!("IPBN_BENCH_CONDITIONS: {e}");
                std::process::exit(2);
            }
        }
    }
    if env_usize("IPBN_BENCH_SWEEP") == Some(0) {
        opts.sweep = None;
    }
    match run_bench(&opts) {
        Ok(report) => print!("{}", report.table()),
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::exit(1);
        }
    }
}
