//! The OpenAPI document is exact: schemathesis (from the virtualenv `scripts/test` creates
//! under the target directory, `<target>/schemathesis-venv`) generates requests from
//! `/openapi.json`, valid ones and invalid ones, sends them to a hub with a show of two tracks,
//! and checks every answer against the document: no server error, no valid request refused, no
//! invalid one accepted, no status, header or body the document does not state. Without the
//! virtualenv the test is skipped, after saying why, except under `CI=true`, where that is a
//! failure.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use e2e::binaries::{is_ci, target_dir};
use e2e::hub::{ADMIN_TOKEN, TestHub};
use tokio::process::Command;

use super::openapi::hub_with_show;

/// The run's bound; a run takes well under it, so hitting it means the hub stopped answering.
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// The `st` program of the virtualenv, or `None` (after a SKIPPED line) when it is missing.
fn schemathesis() -> Option<PathBuf> {
    let st = target_dir().join("schemathesis-venv/bin/st");
    if st.is_file() {
        return Some(st);
    }
    assert!(
        !is_ci(),
        "no {} but CI=true: scripts/test creates it",
        st.display()
    );
    eprintln!("SKIPPED: no {} (scripts/test creates it)", st.display());
    None
}

/// The one exception to the default checks. The fuzzer sends its generated `Idempotency-Key`
/// values again and again (a seeded run repeats short ones such as `0`) with other bodies, and
/// an announce with a key already used for another body is refused with 422 by design: no
/// request can tell it from a valid one. Every other status stays checked for the announces,
/// and the keys' behaviour has tests of its own.
const CONFIG: &str = r#"
[[operations]]
include-operation-id = ["announce", "announce_next"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing() {
    let Some(st) = schemathesis() else { return };
    let (hub, _show) = hub_with_show().await;
    let report = tempfile::tempdir().expect("temp dir");
    let config = report.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).expect("write the schemathesis config");
    let started = Instant::now();
    let run = Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/openapi.json", hub.url()))
        .args(["--header", &format!("Authorization: Bearer {ADMIN_TOKEN}")])
        // The streams never end, so a generated request to them would only time out. Nothing
        // else is left out: the run authenticates with the admin token, which no request can
        // revoke (`/logout` ends cookie sessions only, and generated cookies are not sessions).
        .args([
            "--exclude-path",
            "/ws/announce",
            "--exclude-path",
            "/events",
        ])
        // Every check, in every phase (examples, coverage, fuzzing, stateful): none needs more
        // than the hub, whose fake SoundCloud also answers the track URLs it resolves.
        .args(["--checks", "all"])
        // About 1,600 generated requests: well under two minutes on a busy machine.
        .args(["--seed", "20261206", "--max-examples", "40"])
        // One worker: the hub's answers depend on what earlier requests changed, and a fixed
        // seed should give the same run.
        .args(["--workers", "1", "--request-timeout", "15"])
        .args(["--no-color", "--output-truncate", "false"])
        .arg("--report-dir")
        .arg(report.path())
        // Only the command line and [`CONFIG`] configure the run: no hooks module.
        .env_remove("SCHEMATHESIS_HOOKS")
        .current_dir(report.path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .expect("schemathesis ends within its bound")
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("schemathesis ran for {:?}", started.elapsed());
    assert!(
        out.status.success(),
        "schemathesis found something ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // Every operation but the two streams was run. (schemathesis does not count the
    // document's own operation, `GET /openapi.json`, among those it could test.)
    let all = operation_count(&hub).await - 1;
    let tested = all - 2;
    assert!(
        stdout.contains(&format!("Selected: {tested}/{all}"))
            && stdout.contains(&format!("Tested: {tested}\n")),
        "{tested} of {all} operations tested:\n{stdout}"
    );
    // The summary (operations, cases, time) in the test's output, for whoever reads it.
    println!("{stdout}");
}

/// How many operations `/openapi.json` lists.
async fn operation_count(hub: &TestHub) -> usize {
    let doc: serde_json::Value = hub
        .http
        .get(format!("{}/openapi.json", hub.url()))
        .send()
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("a JSON document");
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .values()
        .filter_map(|item| item.as_object())
        .map(|item| item.keys().filter(|k| *k != "parameters").count())
        .sum()
}
