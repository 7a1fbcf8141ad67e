//! The `hub` command line: `hub [--config PATH]` serves, `hub hash-password` prints an argon2id
//! hash of a password read on stdin, `backup`, `restore`, `migrate-store` and `check-config`
//! are the operator commands of [`crate::ops`]. Exit codes: 0 after a clean stop, 2 for a
//! configuration error or an operator's mistake, 1 for anything else.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ntr_common::config_error;

use crate::config::Config;
use crate::startup::{Application, Options};
use ntr_common::shutdown;

#[derive(Parser)]
#[command(name = "hub", version = ntr_common::version::VERSION, about = "Live-show announce hub")]
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
    /// Copy the live database to PATH (mode 0600) while the hub keeps serving.
    Backup {
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
    /// Put a backup in place of data_dir/hub.db (the hub must be stopped; the old file is kept).
    Restore {
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
    /// Copy this stopped hub's SQLite database into an empty PostgreSQL database, in one
    /// transaction (a failed run leaves nothing behind: run it again).
    MigrateStore {
        /// The target database, postgres://user@host:port/database.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Check the configuration as a start would, print a summary with secrets masked, and exit
    /// 0 (fine) or 2 (the error names the key).
    CheckConfig,
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
        Command::Backup { path } => backup(cli.config, &path),
        Command::Restore { path } => restore(cli.config, &path),
        Command::MigrateStore { to } => migrate_store(cli.config, &to),
        Command::CheckConfig => check_config(cli.config),
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
            return config_error::report("hub", e);
        }
    };
    let reset = match &config.store.url {
        None => crate::secrets::reset_password(&config).map_err(|e| e.to_string()),
        Some(url) => reset_shared_password(&config, url),
    };
    match reset {
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

/// `hub reset-password` on PostgreSQL: the new password goes to the database, where every
/// replica reads it at its next start.
fn reset_shared_password(
    config: &Config,
    url: &crate::store::DatabaseUrl,
) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let store = crate::store::Store::connect(url.expose())
            .await
            .map_err(|e| e.to_string())?;
        crate::secrets::resolve_shared(config, &store)
            .await
            .map_err(|e| e.to_string())?;
        let password = crate::secrets::reset_password(config).map_err(|e| e.to_string())?;
        crate::secrets::share(config, &store)
            .await
            .map_err(|e| e.to_string())?;
        Ok(password)
    })
}

/// Loads the configuration for a command that is not `serve`; the error is printed already.
fn load_or_exit(config_path: Option<&std::path::Path>) -> Result<Config, ExitCode> {
    Config::load(config_path).map_err(|e| config_error::report("hub", e))
}

/// `hub backup` and `hub restore` act on the SQLite file: with PostgreSQL its own tools do.
fn on_postgres(command: &str, url: &crate::store::DatabaseUrl) -> ExitCode {
    let tool = if command == "backup" {
        "pg_dump -Fc"
    } else {
        "pg_restore"
    };
    eprintln!(
        "hub: {command} works on the embedded SQLite database; this hub's data is in PostgreSQL \
         at {url}: use {tool} there (see docs/scaling.md)"
    );
    ExitCode::from(2)
}

/// Prints an operator command's error and turns it into its exit code.
fn ops_failed(e: &crate::ops::OpsError) -> ExitCode {
    eprintln!("hub: {e}");
    ExitCode::from(e.exit_code())
}

fn backup(config_path: Option<PathBuf>, path: &std::path::Path) -> ExitCode {
    let config = match load_or_exit(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(url) = &config.store.url {
        return on_postgres("backup", url);
    }
    match crate::ops::backup::backup(&config.hub.data_dir, path) {
        Ok(r) => {
            println!(
                "backed up {} announces (last seq {}, schema {}) to {}: {} bytes in {} ms",
                r.summary.announcements,
                r.summary.last_seq.unwrap_or(0),
                r.summary.schema_version,
                r.path.display(),
                r.bytes,
                r.elapsed.as_millis()
            );
            ExitCode::SUCCESS
        }
        Err(e) => ops_failed(&e),
    }
}

fn restore(config_path: Option<PathBuf>, path: &std::path::Path) -> ExitCode {
    let config = match load_or_exit(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(url) = &config.store.url {
        return on_postgres("restore", url);
    }
    match crate::ops::restore::restore(&config.hub.data_dir, path) {
        Ok(r) => {
            println!(
                "restored {} ({} announces, schema {}) as {}",
                path.display(),
                r.summary.announcements,
                r.summary.schema_version,
                r.database.display()
            );
            if let Some(aside) = &r.kept_aside {
                println!("the previous database is kept as {}", aside.display());
            }
            println!("the next announce gets seq {}; start the hub", r.next_seq);
            if let Some(warning) = &r.warning {
                eprintln!("hub: warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => ops_failed(&e),
    }
}

fn migrate_store(config_path: Option<PathBuf>, url: &str) -> ExitCode {
    let config = match load_or_exit(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hub: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let terminal = std::io::stderr().is_terminal();
    let mut show = |p: crate::store::copy::TableProgress| show_progress(p, terminal);
    let copied = runtime.block_on(crate::ops::migrate::migrate_store(
        &config.hub.data_dir,
        url,
        &mut show,
    ));
    match copied {
        Ok(r) => {
            let rows: u64 = r.tables.iter().map(|t| t.copied).sum();
            println!(
                "copied {rows} rows of {} tables in {} ms; start the hub on the new database",
                r.tables.len(),
                r.elapsed.as_millis()
            );
            ExitCode::SUCCESS
        }
        Err(e) => ops_failed(&e),
    }
}

/// One table's progress on stderr: a line rewritten in place on a terminal, else one line per
/// table once it is copied.
fn show_progress(p: crate::store::copy::TableProgress, terminal: bool) {
    let done = p.copied >= p.total;
    if terminal {
        eprint!("\r{:<20} {}/{}", p.table, p.copied, p.total);
        if done {
            eprintln!();
        }
    } else if done {
        eprintln!("{:<20} {}/{}", p.table, p.copied, p.total);
    }
}

fn check_config(config_path: Option<PathBuf>) -> ExitCode {
    let config = match load_or_exit(config_path.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // A start refuses a bad RUST_LOG as a configuration error; so does the check.
    if let Err(e) = ntr_common::logging::init() {
        return config_error::report("hub", e);
    }
    match crate::ops::check::check(&config, config_path.as_deref()) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => ops_failed(&e),
    }
}

fn serve(config_path: Option<PathBuf>) -> ExitCode {
    let config = match Config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            return config_error::report("hub", e);
        }
    };
    if let Err(e) = ntr_common::logging::init() {
        return config_error::report("hub", e);
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
                return ExitCode::from(e.exit_code());
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
            note_password_shown(&app, &first.secrets_path).await;
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

/// Notes that the generated password was shown (in the database too, on PostgreSQL), so later
/// starts stay quiet.
async fn note_password_shown(app: &Application, path: &std::path::Path) {
    let mut noted = crate::secrets::mark_password_shown(path);
    let state = app.state();
    if noted.is_ok() && state.store.is_shared() {
        noted = crate::secrets::share(&state.config, &state.store).await;
    }
    if let Err(e) = noted {
        tracing::warn!(error = %e, "cannot note that the password was shown; it will be shown again");
    }
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
