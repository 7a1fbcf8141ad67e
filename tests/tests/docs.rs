//! The docs' examples, run: the Python client of `docs/protocol.md` (the block between its
//! `doc-test: python-client` markers, taken from the file as it is) against a real hub on
//! 127.0.0.1, with the `websockets` package from the virtualenv `scripts/test` creates under
//! the target directory (`<target>/websockets-venv`). Without it the test is skipped, after
//! saying why, except under `CI=true`, where that is a failure.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use e2e::binaries::{is_ci, target_dir};
use e2e::hub::{RELAY_TOKEN, TestHub};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const START: &str = "<!-- doc-test: python-client";
const END: &str = "<!-- /doc-test -->";
/// How long one expected line may take (a Python start, a reconnect with backoff).
const LINE: Duration = Duration::from_secs(15);

/// The Python code between the markers, without its ```python fence.
fn python_client() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    let doc = std::fs::read_to_string(&path).expect("read docs/protocol.md");
    let start = doc
        .find(START)
        .expect("docs/protocol.md has the start marker");
    let block = &doc[start..];
    let end = block
        .find(END)
        .expect("docs/protocol.md has the end marker");
    let block = &block[..end];
    let code = block
        .split_once("```python\n")
        .and_then(|(_, rest)| rest.rsplit_once("```"))
        .map(|(code, _)| code)
        .expect("a ```python block between the markers");
    code.to_string()
}

/// The virtualenv's Python, or `None` (after a SKIPPED line) when it is missing.
fn python() -> Option<PathBuf> {
    let python = target_dir().join("websockets-venv/bin/python");
    if python.is_file() {
        return Some(python);
    }
    assert!(
        !is_ci(),
        "no {} but CI=true: scripts/test creates it",
        python.display()
    );
    eprintln!("SKIPPED: no {} (scripts/test creates it)", python.display());
    None
}

/// The client, started on `hub` from a file in `dir`, with its stdout as lines.
fn start_client(
    python: &PathBuf,
    dir: &tempfile::TempDir,
    hub: &TestHub,
) -> (Child, Lines<BufReader<ChildStdout>>) {
    let script = dir.path().join("subscriber.py");
    std::fs::write(&script, python_client()).expect("write subscriber.py");
    let mut child = Command::new(python)
        .arg(&script)
        .env(
            "HUB_WS",
            format!("{}/ws/announce", hub.url().replacen("http", "ws", 1)),
        )
        .env("RELAY_TOKEN", RELAY_TOKEN)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the Python client");
    let stdout = child.stdout.take().expect("piped stdout");
    (child, BufReader::new(stdout).lines())
}

/// Reads lines until one equals `wanted`; returns the lines read before it.
async fn read_until(lines: &mut Lines<BufReader<ChildStdout>>, wanted: &str) -> Vec<String> {
    let mut before = Vec::new();
    loop {
        let line = tokio::time::timeout(LINE, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {wanted:?} within {LINE:?}; before it: {before:?}"))
            .expect("read the client's output")
            .unwrap_or_else(|| panic!("the client ended before {wanted:?}; before it: {before:?}"));
        if line == wanted {
            return before;
        }
        before.push(line);
    }
}

#[tokio::test]
async fn the_python_client_prints_acks_sees_1001_and_resumes_once() {
    let Some(python) = python() else { return };
    let mut hub = TestHub::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_child, mut lines) = start_client(&python, &dir, &hub);
    read_until(&mut lines, "(1 subscribers)").await;

    let seq = hub.announce_text("Back after the news").await;
    read_until(&mut lines, "Back after the news").await;
    let acked = e2e::wait::until(LINE, async || {
        hub.acks()
            .await
            .contains(&(seq, "stdout".to_string()))
            .then_some(())
    })
    .await;
    assert!(
        acked.is_some(),
        "the client did not ack seq {seq} for stdout"
    );

    hub.stop().await;
    read_until(&mut lines, "closed: 1001").await;

    // Back up: the client reconnects with ?since= and prints the new line, and only it.
    hub.restart().await;
    hub.announce_text("Second line").await;
    let between = read_until(&mut lines, "Second line").await;
    assert!(
        !between.iter().any(|l| l == "Back after the news"),
        "the first line was printed again after the reconnect: {between:?}"
    );
}
