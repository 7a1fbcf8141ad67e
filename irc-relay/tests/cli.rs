//! The `irc-relay` binary as a user runs it: configuration errors are one line on stderr with
//! exit code 2 and name the key; SIGTERM stops a running relay with exit code 0.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_irc-relay");

const VALID: &str = r##"
[hub]
listen = "127.0.0.1:8000"

[relay]
hub_url = "http://127.0.0.1:9"
token = "t0ken-0123456789"
reconnect_initial_seconds = 0.05
reconnect_max_seconds = 0.2

[irc]
server = "127.0.0.1"
port = 9
tls = false
nickname = "ntrbot"
channels = ["#ntr"]
"##;

/// Runs the binary with `toml` as its config file and the given extra environment, with every
/// inherited `NTR_` variable (and `RUST_LOG`, `NO_COLOR`) removed so the host cannot change the
/// outcome.
fn run_with(toml: &str, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).expect("write config");
    command(&path, env).output().expect("run irc-relay")
}

/// The binary runs in the config file's (temporary) directory, when there is one: its default
/// `state_dir` goes there.
fn command(path: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.arg("--config").arg(path);
    if let Some(dir) = path.parent().filter(|dir| dir.is_dir()) {
        command.current_dir(dir);
    }
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("NTR_")) {
        command.env_remove(key);
    }
    command.env_remove("RUST_LOG").env_remove("NO_COLOR");
    command.envs(env.iter().copied());
    command
}

/// Asserts exit code 2 and a single stderr line, worded as the hub words its own, that
/// mentions `key`.
fn assert_config_error(output: &Output, key: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.starts_with("irc-relay: configuration error: "),
        "{stderr}"
    );
    assert!(stderr.contains(key), "names {key}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_key_in_relay_section() {
    let toml = VALID.replace("token = ", "tokn = \"x\"\ntoken = ");
    assert_config_error(&run_with(&toml, &[]), "relay.tokn");
}

#[test]
fn unknown_key_in_irc_section() {
    let toml = VALID.replace("tls = false", "tls = false\nchanels = [\"#x\"]");
    assert_config_error(&run_with(&toml, &[]), "irc.chanels");
}

#[test]
fn missing_token() {
    let toml = VALID.replace("token = \"t0ken-0123456789\"", "");
    let output = run_with(&toml, &[]);
    assert_config_error(&output, "relay.token");
    assert!(String::from_utf8_lossy(&output.stderr).contains("NTR_RELAY__TOKEN"));
}

#[test]
fn wrong_type() {
    let toml = VALID.replace("port = 9", "port = \"nine\"");
    assert_config_error(&run_with(&toml, &[]), "irc.port");
}

#[test]
fn invalid_value() {
    let toml = VALID.replace("[\"#ntr\"]", "[\"ntr\"]");
    assert_config_error(&run_with(&toml, &[]), "irc.channels");
}

#[test]
fn bad_environment_override_names_the_key() {
    assert_config_error(&run_with(VALID, &[("NTR_IRC__PORT", "abc")]), "irc.port");
}

#[test]
fn short_token() {
    let toml = VALID.replace("t0ken-0123456789", "t0ken");
    assert_config_error(&run_with(&toml, &[]), "relay.token");
}

#[test]
fn bad_log_filter_is_a_config_error() {
    assert_config_error(
        &run_with(VALID, &[("RUST_LOG", "irc_relay=loud")]),
        "RUST_LOG",
    );
}

