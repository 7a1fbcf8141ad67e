//! A v2 hub's database (tests/fixtures/v2-hub.db, made by a v2 binary with
//! tests/fixtures/make-v2-db.sh) under today's hub binary: with its v2 config unchanged, and
//! with a station config whose `[store] legacy_show` takes the old weeks. Nothing is lost:
//! weeks, tracks, marks, the log with its correction, the relay's cursor, and seqs go on.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::hub::spawn_hub;
use e2e::net::free_port;
use e2e::wait;
use e2e::wsclient::{bearer, next_of};
use serde_json::{Value, json};

const ADMIN: &str = "fixture-admin-token-0123456789";
const RELAY: &str = "fixture-relay-token-0123456789";
const T: Duration = Duration::from_secs(10);

/// The fixture's one week: id 1, two hand-added tracks, announces 1 to 4 (3 corrects 1).
const V2_WEEK: i64 = 1;
const V2_LAST_SEQ: u64 = 4;

/// A data directory holding a copy of the v2 database, and a config with `shows_toml`.
fn v2_data(shows_toml: &str) -> (tempfile::TempDir, std::path::PathBuf, u16) {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/v2-hub.db");
    std::fs::copy(&fixture, dir.path().join("hub.db")).expect("copy the v2 database");
    let port = free_port();
    let config = format!(
        "[hub]\nlisten = \"127.0.0.1:{port}\"\ndata_dir = {data:?}\nadmin_token = \"{ADMIN}\"\n\
         [[hub.relays]]\nname = \"ntrbot\"\ntoken = \"{RELAY}\"\n\
         {shows_toml}\n\
         [soundcloud]\napi_base = \"http://127.0.0.1:9/\"\nweb_base = \"http://127.0.0.1:9/\"\n\
         client_id = \"abc123\"\n",
        data = dir.path().display().to_string(),
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("config");
    (dir, path, port)
}

async fn get(port: u16, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("GET");
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

async fn announce(port: u16, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/admin/announce"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .expect("announce")
        .json()
        .await
        .expect("json")
}

fn stop(child: std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut child = child;
    child.wait().expect("hub exits");
}

/// What the v2 hub wrote, read back through today's API for `slug`'s week 1.
async fn assert_the_v2_week_is_whole(port: u16, slug: &str) {
    let week = get(port, &format!("/shows/{V2_WEEK}")).await;
    assert_eq!(week["show"], slug);
    let titles: Vec<&str> = week["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .map(|t| t["title"].as_str().expect("title"))
        .collect();
    assert_eq!(titles, ["Night Drive", "Tidal"]);
    let log = get(port, &format!("/admin/shows/{V2_WEEK}/log")).await;
    let entries = log.as_array().expect("log entries");
    let seqs: Vec<u64> = entries
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(
        seqs,
        [1, 2, 3, 4],
        "the free text stays in the week's log too"
    );
    assert_eq!(entries[0]["corrected_by"], 3);
    // The corrected announce is out; times count from the recording mark, made before.
    let tracklist = get(port, &format!("/shows/{V2_WEEK}/tracklist?format=json")).await;
    let rows: Vec<(&str, bool)> = tracklist
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["title"].as_str().expect("title"),
                r["offset_seconds"].is_u64(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("Night Drive", true), ("Tidal", true)],
        "{tracklist}"
    );
}

#[tokio::test]
async fn a_v2_database_and_config_keep_working_unchanged() {
    let v2_show =
        "[show]\ntimezone = \"UTC\"\nday = \"monday\"\nhour = 20\nduration_minutes = 120\n";
    let (_dir, config, port) = v2_data(v2_show);
    let hub = spawn_hub(&config);
    wait::until_listening(port, T).await;
    assert_the_v2_week_is_whole(port, "main").await;

    // The relay resumes from its cursor, and seqs go on after the v2 hub's.
    let mut relay = bearer(&format!("http://127.0.0.1:{port}"), "", RELAY).await;
    next_of(&mut relay, "status", T).await;
    let next = announce(port, json!({"text": "hello"})).await["seq"].clone();
    assert_eq!(next, V2_LAST_SEQ + 1, "seqs go on");
    let frame = next_of(&mut relay, "announce", T).await;
    assert_eq!(frame["seq"], next);
    stop(hub);
}

#[tokio::test]
async fn a_station_takes_the_v2_weeks_for_its_legacy_show_once() {
    let station = "[[shows]]\nslug = \"ntr\"\ntitle = \"Nick the Rat\"\ntimezone = \"UTC\"\n\
                   day = \"monday\"\nhour = 20\nduration_minutes = 120\nsoundcloud_user = \"nicktherat\"\n\
                   [[shows]]\nslug = \"jazz\"\nsource = \"manual\"\ntimezone = \"Europe/Berlin\"\n\
                   day = \"thursday\"\nhour = 12\nduration_minutes = 60\n\
                   [store]\nlegacy_show = \"ntr\"\n";
    let (_dir, config, port) = v2_data(station);
    let hub = spawn_hub(&config);
    wait::until_listening(port, T).await;
    assert_the_v2_week_is_whole(port, "ntr").await;
    let jazz = get(port, "/shows?show=jazz").await;
    let jazz_ids: Vec<i64> = jazz
        .as_array()
        .expect("weeks")
        .iter()
        .map(|w| w["id"].as_i64().expect("id"))
        .collect();
    assert!(
        !jazz_ids.contains(&V2_WEEK),
        "the old week is ntr's only: {jazz}"
    );
    assert!(
        jazz_ids.iter().all(|id| *id > V2_WEEK),
        "new weeks get new ids: {jazz}"
    );

    // An announce for the other show continues the seq and names its show; the old relay
    // (no `shows`) gets it.
    let base = format!("http://127.0.0.1:{port}");
    let mut relay = bearer(&base, "", RELAY).await;
    next_of(&mut relay, "status", T).await;
    let answer = announce(port, json!({"show": "jazz", "text": "jazz is next"})).await;
    assert_eq!(answer["seq"], V2_LAST_SEQ + 1, "{answer}");
    let frame = next_of(&mut relay, "announce", T).await;
    assert_eq!(
        (frame["seq"].as_u64(), frame["show"].as_str()),
        (Some(V2_LAST_SEQ + 1), Some("jazz"))
    );
    stop(hub);

    // A second start finds nothing left to adopt and changes nothing.
    let hub = spawn_hub(&config);
    wait::until_listening(port, T).await;
    assert_the_v2_week_is_whole(port, "ntr").await;
    stop(hub);
}
