//! Secrets that the config file may leave out — the admin token, a relay token, the dashboard
//! password and the session key — are generated on first start and kept in
//! `data_dir/secrets.toml` (mode 0600), so a hub started with no config at all is safe and the
//! same credentials keep working after a restart.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::auth::logins::Login;
use crate::config::Config;
use crate::relays::{RelayConfig, RelayName};
use crate::station::Rights;
use crate::store::{Store, StoreError};

pub const FILE_NAME: &str = "secrets.toml";
/// Where replicas on PostgreSQL keep the generated secrets (the text of a secrets file), in the
/// store's small key/value table.
pub const SHARED_KEY: &str = "secrets_toml";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    admin_token: Option<String>,
    relay_token: Option<String>,
    dashboard_password: Option<String>,
    /// Whether a start that really served has printed the generated password. Until then every
    /// start prints it: a first start that fails after writing this file (port busy) must not
    /// swallow the only copy the DJ would ever see.
    password_shown: Option<bool>,
    secret_key: Option<String>,
}

/// The credentials the hub runs with, config values taking precedence over generated ones.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub admin_token: String,
    /// The configured relays, or, when none is configured, `relay-1` with the file's token.
    pub relays: Vec<RelayConfig>,
    /// The dashboard's logins: `[[dashboard.users]]`, or the single `[dashboard] username`.
    pub logins: Vec<ResolvedLogin>,
    pub secret_key: Vec<u8>,
    /// The generated dashboard password while no serving start has shown it yet; after
    /// [`mark_password_shown`] only the file has it.
    pub new_password: Option<String>,
    pub path: PathBuf,
}

/// A login with what tells its password from another across restarts: the password itself
/// when the hub knows it (a plain `password`, or the generated one), else the configured
/// hash. Its sessions end when it changes; only its MAC is ever stored.
#[derive(Debug, Clone)]
pub struct ResolvedLogin {
    pub login: Login,
    pub password_identity: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot use {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error(
        "the dashboard password is set in the configuration (dashboard.password or \
         dashboard.password_hash), not in {path}: change it there (`hub hash-password` makes a hash)"
    )]
    Configured { path: PathBuf },
    #[error(
        "the dashboard's users ([[dashboard.users]]) have their passwords in the configuration, \
         not in {path}: change them there (`hub hash-password` makes a hash)"
    )]
    Users { path: PathBuf },
    #[error("cannot keep the secrets in the database: {0}")]
    Store(#[from] StoreError),
}

/// Reads `data_dir/secrets.toml`, generates whatever is missing and still needed, and writes the
/// file back (atomically, mode 0600) only if something was generated.
pub fn resolve(config: &Config) -> Result<Resolved, SecretsError> {
    let dir = &config.hub.data_dir;
    let path = dir.join(FILE_NAME);
    let io_err = |e: std::io::Error| SecretsError::Io {
        path: path.clone(),
        message: e.to_string(),
    };
    let mut file = read_file(&path)?;

    // Each secret: the configured value, else the file's, else a fresh one saved to the file.
    let mut changed = false;
    let mut pick = |configured: Option<&str>, slot: &mut Option<String>, make: fn() -> String| {
        if let Some(value) = configured {
            return value.to_owned();
        }
        slot.get_or_insert_with(|| {
            changed = true;
            make()
        })
        .clone()
    };
    let admin_token = pick(
        config.hub.admin_token.as_deref(),
        &mut file.admin_token,
        random_token,
    );
    let relays = match config.hub.relays.as_slice() {
        [] => vec![RelayConfig {
            name: RelayName::numbered(1),
            token: pick(None, &mut file.relay_token, random_token),
        }],
        configured => configured.to_vec(),
    };
    // Only the single user of a v2 configuration can have a generated password.
    let single_user = config.dashboard.users.is_empty();
    let password = (single_user && config.dashboard.password_hash.is_none())
        .then(|| pick(None, &mut file.dashboard_password, random_password));
    let secret_key = match &config.dashboard.secret_key {
        Some(key) => key.clone(),
        None => pick(None, &mut file.secret_key, random_token).into_bytes(),
    };

    if changed {
        std::fs::create_dir_all(dir).map_err(io_err)?;
        write_private(&path, &file).map_err(io_err)?;
    }

    let logins = if single_user {
        vec![single_login(config, password.as_deref(), &path)?]
    } else {
        config.dashboard.users.iter().map(user_login).collect()
    };
    Ok(Resolved {
        admin_token,
        relays,
        logins,
        secret_key,
        new_password: password.filter(|_| file.password_shown != Some(true)),
        path,
    })
}

