//! Tracklists in every format, timed from the "recording started" mark, with corrections left
//! out; and the rules a correction must follow.

use e2e::hub::{RELAY_TOKEN, TestHub};
use jiff::{SignedDuration, Timestamp};
use ntr_protocol::Seq;
use serde_json::{Value, json};

async fn get(hub: &TestHub, path: &str) -> (u16, String, String) {
    let resp = hub
        .http
        .get(format!("{}{path}", hub.url()))
        .send()
        .await
        .expect("GET");
    let status = resp.status().as_u16();
    let ctype = resp.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_owned();
    (status, ctype, resp.text().await.expect("body"))
}

async fn announced_at(hub: &TestHub, seq: &Value) -> Timestamp {
    let seq = Seq::new(seq.as_u64().expect("seq"));
    let log = hub
        .state()
        .store
        .announcements_since(Seq::ZERO, Timestamp::UNIX_EPOCH)
        .await
        .expect("log");
    log.iter()
        .find(|a| a.seq == seq)
        .expect("logged")
        .announced_at
}

/// `MM:SS`, or `H:MM:SS` from an hour on.
fn clock(ms: i64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

fn cue_index(ms: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        ms / 60_000,
        ms / 1000 % 60,
        ms % 1000 * 75 / 1000
    )
}

/// A show with a mark 75.5 s before its first announce, three standing track announces (the
/// third a correction of a wrong one) and a repeat of the first.
struct Marked {
    hub: TestHub,
    id: i64,
    /// When tracks 1, 2 and 4 were announced.
    at: [Timestamp; 3],
    /// Their offsets from the mark, in milliseconds.
    ms: [i64; 3],
}

async fn marked_show() -> Marked {
    let hub = TestHub::start().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    hub.add_record(id, "One", "Alpha", "https://x.test/1").await;
    hub.add_record(id, "Two, \"2\"", "Beta | B", "https://x.test/2")
        .await;
    hub.add_record(id, "Wrong", "Nobody", "https://x.test/w")
        .await;
    hub.add_record(id, "Three *", "Gamma", "").await;
    let first = hub.announce(json!({"show_id": id, "position": 1})).await;
    let second = hub.announce(json!({"show_id": id, "position": 2})).await;
    let wrong = hub.announce(json!({"show_id": id, "position": 3})).await;
    let fix = hub
        .announce(json!({"show_id": id, "position": 4, "corrects": wrong["seq"]}))
        .await;
    assert_eq!(
        fix["message"],
        "Correction: Now Playing: Song #4: Three * by Gamma"
    );
    // Announced again later: still listed once, at its first announce.
    hub.announce(json!({"show_id": id, "position": 1})).await;
    let mut at = [Timestamp::UNIX_EPOCH; 3];
    for (slot, answer) in at.iter_mut().zip([&first, &second, &fix]) {
        *slot = announced_at(&hub, &answer["seq"]).await;
    }
    let mark = at[0] - SignedDuration::from_millis(75_500);
    let (status, answer) = hub
        .post_admin(
            &format!("/admin/shows/{id}/mark"),
            json!({"at": mark.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["mark"], mark.to_string());
    let ms = at.map(|t| t.duration_since(mark).as_millis() as i64);
    assert_eq!(ms[0], 75_500);
    Marked { hub, id, at, ms }
}

#[tokio::test]
async fn text_chapters_from_the_mark() {
    let Marked { hub, id, ms, .. } = marked_show().await;
    let (status, ctype, text) = get(&hub, &format!("/shows/{id}/tracklist")).await;
    assert_eq!((status, ctype.as_str()), (200, "text/plain; charset=utf-8"));
    assert_eq!(
        text,
        format!(
            "01:15 Alpha - One\n{} Beta | B - Two, \"2\"\n{} Gamma - Three *\n",
            clock(ms[1]),
            clock(ms[2])
        )
    );
}

#[tokio::test]
async fn a_cue_sheet_in_frames() {
    let Marked { hub, id, ms, .. } = marked_show().await;
    let (status, ctype, cue) = get(&hub, &format!("/shows/{id}/tracklist?format=cue")).await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/x-cue; charset=utf-8")
    );
    let title = cue.lines().next().expect("title line").to_owned();
    assert!(title.starts_with("TITLE \"Show of "), "{title}");
    assert_eq!(
        cue,
        format!(
            "{title}\nFILE \"show-{id}.mp3\" MP3\n\
             \x20 TRACK 01 AUDIO\n    TITLE \"One\"\n    PERFORMER \"Alpha\"\n    REM URL \"https://x.test/1\"\n    INDEX 01 01:15:37\n\
             \x20 TRACK 02 AUDIO\n    TITLE \"Two, '2'\"\n    PERFORMER \"Beta | B\"\n    REM URL \"https://x.test/2\"\n    INDEX 01 {}\n\
             \x20 TRACK 03 AUDIO\n    TITLE \"Three *\"\n    PERFORMER \"Gamma\"\n    INDEX 01 {}\n",
            cue_index(ms[1]),
            cue_index(ms[2])
        )
    );
}

#[tokio::test]
async fn csv_with_quoting() {
    let Marked { hub, id, at, ms } = marked_show().await;
    let (status, ctype, csv) = get(&hub, &format!("/shows/{id}/tracklist?format=csv")).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/csv; charset=utf-8"), "{ctype}");
    let [t1, t2, t4] = at;
    assert_eq!(
        csv,
        format!(
            "position,title,artist,url,announced_at,offset_seconds\n\
             1,One,Alpha,https://x.test/1,{t1},75\n\
             2,\"Two, \"\"2\"\"\",Beta | B,https://x.test/2,{t2},{}\n\
             4,Three *,Gamma,,{t4},{}\n",
            ms[1] / 1000,
            ms[2] / 1000
        )
    );
}

#[tokio::test]
async fn a_markdown_table_with_escaped_cells() {
    let Marked { hub, id, ms, .. } = marked_show().await;
    let (status, ctype, md) = get(&hub, &format!("/shows/{id}/tracklist?format=md")).await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "text/markdown; charset=utf-8")
    );
    assert_eq!(
        md,
        format!(
            "| # | Time | Title | Artist |\n|--:|--:|:--|:--|\n\
             | 1 | 01:15 | [One](https://x.test/1) | Alpha |\n\
             | 2 | {} | [Two, \"2\"](https://x.test/2) | Beta \\| B |\n\
             | 4 | {} | Three \\* | Gamma |\n",
            clock(ms[1]),
            clock(ms[2])
        )
    );
}

