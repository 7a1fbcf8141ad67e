//! The `hub` command line: `hub [--config PATH]` serves, `hub hash-password` prints an argon2id
//! hash of a password read on stdin. Exit codes: 0 after a clean stop, 2 for a configuration
//! error, 1 for anything else.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::shutdown;
use crate::startup::{Application, Options};

#[derive(Parser)]
#[command(name = "hub", version, about = "Live-show announce hub")]
struct Cli {
    /// TOML configuration file (see config.example.toml); NTR_… variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub (the default).
    Serve,
    /// Read a password on stdin and print its argon2id hash for `dashboard.password_hash`.
    HashPassword,
    /// Generate a new dashboard password, save it in data_dir/secrets.toml and print it
    /// (restart a running hub to use it).
    ResetPassword,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::HashPassword => hash_password(),
        Command::ResetPassword => reset_password(cli.config),
        Command::Serve => serve(cli.config),
    }
}

fn hash_password() -> ExitCode {
    if std::io::stdin().is_terminal() {
        eprintln!("Type the password and press Enter:");
    }
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("hub: cannot read stdin: {e}");
        return ExitCode::from(1);
    }
    let password = line.trim_end_matches(['\r', '\n']);
    match crate::auth::password::hash(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hub: {e}");
            ExitCode::from(2)
        }
    }
}

fn reset_password(config_path: Option<PathBuf>) -> ExitCode {
    let config = match Config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hub: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    match crate::secrets::reset_password(&config) {
        Ok(password) => {
            println!("Username:  {}", config.dashboard.username);
            println!("Password:  {password}");
            println!("(restart the hub for the new password to take effect)");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hub: {e}");
            ExitCode::from(2)
        }
    }
}

fn serve(config_path: Option<PathBuf>) -> ExitCode {
    let config = match Config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hub: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = ntr_common::logging::init() {
        eprintln!("hub: configuration error: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hub: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let app = match Application::build(config, Options::default()).await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("hub: {e}");
                return ExitCode::from(1);
            }
        };
        let addr = app.local_addr().map(|a| a.to_string()).unwrap_or_default();
        if let Some(first) = app.first_start() {
            println!("Dashboard: {}", first.dashboard_url);
            println!("Username:  {}", first.username);
            println!("Password:  {}", first.password);
            println!(
                "(shown once; it is kept in {})",
                app.state()
                    .config
                    .hub
                    .data_dir
                    .join(crate::secrets::FILE_NAME)
                    .display()
            );
            if let Err(e) = crate::secrets::mark_password_shown(&first.secrets_path) {
                tracing::warn!(error = %e, "cannot note that the password was shown; it will be shown again");
            }
        }
        let shutdown = match stop_on_signal() {
            Ok(shutdown) => shutdown,
            Err(e) => {
                eprintln!("hub: cannot install the signal handlers: {e}");
                return ExitCode::from(1);
            }
        };
        tracing::info!(%addr, "hub listening");
        match app.run(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hub: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// The stop signal, fired by the first SIGTERM or SIGINT.
fn stop_on_signal() -> std::io::Result<shutdown::Shutdown> {
    let signal = ntr_common::shutdown::os_signal()?;
    let (trigger, shutdown) = shutdown::channel();
    tokio::spawn(async move {
        signal.await;
        trigger.fire();
    });
    Ok(shutdown)
}