/// [`resolve`] for replicas sharing a database: the database holds the generated secrets, so
/// every replica runs with the same ones, generated once by whichever started first. The data
/// directory's `secrets.toml` is this replica's copy, overwritten from the database at start.
pub async fn resolve_shared(config: &Config, store: &Store) -> Result<Resolved, SecretsError> {
    let path = config.hub.data_dir.join(FILE_NAME);
    let stored = store.meta(SHARED_KEY).await?;
    if let Some(text) = &stored {
        write_text(&path, text)?;
    }
    let resolved = resolve(config)?;
    let text = read_text(&path)?;
    if stored.as_deref() == Some(text.as_str()) {
        return Ok(resolved);
    }
    if stored.is_some() {
        // Something was missing (a new need, such as a relay token): the database gets it.
        store.set_meta(SHARED_KEY, text).await?;
        return Ok(resolved);
    }
    let kept = store.insert_meta_once(SHARED_KEY, text.clone()).await?;
    if kept == text {
        return Ok(resolved);
    }
    // Another replica starting at the same moment generated its secrets first: use those.
    write_text(&path, &kept)?;
    resolve(config)
}

/// Copies this replica's secrets file into the database after a change made to the file
/// (the password noted as shown, a reset password).
pub async fn share(config: &Config, store: &Store) -> Result<(), SecretsError> {
    let text = read_text(&config.hub.data_dir.join(FILE_NAME))?;
    store.set_meta(SHARED_KEY, text).await?;
    Ok(())
}

/// The secrets file's text; empty when there is none.
fn read_text(path: &Path) -> Result<String, SecretsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(SecretsError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        }),
    }
}

/// Writes `text` as the secrets file, privately, after checking it reads as one.
fn write_text(path: &Path, text: &str) -> Result<(), SecretsError> {
    let file = toml_from_str(text, path)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| SecretsError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    }
    write_private(path, &file).map_err(|e| SecretsError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// `[dashboard] username` with its configured or generated password: the whole station.
fn single_login(
    config: &Config,
    generated: Option<&str>,
    path: &Path,
) -> Result<ResolvedLogin, SecretsError> {
    let password_hash = match (&config.dashboard.password_hash, generated) {
        (Some(hash), _) => hash.clone(),
        (None, plain) => crate::auth::password::hash(plain.unwrap_or_default()).map_err(|e| {
            SecretsError::Io {
                path: path.to_owned(),
                message: e.to_string(),
            }
        })?,
    };
    let password_identity = match (&config.dashboard.password, generated) {
        (Some(plain), _) => format!("plain:{}", plain.expose()),
        (None, Some(generated)) => format!("plain:{generated}"),
        (None, None) => format!("hash:{password_hash}"),
    };
    Ok(ResolvedLogin {
        login: Login {
            name: config.dashboard.username.clone(),
            password_hash,
            rights: Rights::Station,
        },
        password_identity,
    })
}

/// A `[[dashboard.users]]` block as a login.
fn user_login(user: &crate::config::DashboardUser) -> ResolvedLogin {
    let password_identity = match &user.password {
        Some(plain) => format!("plain:{}", plain.expose()),
        None => format!("hash:{}", user.password_hash),
    };
    ResolvedLogin {
        login: Login {
            name: user.name.clone(),
            password_hash: user.password_hash.clone(),
            rights: user.rights.clone(),
        },
        password_identity,
    }
}

/// A secret as a start would find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// Set in the configuration file or an `NTR_` variable (for the password: its hash).
    Configured(String),
    /// Kept in `secrets.toml`.
    Stored(String),
    /// Missing: the next start generates it and saves it in `secrets.toml`.
    ToGenerate,
}

/// Every secret a start would use, read without generating or writing anything.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub admin_token: Secret,
    /// Each relay's name and token (`relay-1` with the file's token when none is configured).
    pub relays: Vec<(RelayName, Secret)>,
    pub dashboard_password: Secret,
    pub secret_key: Secret,
}