#[tokio::test]
async fn json_rows() {
    let Marked { hub, id, at, ms } = marked_show().await;
    let (status, ctype, body) = get(&hub, &format!("/shows/{id}/tracklist?format=json")).await;
    assert_eq!((status, ctype.as_str()), (200, "application/json"));
    let rows: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        rows,
        json!([
            {"position": 1, "title": "One", "artist": "Alpha", "url": "https://x.test/1",
             "announced_at": at[0].to_string(), "offset_seconds": 75},
            {"position": 2, "title": "Two, \"2\"", "artist": "Beta | B", "url": "https://x.test/2",
             "announced_at": at[1].to_string(), "offset_seconds": ms[1] / 1000},
            {"position": 4, "title": "Three *", "artist": "Gamma", "url": "",
             "announced_at": at[2].to_string(), "offset_seconds": ms[2] / 1000},
        ])
    );
}

#[tokio::test]
async fn without_a_mark_times_count_from_the_first_announce() {
    let hub = TestHub::start().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    hub.add_record(id, "One", "A", "").await;
    hub.add_record(id, "Two", "B", "").await;
    let first = hub.announce(json!({"show_id": id, "position": 1})).await;
    let second = hub.announce(json!({"show_id": id, "position": 2})).await;
    let t1 = announced_at(&hub, &first["seq"]).await;
    let t2 = announced_at(&hub, &second["seq"]).await;
    let (_, _, text) = get(&hub, &format!("/shows/{id}/tracklist?format=text")).await;
    let o2 = t2.duration_since(t1).as_millis() as i64;
    assert_eq!(text, format!("00:00 A - One\n{} B - Two\n", clock(o2)));
}

#[tokio::test]
async fn a_show_without_announces_has_an_empty_tracklist() {
    let hub = TestHub::start().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    hub.add_record(id, "Liked but never played", "A", "").await;
    hub.announce(json!({"text": "free texts are not tracks"}))
        .await;
    let cases = [
        ("text", String::new()),
        (
            "csv",
            "position,title,artist,url,announced_at,offset_seconds\n".into(),
        ),
        (
            "md",
            "| # | Time | Title | Artist |\n|--:|--:|:--|:--|\n".into(),
        ),
        ("json", "[]".into()),
    ];
    for (format, want) in cases {
        let (status, _, body) = get(&hub, &format!("/shows/{id}/tracklist?format={format}")).await;
        assert_eq!((status, body), (200, want), "{format}");
    }
    let (status, _, cue) = get(&hub, &format!("/shows/{id}/tracklist?format=cue")).await;
    assert_eq!(status, 200);
    assert!(!cue.contains("TRACK"), "{cue}");
}

