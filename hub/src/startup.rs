//! Builds the hub from its configuration — secrets, database, SoundCloud client, poller,
//! broadcaster, router — and runs it until the shutdown signal. Tests use this same code on
//! port 0 with a fresh data directory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

use crate::alerts::Alerts;
use crate::announce::Announcer;
use crate::auth::Tokens;
use crate::auth::login_counter::LoginCounter;
use crate::auth::logins::Logins;
use crate::auth::session::SessionKeys;
use crate::broadcast::Broadcaster;
use crate::config::Config;
use crate::http::server::Server;
use crate::http::server::deadline::Timeouts;
use crate::http::server::limits::{self, ConnectionLimits};
use crate::http::state::AppState;
use crate::lock::DataDirLock;
use crate::metrics::Metrics;
use crate::poller::{PollIntervals, Pollers};
use crate::relays::Relays;
use crate::relays::metrics::RelayMetrics;
use crate::replica::{Heard, Replica};
use crate::soundcloud::{RetryPolicy, SoundcloudClient};
use crate::store::{Store, StoreError};
use crate::targets::Targets;
use crate::{http, relays, secrets};
use ntr_common::backoff::Backoff;
use ntr_common::shutdown::Shutdown;

/// Knobs that are not configuration: tests shorten SoundCloud's backoff, for instance.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub retry: RetryPolicy,
    /// Do not poll on a schedule (tests poll through `/admin/refresh` when they choose).
    pub no_scheduled_polls: bool,
    /// Request head and keep-alive idle limits (tests shorten them to see them act).
    pub timeouts: Timeouts,
    /// How `[[targets]]` deliveries are timed (tests shorten the give-up time and backoff).
    pub targets: crate::targets::Timings,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    #[error(transparent)]
    Secrets(#[from] secrets::SecretsError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(
        "cannot reach PostgreSQL at {host} for 30 s ({message}): is it running, and does [store] url name it?"
    )]
    Unreachable { host: String, message: String },
    #[error("cannot listen on {addr}: {message}")]
    Listen { addr: SocketAddr, message: String },
    #[error("cannot create the HTTP client: {0}")]
    Http(#[from] crate::soundcloud::SoundcloudError),
    #[error(transparent)]
    Targets(#[from] crate::targets::ClientError),
    #[error(transparent)]
    SessionKey(#[from] crate::auth::session::InvalidSessionKey),
    #[error(transparent)]
    Logins(#[from] crate::auth::logins::NoLogins),
}

impl StartupError {
    /// 2 for what the operator must fix before any start can work (like a configuration
    /// error), 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartupError::Store(
                crate::store::StoreError::Newer { .. }
                | crate::store::StoreError::NewerPostgres { .. }
                | crate::store::StoreError::ReplicaTaken(_),
            ) => 2,
            _ => 1,
        }
    }
}

/// A v2 database's weeks and announces name no show: they become `legacy_show`'s, said once.
async fn adopt_v2_weeks(
    store: &Store,
    legacy_show: &crate::station::ShowSlug,
) -> Result<(), StartupError> {
    let weeks = store.adopt_unnamed(legacy_show).await?;
    if weeks > 0 {
        tracing::info!(
            weeks,
            show = %legacy_show,
            "the weeks and announces of a database from before stations now belong to this show"
        );
    }
    Ok(())
}

/// Credentials shown once, on the start that generated them.
#[derive(Debug, Clone)]
pub struct FirstStart {
    pub dashboard_url: String,
    pub username: String,
    pub password: String,
    /// Where the password is kept, to note once it has been shown.
    pub secrets_path: std::path::PathBuf,
}

impl FirstStart {
    /// What the first start prints, when it generated the dashboard password.
    fn of(config: &Config, resolved: &secrets::Resolved) -> Option<FirstStart> {
        resolved.new_password.clone().map(|password| FirstStart {
            dashboard_url: format!("{}dashboard", public_base(config)),
            username: config.dashboard.username.clone(),
            password,
            secrets_path: resolved.path.clone(),
        })
    }
}

pub struct Application {
    listener: TcpListener,
    /// This hub's session with the database, until `run` hands it to its task.
    replica: Replica,
    state: AppState,
    first_start: Option<FirstStart>,
    options: Options,
    /// Held until `run` returns: no second hub or restore touches the data directory meanwhile.
    _lock: DataDirLock,
}