/// `hub check-config`: what [`resolve`] would pick, with the same precedence, leaving the
/// secrets file as it is.
pub fn inspect(config: &Config) -> Result<Inspection, SecretsError> {
    let path = config.hub.data_dir.join(FILE_NAME);
    let file = read_file(&path)?;
    let pick = |configured: Option<&str>, stored: &Option<String>| match (configured, stored) {
        (Some(v), _) => Secret::Configured(v.to_owned()),
        (None, Some(v)) => Secret::Stored(v.clone()),
        (None, None) => Secret::ToGenerate,
    };
    let relays = match config.hub.relays.as_slice() {
        [] => vec![(RelayName::numbered(1), pick(None, &file.relay_token))],
        configured => configured
            .iter()
            .map(|r| (r.name.clone(), pick(Some(&r.token), &None)))
            .collect(),
    };
    let secret_key = config
        .dashboard
        .secret_key
        .as_ref()
        .map(|k| String::from_utf8_lossy(k).into_owned());
    Ok(Inspection {
        admin_token: pick(config.hub.admin_token.as_deref(), &file.admin_token),
        relays,
        dashboard_password: pick(
            config.dashboard.password_hash.as_deref(),
            &file.dashboard_password,
        ),
        secret_key: pick(secret_key.as_deref(), &file.secret_key),
    })
}

fn toml_from_str(text: &str, path: &Path) -> Result<SecretsFile, SecretsError> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text))
        .extract()
        .map_err(|e| SecretsError::Io {
            path: path.to_owned(),
            message: e.to_string().replace('\n', "; "),
        })
}

