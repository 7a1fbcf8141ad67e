//! The `NTR_` environment laid over a configuration file, the same way in both binaries:
//! `NTR_SECTION__KEY` sets `[section] key`, and for each secret key a binary names,
//! `NTR_SECTION__KEY_FILE` names a file that holds the value instead.
//!
//! Files are how Docker, Kubernetes and systemd's credentials hand secrets over: the value never
//! sits in a unit, a compose file or a process listing. A file's contents are the value with one
//! trailing newline trimmed (editors and `echo` add one; a token never ends in one). Anything
//! doubtful stops the start instead of running on a guess: the plain variable and the `_FILE`
//! one both set, a file that cannot be read, or one holding only whitespace.

use std::ffi::OsString;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Serialized};

/// Every variable read here starts with it.
pub const PREFIX: &str = "NTR_";

/// A scalar secret key that may come from a file: `(section, key)`, e.g. `("hub", "admin_token")`.
pub type SecretKey = (&'static str, &'static str);

/// Why a `_FILE` variable cannot be used. The message starts with the variable's name, which is
/// what the operator has to fix.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("{var}: cannot read {}: {message}", path.display())]
    Unreadable {
        var: String,
        path: PathBuf,
        message: String,
    },
    #[error("{var}: {} is empty or only whitespace", path.display())]
    Empty { var: String, path: PathBuf },
    #[error("{var}: {plain} is set too; set only one of them")]
    Both { var: String, plain: String },
}

/// `figment` with the `NTR_` variables merged on top, then the values of the `_FILE` variables
/// of `secrets`, so both win over the file.
pub fn merge(figment: Figment, secrets: &[SecretKey]) -> Result<Figment, SecretFileError> {
    merge_with(figment, secrets, |name| std::env::var_os(name))
}

fn merge_with(
    figment: Figment,
    secrets: &[SecretKey],
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Figment, SecretFileError> {
    // Without this, `NTR_HUB__ADMIN_TOKEN_FILE` would also reach the sections as an unknown key
    // `admin_token_file`.
    let file_keys: Vec<String> = secrets
        .iter()
        .map(|&secret| format!("{}_FILE", unprefixed(secret)))
        .collect();
    let env = Env::prefixed(PREFIX)
        .filter(move |key| {
            !file_keys
                .iter()
                .any(|k| key.as_str().eq_ignore_ascii_case(k))
        })
        .split("__");
    let mut figment = figment.merge(env);
    for &secret in secrets {
        if let Some(value) = read(secret, &lookup)? {
            let key = format!("{}.{}", secret.0, secret.1);
            figment = figment.merge(Serialized::default(&key, value));
        }
    }
    Ok(figment)
}

/// `HUB__ADMIN_TOKEN` for `("hub", "admin_token")`.
fn unprefixed((section, key): SecretKey) -> String {
    format!("{section}__{key}").to_ascii_uppercase()
}

/// The value `secret`'s `_FILE` variable points at, if that variable is set.
fn read(
    secret: SecretKey,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<String>, SecretFileError> {
    let plain = format!("{PREFIX}{}", unprefixed(secret));
    let var = format!("{plain}_FILE");
    let Some(path) = lookup(&var) else {
        return Ok(None);
    };
    if lookup(&plain).is_some() {
        return Err(SecretFileError::Both { var, plain });
    }
    let path = PathBuf::from(path);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            return Err(SecretFileError::Unreadable {
                var,
                path,
                message: e.to_string(),
            });
        }
    };
    let value = trim_one_newline(&text);
    if value.trim().is_empty() {
        return Err(SecretFileError::Empty { var, path });
    }
    Ok(Some(value.to_owned()))
}

fn trim_one_newline(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Write as _;

    use serde::Deserialize;

    use super::*;

    const SECRETS: &[SecretKey] = &[("hub", "admin_token"), ("irc", "sasl_password")];

    #[derive(Debug, Deserialize)]
    struct Raw {
        hub: Option<Section>,
    }

    #[derive(Debug, Deserialize)]
    struct Section {
        admin_token: Option<String>,
    }

    fn file(contents: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(contents.as_bytes()).expect("write");
        file
    }

    fn merged(vars: &[(&str, &str)]) -> Result<Figment, SecretFileError> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        let base = Figment::from(Serialized::default("hub.admin_token", "from-the-file"));
        merge_with(base, SECRETS, |name| vars.get(name).cloned())
    }

    fn admin_token(figment: &Figment) -> Option<String> {
        let raw: Raw = figment.extract().expect("extracts");
        raw.hub.and_then(|h| h.admin_token)
    }

    #[test]
    fn the_file_wins_with_one_newline_trimmed() {
        let secret = file("s3cret value \n\n");
        let path = secret.path().to_str().expect("utf-8 path");
        let figment = merged(&[("NTR_HUB__ADMIN_TOKEN_FILE", path)]).expect("reads");
        assert_eq!(admin_token(&figment).as_deref(), Some("s3cret value \n"));
    }

    #[test]
    fn a_numeric_secret_stays_a_string() {
        let secret = file("12345\r\n");
        let path = secret.path().to_str().expect("utf-8 path");
        let figment = merged(&[("NTR_HUB__ADMIN_TOKEN_FILE", path)]).expect("reads");
        assert_eq!(admin_token(&figment).as_deref(), Some("12345"));
    }

    #[test]
    fn without_the_variable_the_file_value_stays() {
        let figment = merged(&[]).expect("nothing to read");
        assert_eq!(admin_token(&figment).as_deref(), Some("from-the-file"));
    }

    #[test]
    fn refusals_name_the_variable() {
        let empty = file("");
        let blank = file(" \t\n");
        let cases = [
            ("/nonexistent/secret", "cannot read /nonexistent/secret"),
            (empty.path().to_str().expect("utf-8"), "is empty"),
            (blank.path().to_str().expect("utf-8"), "only whitespace"),
        ];
        for (path, what) in cases {
            let err = merged(&[("NTR_IRC__SASL_PASSWORD_FILE", path)])
                .expect_err(path)
                .to_string();
            assert!(err.starts_with("NTR_IRC__SASL_PASSWORD_FILE: "), "{err}");
            assert!(err.contains(what), "{err}");
        }
    }

    #[test]
    fn both_set_is_refused() {
        let secret = file("x\n");
        let path = secret.path().to_str().expect("utf-8 path");
        let err = merged(&[
            ("NTR_HUB__ADMIN_TOKEN_FILE", path),
            ("NTR_HUB__ADMIN_TOKEN", "y"),
        ])
        .expect_err("both set")
        .to_string();
        assert_eq!(
            err,
            "NTR_HUB__ADMIN_TOKEN_FILE: NTR_HUB__ADMIN_TOKEN is set too; set only one of them"
        );
    }
}
