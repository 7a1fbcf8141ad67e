//! `irc-relay --config PATH`: the binary. Parses the flag, sets up logging (`RUST_LOG`) and
//! runs the relay until SIGINT or SIGTERM.
//!
//! A configuration error (a bad file or a bad `RUST_LOG`) is one line on stderr and exit code
//! 2, so scripts and service managers can tell "fix the file" from a crash.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

/// Posts the hub's announcements into IRC channels.
#[derive(Debug, Parser)]
#[command(name = "irc-relay", version)]
struct Args {
    /// TOML file with [relay] and [irc] sections (NTR_… environment variables override it).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match irc_relay::Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("irc-relay: config error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = ntr_common::logging::init() {
        eprintln!("irc-relay: config error: {e}");
        return ExitCode::from(2);
    }
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("irc-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: irc_relay::Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let signal = ntr_common::shutdown::os_signal().context("installing signal handlers")?;
        irc_relay::run(config, async {
            signal.await;
        })
        .await;
        Ok(())
    })
}
