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
        None => Ok(()),
        // DISPATCH
    };
    if let Err(e) = result {
        report(&e);
        std::process::exit(e.exit_code());
    }
}

fn report(e: &CliError) {
    eprintln!("ipbn: error: {e}");
}
