//! `GET /metrics` through the real router: Prometheus' text format, every metric the docs
//! list, and values that follow what happened (a poll, an announce, a relay's ack).

use std::collections::HashMap;
use std::time::Duration;

use e2e::fake_soundcloud::{FakeLike, track};
use e2e::hub::{RELAY_TOKEN, TestHub, plus_hours};
use e2e::wait;
use e2e::wsclient::{bearer, next_of, send_json};
use serde_json::json;

const T: Duration = Duration::from_secs(10);

/// Every metric with its type, as docs/api.md lists them.
const DOCUMENTED: &[(&str, &str)] = &[
    ("ntr_announces_total", "counter"),
    ("ntr_acks_total", "counter"),
    ("ntr_subscribers", "gauge"),
    ("ntr_soundcloud_requests_total", "counter"),
    ("ntr_last_poll_ok", "gauge"),
    ("ntr_last_poll_timestamp_seconds", "gauge"),
    ("ntr_last_poll_duration_seconds", "gauge"),
    ("ntr_last_poll_tracks", "gauge"),
    ("ntr_polls_total", "counter"),
    ("ntr_polls_failed_total", "counter"),
    ("ntr_http_responses_total", "counter"),
];

#[tokio::test]
async fn metrics_follow_polls_announces_and_acks() {
    let hub = TestHub::start().await;
    let (current, _) = hub.weeks();
    hub.soundcloud.set_likes(vec![FakeLike {
        created_at: plus_hours(current.start, 1),
        track: Some(track(1, "One", "Artist")),
    }]);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    let mut relay = bearer(&hub.url(), "", RELAY_TOKEN).await;
    let seq = hub.announce_text("counted").await;
    let frame = next_of(&mut relay, "announce", T).await;
    assert_eq!(frame["seq"], seq);
    send_json(
        &mut relay,
        json!({"type": "ack", "seq": seq, "target": "#ntr"}),
    )
    .await;
    let acked = wait::until(T, async || (!hub.acks().await.is_empty()).then_some(())).await;
    assert!(acked.is_some(), "the ack was recorded");

    let resp = hub
        .http
        .get(format!("{}/metrics", hub.url()))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = resp.text().await.expect("metrics text");
    for (name, kind) in DOCUMENTED {
        let type_line = format!("# TYPE {name} {kind}");
        assert!(
            text.lines().any(|line| line == type_line),
            "{type_line} in:\n{text}"
        );
    }

    let samples = samples(&text);
    let value = |name: &str| {
        *samples
            .get(name)
            .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
    };
    assert_eq!(value("ntr_announces_total"), 1.0);
    assert_eq!(value("ntr_acks_total"), 1.0);
    assert_eq!(value("ntr_subscribers"), 1.0);
    assert_eq!(value("ntr_polls_total"), 1.0);
    assert_eq!(value("ntr_polls_failed_total"), 0.0);
    assert_eq!(value("ntr_last_poll_ok"), 1.0);
    assert_eq!(value("ntr_last_poll_tracks"), 1.0);
    assert!(value("ntr_soundcloud_requests_total") >= 1.0);
    assert!(value("ntr_last_poll_timestamp_seconds") > 1.7e9);
    assert!(value("ntr_last_poll_duration_seconds") >= 0.0);
    // The refresh and the announce answered 200 before this request.
    assert!(value("ntr_http_responses_total{code=\"200\"}") >= 2.0);
}

/// Sample lines (`name{labels} value`) by name and labels.
fn samples(text: &str) -> HashMap<&str, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(key, value)| (key, value.parse().expect("a number")))
        .collect()
}
