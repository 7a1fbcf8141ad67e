//! Secrets that the config file may leave out — the admin token, a relay token, the dashboard
//! password and the session key — are generated on first start and kept in
//! `data_dir/secrets.toml` (mode 0600), so a hub started with no config at all is safe and the
//! same credentials keep working after a restart.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::config::Config;

pub const FILE_NAME: &str = "secrets.toml";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    admin_token: Option<String>,
    relay_token: Option<String>,
    dashboard_password: Option<String>,
    secret_key: Option<String>,
}

/// The credentials the hub runs with, config values taking precedence over generated ones.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub admin_token: String,
    pub relay_tokens: Vec<String>,
    pub password_hash: String,
    pub secret_key: Vec<u8>,
    /// Set when this start generated the dashboard password: it is shown once, then only the
    /// file has it.
    pub new_password: Option<String>,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot use {path}: {message}")]
    Io { path: PathBuf, message: String },
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
    let mut file = match std::fs::read_to_string(&path) {
        Ok(text) => toml_from_str(&text).map_err(|message| SecretsError::Io {
            path: path.clone(),
            message,
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SecretsFile::default(),
        Err(e) => return Err(io_err(e)),
    };

    let mut changed = false;
    let mut fill = |slot: &mut Option<String>, needed: bool, make: fn() -> String| {
        if needed && slot.is_none() {
            *slot = Some(make());
            changed = true;
        }
    };
    fill(
        &mut file.admin_token,
        config.hub.admin_token.is_none(),
        random_token,
    );
    fill(
        &mut file.relay_token,
        config.hub.relay_tokens.is_empty(),
        random_token,
    );
    let password_generated =
        config.dashboard.password_hash.is_none() && file.dashboard_password.is_none();
    fill(
        &mut file.dashboard_password,
        config.dashboard.password_hash.is_none(),
        random_password,
    );
    fill(
        &mut file.secret_key,
        config.dashboard.secret_key.is_none(),
        random_token,
    );

    if changed {
        std::fs::create_dir_all(dir).map_err(io_err)?;
        write_private(&path, &file).map_err(io_err)?;
    }

    let password_hash = match (&config.dashboard.password_hash, &file.dashboard_password) {
        (Some(hash), _) => hash.clone(),
        (None, Some(plain)) => {
            crate::auth::password::hash(plain).map_err(|message| SecretsError::Io {
                path: path.clone(),
                message,
            })?
        }
        (None, None) => unreachable_secret(&path, "dashboard_password")?,
    };
    let admin_token = match (&config.hub.admin_token, &file.admin_token) {
        (Some(t), _) | (None, Some(t)) => t.clone(),
        (None, None) => unreachable_secret(&path, "admin_token")?,
    };
    let relay_tokens = if config.hub.relay_tokens.is_empty() {
        file.relay_token.iter().cloned().collect()
    } else {
        config.hub.relay_tokens.clone()
    };
    let secret_key = match (&config.dashboard.secret_key, &file.secret_key) {
        (Some(k), _) => k.clone(),
        (None, Some(k)) => k.clone().into_bytes(),
        (None, None) => unreachable_secret(&path, "secret_key")?,
    };
    Ok(Resolved {
        admin_token,
        relay_tokens,
        password_hash,
        secret_key,
        new_password: if password_generated {
            file.dashboard_password.clone()
        } else {
            None
        },
        path,
    })
}

/// `fill` above guarantees each needed secret exists; this keeps that promise checked without
/// a panic if the code ever changes.
fn unreachable_secret<T>(path: &Path, key: &str) -> Result<T, SecretsError> {
    Err(SecretsError::Io {
        path: path.to_owned(),
        message: format!("{key} is missing"),
    })
}

fn toml_from_str(text: &str) -> Result<SecretsFile, String> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text))
        .extract()
        .map_err(|e| e.to_string().replace('\n', "; "))
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
        ("secret_key", &file.secret_key),
    ] {
        if let Some(v) = value {
            // Generated values are base64url/alphanumeric, so plain quoting is exact.
            text.push_str(&format!("{key} = \"{v}\"\n"));
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