impl Application {
    pub async fn build(config: Config, options: Options) -> Result<Application, StartupError> {
        let lock = DataDirLock::acquire(&config.hub.data_dir)?;
        let (store, resolved) = open_data(&config).await?;
        let pollers = pollers(&config, &options, &store).await?;
        let listener = bind(config.hub.listen).map_err(|e| StartupError::Listen {
            addr: config.hub.listen,
            message: e.to_string(),
        })?;
        let replica = Replica::join(&store, replica_name(&config, &listener)).await?;
        let first_start = FirstStart::of(&config, &resolved);
        let targets =
            crate::targets::Targets::new(config.targets.clone(), options.targets.clone())?;
        targets.init(&store).await?;
        let secure = config.hub.public_url.scheme() == "https";
        let sessions =
            SessionKeys::new(&resolved.secret_key, secure, config.dashboard.session_hours)?;
        end_sessions_of_other_passwords(&store, &sessions, &resolved, &config).await?;
        let logins = Logins::new(resolved.logins.iter().map(|l| l.login.clone()).collect())?;
        let names = resolved.relays.iter().map(|r| r.name.clone()).collect();
        let relays = Relays::load(names, &config.hub.relay_shows, &store, &replica.name).await?;
        let pollers = Arc::new(pollers);
        let broadcaster = Broadcaster::start(store.clone(), store.last_seq().await?);
        let mut metrics = Metrics::new(Arc::clone(&pollers), broadcaster.clone());
        metrics.add_collector(Box::new(RelayMetrics(relays.clone())));
        let metrics = Arc::new(metrics);
        let announcer = announcer(&config, &store, &targets, &broadcaster, &metrics);
        let acks = crate::acks::Acks::new(store.clone(), Arc::clone(&metrics), broadcaster.clone());
        let state = AppState {
            tokens: Arc::new(Tokens::new(
                resolved.admin_token.clone(),
                resolved.relays.clone(),
                config.hub.tokens.clone(),
            )),
            sessions: Arc::new(sessions),
            logins: Arc::new(logins),
            login_limiter: Arc::new(LoginCounter::for_store(&store)),
            password_checks: Default::default(),
            metrics,
            acks,
            announcer,
            broadcaster,
            relays,
            playlist_cache: Arc::default(),
            pollers,
            store,
            targets,
            config: Arc::new(config),
            replica: Arc::from(replica.name.as_str()),
        };
        Ok(Application {
            listener,
            replica,
            state,
            first_start,
            options,
            _lock: lock,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn first_start(&self) -> Option<&FirstStart> {
        self.first_start.as_ref()
    }

    /// Serves until `shutdown` fires, then finishes open requests and closes WebSockets (1001).
    pub async fn run(self, shutdown: Shutdown) -> std::io::Result<()> {
        let state = self.state.clone();
        let leadership = self.replica.leadership();
        let heard = Heard {
            broadcaster: state.broadcaster.clone(),
            targets: state.targets.clone(),
            relays: state.relays.clone(),
        };
        // The session outlives the server and the workers: letting go of the leadership while
        // a send is finishing would let another replica send that line again.
        let (let_go, session_end) = ntr_common::shutdown::channel();
        let replica = tokio::spawn(self.replica.run(heard, session_end));
        let workers = state
            .targets
            .spawn(&state.store, &state.acks, &leadership, &shutdown);
        if !self.options.no_scheduled_polls {
            state.pollers.spawn(&leadership, &shutdown);
        }
        spawn_housekeeping(&state, &shutdown);
        let relays = state.relays.clone();
        let store = state.store.clone();
        let hub = &state.config.hub;
        let server = Server {
            limits: ConnectionLimits::new(
                limits::PER_ADDRESS,
                hub.max_connections,
                &hub.trusted_proxies,
            ),
            timeouts: self.options.timeouts,
            router: http::router(state.clone(), shutdown.clone(), self.options.timeouts.body),
        };
        server.run(self.listener, shutdown).await;
        workers.finish().await;
        let_go.fire();
        let _ = replica.await;
        // Sockets that were still writing when the server stopped moved cursors too.
        if let Err(e) = relays.flush(&store).await {
            tracing::warn!(error = %e, "cannot save relay cursors at shutdown");
        }
        Ok(())
    }
}

/// The tasks every replica runs beside the server until `shutdown`: status frames, held
/// announces' releases, reminders, show changes and relay frames for dashboards, and the saving
/// of relay cursors.
fn spawn_housekeeping(state: &AppState, shutdown: &Shutdown) {
    tokio::spawn(state.broadcaster.clone().run_status(shutdown.clone()));
    tokio::spawn(crate::holds::run_releases(
        state.announcer.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(crate::alerts::run_reminders(
        state.announcer.alerts.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(
        state
            .broadcaster
            .clone()
            .run_show_changes(state.store.show_changes(), shutdown.clone()),
    );
    tokio::spawn(relays::run_flusher(
        state.relays.clone(),
        state.store.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(relays::frames::run_frames(
        state.relays.clone(),
        state.broadcaster.clone(),
        shutdown.clone(),
    ));
}

/// A changed dashboard password (in the configuration, or by `hub reset-password`) ends the
/// sessions made under the old one: whoever knew it may be the reason it changed. With one
/// user (`[dashboard] username`) that is every session; with `[[dashboard.users]]`, each
/// user's password ends that user's sessions only.
async fn end_sessions_of_other_passwords(
    store: &Store,
    sessions: &SessionKeys,
    resolved: &secrets::Resolved,
    config: &Config,
) -> Result<(), StartupError> {
    if config.dashboard.users.is_empty() {
        for login in &resolved.logins {
            let fingerprint = sessions.password_fingerprint(&login.password_identity);
            let ended = store.end_sessions_of_other_passwords(fingerprint).await?;
            if ended > 0 {
                tracing::info!(ended, "the dashboard password changed: its sessions ended");
            }
        }
        return Ok(());
    }
    for login in &resolved.logins {
        let user = login.login.name.clone();
        let fingerprint = sessions.password_fingerprint(&login.password_identity);
        let ended = store
            .end_sessions_of_changed_password(user.clone(), fingerprint)
            .await?;
        if ended > 0 {
            tracing::info!(ended, %user, "a dashboard user's password changed: their sessions ended");
        }
    }
    Ok(())
}

/// The store (its schema brought up to date, a v2 database's weeks adopted) and the secrets,
/// kept in the database when replicas share it.
async fn open_data(config: &Config) -> Result<(Store, secrets::Resolved), StartupError> {
    let store = open_store(config).await?;
    let resolved = match &config.store.url {
        None => secrets::resolve(config)?,
        Some(_) => secrets::resolve_shared(config, &store).await?,
    };
    adopt_v2_weeks(&store, &config.store.legacy_show).await?;
    Ok((store, resolved))
}

/// How long a start waits for a PostgreSQL that cannot be reached (it may be starting too).
const STORE_WAIT: Duration = Duration::from_secs(30);

/// Opens the store `[store]` names: SQLite in the data directory, or the PostgreSQL database,
/// waited for up to [`STORE_WAIT`] when it cannot be reached.
async fn open_store(config: &Config) -> Result<Store, StartupError> {
    let Some(url) = &config.store.url else {
        return Ok(Store::open(&config.hub.data_dir)?);
    };
    let deadline = tokio::time::Instant::now() + STORE_WAIT;
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));
    loop {
        match Store::connect(url.expose()).await {
            Err(StoreError::Connect { message, .. }) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(database = %url, error = %message, "waiting for PostgreSQL");
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(StoreError::Connect { message, .. }) => {
                return Err(StartupError::Unreachable {
                    host: url.host().to_owned(),
                    message,
                });
            }
            other => return Ok(other?),
        }
    }
}

/// `[store] replica`, else `HOSTNAME:PORT` of the address the hub listens on.
fn replica_name(config: &Config, listener: &TcpListener) -> String {
    if let Some(name) = &config.store.replica {
        return name.clone();
    }
    let host = whoami::hostname().unwrap_or_else(|_| "localhost".to_owned());
    let port = listener
        .local_addr()
        .map_or(config.hub.listen.port(), |a| a.port());
    format!("{host}:{port}")
}

/// Kernel send buffer per connection. Linux would otherwise grow it to megabytes for a client
/// that stops reading; bounded, a stalled subscriber falls behind the broadcast soon (and is
/// closed with 4008) instead of parking a megabyte of announces in the kernel.
const SEND_BUFFER: u32 = 64 * 1024;

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // A restarted hub must not wait for the old connections' TIME_WAIT to end.
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(SEND_BUFFER)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// One SoundCloud poller per show that polls, sharing one client.
async fn pollers(
    config: &Config,
    options: &Options,
    store: &Store,
) -> Result<Pollers, StartupError> {
    let client = SoundcloudClient::new(config.soundcloud.clone(), options.retry.clone())?;
    let intervals = PollIntervals {
        normal: Duration::from_secs(config.soundcloud.poll_interval_seconds),
        live: Duration::from_secs(config.soundcloud.live_poll_interval_seconds),
    };
    Ok(Pollers::new(client, store, &config.station, intervals).await)
}

/// The announce path and the go-live alerts it fires, over the parts `build` made.
fn announcer(
    config: &Config,
    store: &Store,
    targets: &Targets,
    broadcaster: &Broadcaster,
    metrics: &Arc<Metrics>,
) -> Announcer {
    let station = Arc::new(config.station.clone());
    let alerts = Alerts::new(
        store.clone(),
        Arc::clone(&station),
        targets.clone(),
        show_pages(config),
    );
    Announcer {
        store: store.clone(),
        broadcaster: broadcaster.clone(),
        targets: targets.clone(),
        alerts,
        metrics: Arc::clone(metrics),
        station,
        keyed: Arc::default(),
        held: Arc::default(),
        next: Arc::default(),
    }
}

/// Each show's public page, absolute: what a go-live alert links to.
fn show_pages(config: &Config) -> HashMap<String, String> {
    let station = &config.station;
    station
        .shows()
        .iter()
        .map(|def| {
            let page = crate::feeds::absolute(config, &station.page_path(def));
            (def.slug.to_string(), page)
        })
        .collect()
}

fn public_base(config: &Config) -> String {
    let url = config.hub.public_url.as_str();
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}
