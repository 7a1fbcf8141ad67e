//! `NTR_<SECTION>__<KEY>_FILE` on the hub binary: a secret read from a file authenticates and
//! wins over the config file; a file that is missing, empty or only whitespace, or a plain
//! variable set beside it, stops the hub with exit 2 and one line naming the variable.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::binaries::binary;
use e2e::net::free_port;
use e2e::wait;

use super::process::{START, output_within, sigterm};

const FILE_TOKEN: &str = "admin-token-from-a-file-0123";
const CONFIG_TOKEN: &str = "admin-token-in-the-config-0123";

/// The hub binary with `config` and its data in `dir`, SoundCloud on closed local ports.
fn hub_command(dir: &Path, port: u16) -> Command {
    let config = dir.join("config.toml");
    let toml = format!(
        "[hub]\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nadmin_token = \"{CONFIG_TOKEN}\"\n\
         [soundcloud]\napi_base = \"http://127.0.0.1:{}\"\nweb_base = \"http://127.0.0.1:{}\"\n",
        dir.join("data").display(),
        free_port(),
        free_port(),
    );
    std::fs::write(&config, toml).expect("config");
    let mut cmd = Command::new(binary("hub"));
    cmd.arg("--config").arg(config).current_dir(dir);
    cmd
}

async fn announce_status(port: u16, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/admin/announce"))
        .bearer_auth(token)
        .json(&serde_json::json!({"text": "from a file"}))
        .send()
        .await
        .expect("announce")
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_admin_token_from_a_file_authenticates_and_wins_over_the_config() {
    let dir = tempfile::tempdir().expect("dir");
    let secret = dir.path().join("admin-token");
    // One trailing newline, as `echo` and editors write it, is not part of the token.
    std::fs::write(&secret, format!("{FILE_TOKEN}\n")).expect("secret");
    let port = free_port();
    let child = hub_command(dir.path(), port)
        .env("NTR_HUB__ADMIN_TOKEN_FILE", &secret)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn hub");
    wait::until_listening(port, START).await;

    let from_file = announce_status(port, FILE_TOKEN).await;
    let from_config = announce_status(port, CONFIG_TOKEN).await;
    sigterm(&child);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(from_file, 200, "the token from the file");
    assert_eq!(from_config, 401, "the file wins over the config's token");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn unusable_secret_files_exit_2_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().expect("dir");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").expect("empty");
    let blank = dir.path().join("blank");
    std::fs::write(&blank, " \t\n").expect("blank");
    let good = dir.path().join("good");
    std::fs::write(&good, format!("{FILE_TOKEN}\n")).expect("good");
    let missing = dir.path().join("missing");

    let cases: [(&str, &Path, Option<&str>); 4] = [
        ("NTR_DASHBOARD__PASSWORD_FILE", &missing, None),
        ("NTR_DASHBOARD__SECRET_KEY_FILE", &empty, None),
        ("NTR_DASHBOARD__PASSWORD_HASH_FILE", &blank, None),
        (
            "NTR_HUB__ADMIN_TOKEN_FILE",
            &good,
            Some("NTR_HUB__ADMIN_TOKEN"),
        ),
    ];
    for (var, file, plain) in cases {
        let mut cmd = hub_command(dir.path(), free_port());
        cmd.arg("check-config").env(var, file);
        if let Some(plain) = plain {
            cmd.env(plain, FILE_TOKEN);
        }
        let (code, printed) = output_within(cmd, Duration::from_secs(20));
        assert_eq!(code, Some(2), "{var}: {printed}");
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(lines.len(), 1, "one line for {var}: {printed:?}");
        assert!(
            lines[0].starts_with(&format!("hub: configuration error: {var}: ")),
            "{printed}"
        );
    }
}