#[test]
fn toml_syntax_error() {
    let output = run_with("[relay\ntoken = ", &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
}

#[test]
fn missing_config_file() {
    let output = command(Path::new("/nonexistent/relay.toml"), &[])
        .output()
        .expect("run");
    assert_config_error(&output, "/nonexistent/relay.toml");
}

#[test]
fn a_state_dir_that_cannot_be_created_is_a_config_error() {
    // Relative to the working directory, the config file's: a directory inside a file.
    let toml = VALID.replace("[relay]\n", "[relay]\nstate_dir = \"config.toml/state\"\n");
    assert_config_error(&run_with(&toml, &[]), "relay.state_dir");
}

/// A relay set up before `state_dir` existed, whose unit gives it no writable working
/// directory: the default folder cannot be made, and the relay still starts (a v2 config keeps
/// working), as check-config says.
#[test]
fn an_unwritable_default_state_dir_does_not_stop_a_v2_relay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, VALID).expect("write");
    // A file where the default folder `data` would go.
    std::fs::write(dir.path().join("data"), "not a folder").expect("write");
    let output = command(&path, &[])
        .arg("check-config")
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn environment_completes_the_file() {
    // The file lacks the token; NTR_RELAY__TOKEN supplies it, so the relay starts (and is
    // then stopped by SIGTERM below, exit 0).
    let toml = VALID.replace("token = \"t0ken-0123456789\"", "");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).expect("write");
    let child = command(&path, &[("NTR_RELAY__TOKEN", "from-env-0123456789")])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    assert_sigterm_exits_zero(child);
}

#[test]
fn sigterm_stops_the_relay_with_exit_code_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, VALID).expect("write");
    let child = command(&path, &[])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    assert_sigterm_exits_zero(child);
}

fn assert_sigterm_exits_zero(mut child: std::process::Child) {
    // Let it get into its reconnect loops (both servers are unreachable on port 9).
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "still running"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("try_wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "relay did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert_eq!(exit.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    // stderr is a pipe here, not a terminal: plain text, no colour codes.
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn check_config_prints_a_masked_summary_and_exits_0() {
    let token = "relay-token-0123456789abcdefghij";
    let toml = VALID.replace(
        "token = \"t0ken-0123456789\"",
        &format!("token = \"{token}\""),
    ) + "sasl_password = \"sasl-secret-value\"\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).expect("write");
    let output = command(&path, &[])
        .arg("check-config")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("configuration OK"), "{stdout}");
    assert!(!stdout.contains(token), "the token leaked: {stdout}");
    assert!(!stdout.contains("sasl-secret-value"), "{stdout}");
    assert!(stdout.contains("rela…(32 chars)"), "{stdout}");
    assert!(stdout.contains("#ntr"), "{stdout}");
    assert!(dir.path().join("data").is_dir(), "the default state_dir");
}

#[test]
fn check_config_names_the_bad_key_and_exits_2() {
    let toml = VALID.replace("[\"#ntr\"]", "[\"ntr\"]");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).expect("write");
    let output = command(&path, &[])
        .arg("check-config")
        .output()
        .expect("run");
    assert_config_error(&output, "irc.channels");
    assert!(output.stdout.is_empty(), "no summary for a bad config");
}

/// `NTR_RELAY__HUB_URL` (one URL, or a list) replaces the file's list; a list with a duplicate
/// is a configuration error naming the entry.
#[test]
fn hub_url_from_the_environment_and_a_bad_list() {
    let list = VALID.replace(
        "hub_url = \"http://127.0.0.1:9\"",
        "hub_url = [\"http://127.0.0.1:9\", \"http://127.0.0.1:10\"]",
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &list).expect("write");
    let output = command(
        &path,
        &[("NTR_RELAY__HUB_URL", "https://hub.example:8443/ntr")],
    )
    .arg("check-config")
    .output()
    .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        stdout.contains("https://hub.example:8443/ntr (wss://hub.example:8443/ntr/ws/announce)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("127.0.0.1:10"),
        "the list is replaced: {stdout}"
    );

    // A list in TOML syntax, like every array value in the environment.
    let env_list = "[\"http://10.0.0.2:8000\", \"http://10.0.0.3:8000\"]";
    let output = command(&path, &[("NTR_RELAY__HUB_URL", env_list)])
        .arg("check-config")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let first = stdout.find("1. http://10.0.0.2:8000/");
    let second = stdout.find("2. http://10.0.0.3:8000/");
    assert!(first.is_some() && first < second, "{stdout}");

    let twice = list.replace("127.0.0.1:10\"", "127.0.0.1:9/\"");
    assert_config_error(&run_with(&twice, &[]), "relay.hub_url[1]");
}
