//! `ipbn`: reproduce the figures, list the IP rules, check the claims, train and sweep.

use clap::{Parser, Subcommand};
use ipbn_reports::error::CliError;

/// Intrinsic plasticity and batch normalisation: figures, rules, claims, training.
#[derive(Parser, Debug)]
#[command(name = "ipbn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    // COMMANDS (each command lives in its own module `cmd_*.rs`)
    Bench(ipbn_reports::cmd_bench::BenchArgs),
    Reproduce(ipbn_reports::cmd_reproduce::ReproduceArgs),
    Train(ipbn_reports::cmd_train::TrainArgs),
    Sweep(ipbn_reports::cmd_sweep::SweepArgs),
    /// List every registered IP rule with its activation, target, parameters and source.
    Rules(ipbn_reports::cmd_rules::RulesArgs),
    /// Run every claim of the claims suite with many random cases and print a table.
    Claims(ipbn_reports::cmd_claims::ClaimsArgs),
    /// Download the standard datasets (`ipbn data fetch NAME`) or list the cache (`ipbn data list`).
    Data(ipbn_reports::cmd_data::DataArgs),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    std::process::exit(0);
                }
                _ => {
                    let _ = e.print();
                    std::process::exit(2);
                }
            }
        }
    };
    let result = match cli.command {
        None => ipbn_reports::cmd_reproduce::run(&Default::default()),
        // DISPATCH
        Some(Command::Bench(a)) => ipbn_reports::cmd_bench::run(&a),
        Some(Command::Reproduce(a)) => ipbn_reports::cmd_reproduce::run(&a),
        Some(Command::Train(a)) => ipbn_reports::cmd_train::run(&a),
        Some(Command::Sweep(a)) => ipbn_reports::cmd_sweep::run(&a),
        Some(Command::Rules(a)) => ipbn_reports::cmd_rules::run(&a),
        Some(Command::Claims(a)) => ipbn_reports::cmd_claims::run(&a),
        Some(Command::Data(a)) => ipbn_reports::cmd_data::run(&a),
    };
    if let Err(e) = result {
        report(&e);
        std::process::exit(e.exit_code());
    }
}

fn report(e: &CliError) {
    eprintln!("ipbn: error: {e}");
}
