//! `irc-relay --config PATH`: the binary. Parses the flag, sets up logging (`RUST_LOG`) and
//! runs the relay until SIGINT or SIGTERM. `irc-relay --config PATH check-config` only loads the
//! configuration and prints a summary with secrets masked.
//!
//! A configuration error (a bad file, a bad `RUST_LOG` or a `state_dir` that cannot be
//! created or written) is one line on stderr and exit code
//! 2, so scripts and service managers can tell "fix the file" from a crash.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use ntr_common::config_error;

const BINARY: &str = "irc-relay";

/// Posts the hub's announcements into IRC channels.
#[derive(Debug, Parser)]
#[command(name = "irc-relay", version = ntr_common::version::VERSION)]
struct Args {
    /// TOML file with [relay] and [irc] sections (NTR_… environment variables override it).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Load the configuration as a start would, print a summary with secrets masked, and exit
    /// 0 (fine) or 2 (the error names the key).
    CheckConfig,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match irc_relay::Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(e) => return config_error::report(BINARY, e),
    };
    if let Err(e) = ntr_common::logging::init() {
        return config_error::report(BINARY, e);
    }
    // Checked before check-config too: it promises the checks a start makes.
    if let Err(error) = prepare_state_dir(&config) {
        return config_error::report(BINARY, error);
    }
    if let Some(Command::CheckConfig) = args.command {
        print!(
            "{}",
            irc_relay::check::summary(&config, args.config.as_deref())
        );
        return ExitCode::SUCCESS;
    }
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{BINARY}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Creates `[relay] state_dir` if needed and makes sure the relay can write there. A folder
/// the operator named must work; the default one may not (a v2 unit with a read-only file
/// system and no working directory of its own), and then the relay runs as a v2 relay did,
/// with a warning (the relay's own start says it again).
fn prepare_state_dir(config: &irc_relay::Config) -> Result<(), String> {
    let dir = &config.relay.state_dir;
    match irc_relay::posted::prepare(dir) {
        Err(e) if config.relay.state_dir_configured => Err(format!(
            "relay.state_dir: cannot write to {}: {e}",
            dir.display()
        )),
        _ => Ok(()),
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
