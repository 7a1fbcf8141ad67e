//! `NTR_<SECTION>__<KEY>_FILE` on the relay binary: the token and the IRC passwords read from
//! files reach the configuration (as `check-config` reports it), and a file that is missing,
//! empty or only whitespace, or a plain variable set beside it, stops the relay with exit 2 and
//! one line naming the variable.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use e2e::binaries::binary;

const TOKEN: &str = "relay-token-from-a-file-0123";

/// `irc-relay check-config` on a config without secrets, with `vars` set. No network: it only
/// loads and checks.
fn check_config(dir: &Path, vars: &[(&str, &Path)]) -> Output {
    let config = dir.join("relay.toml");
    let toml = format!(
        "[relay]\nhub_url = \"http://127.0.0.1:9\"\nstate_dir = \"{}\"\n\
         [irc]\nserver = \"127.0.0.1\"\nport = 9\ntls = false\nnickname = \"filebot\"\n\
         channels = [\"#ntr\"]\n",
        dir.join("state").display()
    );
    std::fs::write(&config, toml).expect("config");
    let mut cmd = Command::new(binary("irc-relay"));
    cmd.arg("--config")
        .arg(&config)
        .arg("check-config")
        .stdin(Stdio::null());
    for (var, value) in vars {
        cmd.env(var, value);
    }
    cmd.output().expect("run irc-relay")
}

fn write(dir: &Path, name: &str, contents: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path
}

#[test]
fn the_token_and_passwords_come_from_files() {
    let dir = tempfile::tempdir().expect("dir");
    let token = write(dir.path(), "token", &format!("{TOKEN}\n"));
    let sasl = write(dir.path(), "sasl", "sasl pass\n");
    let nickserv = write(dir.path(), "nickserv", "nickserv pass");
    let out = check_config(
        dir.path(),
        &[
            ("NTR_RELAY__TOKEN_FILE", &token),
            ("NTR_IRC__SASL_PASSWORD_FILE", &sasl),
            ("NTR_IRC__NICKSERV_PASSWORD_FILE", &nickserv),
        ],
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The mask shows the head and the length: the trailing newline was trimmed.
    let masked = format!("{}…({} chars)", &TOKEN[..4], TOKEN.len());
    assert!(
        printed
            .lines()
            .any(|l| l.trim_start().starts_with("token") && l.trim_end().ends_with(&masked)),
        "{printed}"
    );
    assert!(
        printed.contains("SASL PLAIN *** and NickServ ***"),
        "{printed}"
    );
}

#[test]
fn unusable_secret_files_exit_2_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().expect("dir");
    let empty = write(dir.path(), "empty", "");
    let blank = write(dir.path(), "blank", "\n \n");
    let good = write(dir.path(), "good", TOKEN);
    let missing = dir.path().join("missing");
    let plain = Path::new(TOKEN);
    let cases: [&[(&str, &Path)]; 4] = [
        &[("NTR_RELAY__TOKEN_FILE", &missing)],
        &[("NTR_RELAY__TOKEN_FILE", &empty)],
        &[
            ("NTR_IRC__SASL_PASSWORD_FILE", &blank),
            ("NTR_RELAY__TOKEN_FILE", &good),
        ],
        &[
            ("NTR_IRC__NICKSERV_PASSWORD_FILE", &good),
            ("NTR_IRC__NICKSERV_PASSWORD", plain),
        ],
    ];
    for vars in cases {
        let var = vars[0].0;
        let out = check_config(dir.path(), vars);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line for {var}: {stderr:?}");
        assert!(
            lines[0].starts_with(&format!("irc-relay: configuration error: {var}: ")),
            "{stderr}"
        );
    }
}