#[tokio::test]
async fn unknown_formats_and_shows_are_json_errors() {
    let hub = TestHub::start().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    let (status, ctype, body) = get(&hub, &format!("/shows/{id}/tracklist?format=xml")).await;
    assert_eq!((status, ctype.as_str()), (400, "application/json"));
    let error: Value = serde_json::from_str(&body).expect("json");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("text, cue, csv, md or json")),
        "{body}"
    );
    let (status, _, body) = get(&hub, "/shows/999999/tracklist").await;
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = get(&hub, "/shows/abc/tracklist").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn marking_needs_admin_and_a_real_show_and_time() {
    let hub = TestHub::start().await;
    let (_, show) = hub.get_json("/playlist").await;
    let path = format!("{}/admin/shows/{}/mark", hub.url(), show["id"]);
    let anonymous = hub
        .http
        .post(&path)
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(anonymous.status(), 401);
    let relay = hub
        .http
        .post(&path)
        .bearer_auth(RELAY_TOKEN)
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(relay.status(), 403);
    let before = Timestamp::now();
    let (status, answer) = hub
        .post_admin(&format!("/admin/shows/{}/mark", show["id"]), json!({}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let at: Timestamp = answer["mark"]
        .as_str()
        .expect("mark")
        .parse()
        .expect("time");
    assert!(
        at >= before - SignedDuration::from_millis(1) && at <= Timestamp::now(),
        "{at}"
    );
    let (status, _) = hub
        .post_admin(
            &format!("/admin/shows/{}/mark", show["id"]),
            json!({"at": "yesterday"}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = hub.post_admin("/admin/shows/999999/mark", json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn corrections_must_name_a_recent_uncorrected_announce() {
    let hub = TestHub::start().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    hub.add_record(id, "Right", "A", "").await;
    let wrong = hub
        .announce(json!({"text": "Now Playing: the wrong thing"}))
        .await;
    let unknown = wrong["seq"].as_u64().expect("seq") + 100;
    let (status, error) = hub
        .post_admin(
            "/admin/announce",
            json!({"position": 1, "corrects": unknown}),
        )
        .await;
    assert_eq!(status, 409, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("no announce with seq")),
        "{error}"
    );

    let fix = hub
        .announce(json!({"text": "the right thing", "corrects": wrong["seq"]}))
        .await;
    assert_eq!(fix["message"], "Correction: the right thing");
    let (status, error) = hub
        .post_admin(
            "/admin/announce",
            json!({"position": 1, "corrects": wrong["seq"]}),
        )
        .await;
    assert_eq!(status, 409, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("already corrected")),
        "{error}"
    );

    // An announce from more than a day ago (its time moved back in the database).
    let old = hub.announce(json!({"show_id": id, "position": 1})).await;
    let db = rusqlite::Connection::open(hub.data_dir().join("hub.db")).expect("db");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("timeout");
    let day_ago = (Timestamp::now() - SignedDuration::from_hours(25)).as_millisecond();
    db.execute(
        "UPDATE announcements SET announced_at = ?1 WHERE seq = ?2",
        rusqlite::params![day_ago, old["seq"].as_u64()],
    )
    .expect("age the announce");
    let (status, error) = hub
        .post_admin(
            "/admin/announce",
            json!({"position": 1, "corrects": old["seq"]}),
        )
        .await;
    assert_eq!(status, 409, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("24 hours")),
        "{error}"
    );
    let (status, _) = hub
        .post_admin("/admin/announce", json!({"position": 1, "corrects": -1}))
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn the_log_marks_corrected_announces_and_the_frame_names_what_it_corrects() {
    let hub = TestHub::start().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    hub.add_record(id, "Wrong", "A", "").await;
    hub.add_record(id, "Right", "B", "").await;
    let mut ws = e2e::wsclient::bearer(&hub.url(), "", &hub.relay_token()).await;
    let wrong = hub.announce(json!({"show_id": id, "position": 1})).await;
    let fix = hub
        .announce(json!({"show_id": id, "position": 2, "corrects": wrong["seq"]}))
        .await;
    let limit = std::time::Duration::from_secs(10);
    let first = e2e::wsclient::next_of(&mut ws, "announce", limit).await;
    assert_eq!(first["corrects"], Value::Null);
    let second = e2e::wsclient::next_of(&mut ws, "announce", limit).await;
    assert_eq!(second["seq"], fix["seq"]);
    assert_eq!(second["corrects"], wrong["seq"]);
    assert_eq!(
        second["message"],
        "Correction: Now Playing: Song #2: Right by B"
    );

    let resp = hub
        .admin(hub.http.get(format!("{}/admin/shows/{id}/log", hub.url())))
        .send()
        .await
        .expect("log");
    assert_eq!(resp.status(), 200);
    let log: Value = resp.json().await.expect("log json");
    assert_eq!(log[0]["seq"], wrong["seq"]);
    assert_eq!(log[0]["corrected_by"], fix["seq"]);
    assert_eq!(log[1]["corrects"], wrong["seq"]);
    assert_eq!(log[1]["corrected_by"], Value::Null);
    // The corrected track counts as not announced again; the correction's track does.
    let announced = hub
        .state()
        .store
        .show_announcements(id)
        .await
        .expect("announcements");
    assert!(
        !announced.contains_key(&1),
        "position 1 is not announced any more"
    );
    assert_eq!(announced[&2].0.seq.get(), fix["seq"].as_u64().expect("seq"));
}