fn write_private(path: &Path, file: &SecretsFile) -> std::io::Result<()> {
    let mut text = String::from(
        "# Generated by the hub on first start. Keep this file private (mode 0600).\n\
         # Values set in the config file or NTR_ variables take precedence.\n",
    );
    for (key, value) in [
        ("admin_token", &file.admin_token),
        ("relay_token", &file.relay_token),
        ("dashboard_password", &file.dashboard_password),
        (
            "password_shown",
            &file.password_shown.map(|b| b.to_string()),
        ),
        ("secret_key", &file.secret_key),
    ] {
        if let Some(v) = value {
            // Generated values are base64url/alphanumeric, so plain quoting is exact.
            match key {
                "password_shown" => text.push_str(&format!("{key} = {v}\n")),
                _ => text.push_str(&format!("{key} = \"{v}\"\n")),
            }
        }
    }
    let tmp = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(&tmp)?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Records that a serving start has printed the generated password, so later starts stay quiet.
pub fn mark_password_shown(path: &Path) -> Result<(), SecretsError> {
    update_file(path, |file| file.password_shown = Some(true))
}

/// `hub reset-password`: a new generated dashboard password, saved to the secrets file and
/// returned for printing. Refused when the config sets the password: the file would not win.
pub fn reset_password(config: &Config) -> Result<String, SecretsError> {
    let path = config.hub.data_dir.join(FILE_NAME);
    if !config.dashboard.users.is_empty() {
        return Err(SecretsError::Users { path });
    }
    if config.dashboard.password_hash.is_some() {
        return Err(SecretsError::Configured { path });
    }
    let password = random_password();
    std::fs::create_dir_all(&config.hub.data_dir).map_err(|e| SecretsError::Io {
        path: path.clone(),
        message: e.to_string(),
    })?;
    update_file(&path, |file| {
        file.dashboard_password = Some(password.clone());
        file.password_shown = Some(true);
    })?;
    Ok(password)
}

/// Reads the secrets file (empty when missing), applies `change` and writes it back privately.
fn update_file(path: &Path, change: impl FnOnce(&mut SecretsFile)) -> Result<(), SecretsError> {
    let mut file = read_file(path)?;
    change(&mut file);
    write_private(path, &file).map_err(|e| SecretsError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The secrets file's contents; empty when there is none yet.
fn read_file(path: &Path) -> Result<SecretsFile, SecretsError> {
    let io_err = |message: String| SecretsError::Io {
        path: path.to_path_buf(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => toml_from_str(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SecretsFile::default()),
        Err(e) => Err(io_err(e.to_string())),
    }
}

/// 256 random bits, base64url: long enough for a bearer token or an HMAC key.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A password a DJ can type on a phone: 20 letters and digits (~119 bits).
fn random_password() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Figment;
    use figment::providers::{Format, Toml};

    fn config(dir: &Path, extra: &str) -> Config {
        let toml = format!("[hub]\ndata_dir = {:?}\n{extra}", dir.display().to_string());
        Config::from_figment(Figment::new().merge(Toml::string(&toml))).expect("valid config")
    }

    #[test]
    fn generated_once_then_reused_and_configured_values_win() {
        let dir = tempfile::tempdir().expect("dir");
        let first = resolve(&config(dir.path(), "")).expect("first start");
        assert!(
            first.new_password.is_some(),
            "the first start shows the password"
        );
        assert_eq!(first.relays.len(), 1);
        assert_eq!(first.relays[0].name.as_str(), "relay-1");
        assert_eq!(first.secret_key.len(), 43);

        let unserved = resolve(&config(dir.path(), "")).expect("a start after one that failed");
        assert_eq!(
            unserved.new_password, first.new_password,
            "until a start has served, each start shows the same password"
        );
        mark_password_shown(&first.path).expect("mark shown");
        let again = resolve(&config(dir.path(), "")).expect("second start");
        assert_eq!(again.new_password, None, "shown only once it has served");
        assert_eq!(again.admin_token, first.admin_token);
        assert_eq!(again.relays[0].token, first.relays[0].token);
        assert_eq!(again.secret_key, first.secret_key);

        let set = "admin_token = \"configured-admin-token-123\"\nrelay_tokens = [\"configured-relay-token-123\"]\n";
        let configured = resolve(&config(dir.path(), set)).expect("configured");
        assert_eq!(configured.admin_token, "configured-admin-token-123");
        assert_eq!(configured.relays[0].token, "configured-relay-token-123");
        assert_eq!(configured.relays[0].name.as_str(), "relay-1");
        assert_eq!(
            configured.secret_key, first.secret_key,
            "unset values still come from the file"
        );
    }

    #[test]
    fn inspect_agrees_with_resolve_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let fresh = inspect(&config(dir.path(), "")).expect("inspect");
        assert_eq!(fresh.admin_token, Secret::ToGenerate);
        assert_eq!(fresh.relays, [(RelayName::numbered(1), Secret::ToGenerate)]);
        assert_eq!(fresh.dashboard_password, Secret::ToGenerate);
        assert_eq!(fresh.secret_key, Secret::ToGenerate);
        assert!(
            !dir.path().join(FILE_NAME).exists(),
            "inspecting wrote nothing"
        );

        let resolved = resolve(&config(dir.path(), "")).expect("start");
        let after = inspect(&config(dir.path(), "")).expect("inspect");
        assert_eq!(after.admin_token, Secret::Stored(resolved.admin_token));
        assert_eq!(
            after.relays,
            [(
                RelayName::numbered(1),
                Secret::Stored(resolved.relays[0].token.clone())
            )]
        );
        assert_eq!(
            after.secret_key,
            Secret::Stored(String::from_utf8(resolved.secret_key).expect("utf-8"))
        );
        let password = resolved.new_password.expect("generated password");
        assert_eq!(after.dashboard_password, Secret::Stored(password));

        let set = "admin_token = \"configured-admin-token-123\"\n";
        let configured = inspect(&config(dir.path(), set)).expect("inspect");
        assert_eq!(
            configured.admin_token,
            Secret::Configured("configured-admin-token-123".into())
        );
    }

    #[test]
    fn users_generate_no_password_and_cannot_be_reset_from_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let users = "[[dashboard.users]]\nname = \"nick\"\npassword = \"pw\"\nshows = [\"*\"]\n";
        let resolved = resolve(&config(dir.path(), users)).expect("start");
        assert_eq!(resolved.new_password, None, "nothing to generate or show");
        assert_eq!(resolved.logins.len(), 1);
        assert_eq!(resolved.logins[0].login.name, "nick");
        assert_eq!(resolved.logins[0].password_identity, "plain:pw");
        let err = reset_password(&config(dir.path(), users)).expect_err("configured users");
        assert!(err.to_string().contains("[[dashboard.users]]"), "{err}");

        let single = resolve(&config(dir.path(), "")).expect("v2 start");
        assert_eq!(single.logins.len(), 1);
        assert_eq!(single.logins[0].login.name, "dj");
        assert_eq!(single.logins[0].login.rights, Rights::Station);
        assert!(
            single.new_password.is_some(),
            "the v2 user's password is generated"
        );
    }

    #[test]
    fn reset_password_replaces_the_generated_one_and_refuses_a_configured_one() {
        let dir = tempfile::tempdir().expect("dir");
        let first = resolve(&config(dir.path(), "")).expect("first start");
        let new = reset_password(&config(dir.path(), "")).expect("reset");
        assert_ne!(Some(&new), first.new_password.as_ref());
        let after = resolve(&config(dir.path(), "")).expect("start after reset");
        assert_eq!(after.new_password, None, "reset printed it already");
        assert!(crate::auth::password::verify(
            &new,
            &after.logins[0].login.password_hash
        ));
        assert_eq!(after.admin_token, first.admin_token, "other secrets kept");

        let pinned = config(dir.path(), "[dashboard]\npassword = \"set-in-config\"\n");
        let err = reset_password(&pinned).expect_err("configured password");
        assert!(err.to_string().contains("dashboard.password"), "{err}");
    }
}
