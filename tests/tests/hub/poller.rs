//! The SoundCloud poller end to end: ordering, week bucketing, paging, client_id scraping,
//! backoff, failures that keep the last good playlist, removals, manual edits and restarts.

use e2e::fake_soundcloud::{FakeLike, Fault, track};
use e2e::hub::{TestHub, plus_hours};
use serde_json::{Value, json};

fn like(at: jiff::Timestamp, id: i64) -> FakeLike {
    FakeLike {
        created_at: at,
        track: Some(track(id, &format!("Track {id}"), &format!("Artist {id}"))),
    }
}

fn titles(show: &Value) -> Vec<String> {
    show["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_owned())
        .collect()
}

fn positions(show: &Value) -> Vec<u64> {
    show["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .map(|t| t["position"].as_u64().expect("position"))
        .collect()
}

/// Two likes in the previous week, three in the current one (liked out of order), one older.
async fn hub_with_two_weeks() -> TestHub {
    let hub = TestHub::start().await;
    let (current, previous) = hub.weeks();
    hub.soundcloud.set_likes(vec![
        like(plus_hours(current.start, 30), 3),
        like(plus_hours(current.start, 1), 1),
        like(plus_hours(current.start, 20), 2),
        like(plus_hours(previous.start, 5), 11),
        like(plus_hours(previous.start, 100), 12),
        like(plus_hours(previous.start, -2), 99),
    ]);
    let outcome = hub.refresh().await;
    assert_eq!(outcome["status"], "ok", "{outcome}");
    hub
}

#[tokio::test]
async fn likes_are_ordered_oldest_first_and_bucketed_by_week() {
    let hub = hub_with_two_weeks().await;
    let (status, show) = hub.get_json("/playlist").await;
    assert_eq!(status, 200);
    assert_eq!(titles(&show), ["Track 1", "Track 2", "Track 3"]);
    assert_eq!(positions(&show), [1, 2, 3]);
    assert_eq!(show["on_air"], false);
    let t = &show["tracks"][0];
    assert_eq!(t["artist"], "Artist 1");
    assert_eq!(t["id"], 1);
    assert_eq!(t["duration_ms"], 180_001);
    assert_eq!(t["license"], "all-rights-reserved");
    assert!(
        t["permalink_url"]
            .as_str()
            .expect("url")
            .starts_with("https://soundcloud.com/")
    );
    assert!(t["liked_at"].as_str().expect("liked_at").ends_with('Z'));

    let (_, shows) = hub.get_json("/shows").await;
    let shows = shows.as_array().expect("shows").clone();
    assert_eq!(shows.len(), 2, "{shows:?}");
    assert_eq!(shows[0]["id"], show["id"], "newest first");
    assert_eq!(shows[0]["track_count"], 3);
    assert_eq!(
        shows[1]["track_count"], 2,
        "the like older than the previous week is not in it"
    );
    assert!(shows[0].get("tracks").is_none());

    let (status, previous) = hub.get_json(&format!("/shows/{}", shows[1]["id"])).await;
    assert_eq!(status, 200);
    assert_eq!(titles(&previous), ["Track 11", "Track 12"]);
    assert_eq!(previous["week_end"], show["week_start"]);

    let (status, track) = hub.get_json("/playlist/2").await;
    assert_eq!(status, 200);
    assert_eq!(track["title"], "Track 2");
    assert_eq!(track["position"], 2);
}

#[tokio::test]
async fn paging_follows_next_href_and_stops_at_the_previous_week() {
    let hub = TestHub::start().await;
    let (current, previous) = hub.weeks();
    let mut likes: Vec<FakeLike> = (0..7)
        .map(|i| like(plus_hours(current.start, i + 1), i + 1))
        .collect();
    likes.extend((0..20).map(|i| like(plus_hours(previous.start, -(i + 1)), 100 + i)));
    hub.soundcloud.set_likes(likes);
    hub.soundcloud.set_page_size(3);
    let outcome = hub.refresh().await;
    assert_eq!(outcome["poll"]["ok"], true, "{outcome}");
    let pages: Vec<String> = hub
        .soundcloud
        .requests()
        .into_iter()
        .filter(|r| r.contains("track_likes"))
        .collect();
    // 7 likes in the window, 3 per page: the third page holds the first older like, so the
    // poller stops there instead of fetching all nine pages.
    assert_eq!(pages.len(), 3, "{pages:?}");
    for p in &pages {
        assert_eq!(
            p.matches("client_id=").count(),
            1,
            "client_id re-added once: {p}"
        );
    }
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(positions(&show).len(), 7);
    assert_eq!(titles(&show)[0], "Track 1");
}

#[tokio::test]
async fn an_unchanged_poll_costs_one_request() {
    let hub = hub_with_two_weeks().await;
    hub.soundcloud.clear_requests();
    let outcome = hub.refresh().await;
    assert_eq!(outcome["poll"]["requests"], 1, "{outcome}");
    assert_eq!(hub.soundcloud.requests().len(), 1);
}

#[tokio::test]
async fn client_id_is_scraped_and_rescraped_once_on_401() {
    let hub = hub_with_two_weeks().await;
    let first = hub.soundcloud.requests();
    assert_eq!(
        first[0], "/",
        "no client_id configured: the home page is scraped first"
    );
    assert!(first.iter().any(|r| r == "/assets/app.js"));
    assert!(
        !first.iter().any(|r| r == "/assets/vendor.js"),
        "scripts are tried last to first and app.js had it"
    );

    // SoundCloud rotates its id and now publishes it in the older `client_id="…"` form.
    let fresh = "ZyXwVuTsRqPoNmLkJiHgFeDcBa987654";
    hub.soundcloud.rotate_client_id(fresh, true);
    hub.soundcloud.clear_requests();
    let outcome = hub.refresh().await;
    assert_eq!(outcome["poll"]["ok"], true, "{outcome}");
    let reqs = hub.soundcloud.requests();
    assert!(reqs[0].contains("track_likes"), "{reqs:?}");
    assert!(
        reqs.contains(&"/".to_string()),
        "re-scraped after the 401: {reqs:?}"
    );
    assert!(
        reqs.last().expect("requests").contains(fresh),
        "retried with the new id: {reqs:?}"
    );

    // A second refusal after the re-scrape is an error, not a loop.
    hub.soundcloud
        .push_faults([Fault::Status(401), Fault::Status(403)]);
    let outcome = hub.refresh().await;
    assert_eq!(outcome["poll"]["ok"], false);
    assert!(
        outcome["poll"]["error"]
            .as_str()
            .expect("error")
            .contains("client_id"),
        "{outcome}"
    );
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(titles(&show).len(), 3, "the last good playlist stays");
}

#[tokio::test]
async fn rate_limits_and_server_errors_back_off_then_succeed() {
    let hub = hub_with_two_weeks().await;
    hub.soundcloud.clear_requests();
    hub.soundcloud
        .push_faults([Fault::Status(429), Fault::Status(503)]);
    let outcome = hub.refresh().await;
    assert_eq!(outcome["poll"]["ok"], true, "{outcome}");
    assert_eq!(
        outcome["poll"]["requests"], 3,
        "two refusals, then the page: {outcome}"
    );
}

#[tokio::test]
async fn failures_keep_the_last_good_playlist() {
    let hub = hub_with_two_weeks().await;
    let (_, before) = hub.get_json("/playlist").await;
    let cases = [
        (
            vec![Fault::Status(500), Fault::Status(502), Fault::Status(500)],
            "HTTP 500",
        ),
        (vec![Fault::Garbage], "malformed"),
        (vec![Fault::BrokenBody; 3], "cannot reach SoundCloud"),
        (
            vec![Fault::Slow(std::time::Duration::from_secs(3)); 3],
            "timed out",
        ),
        (vec![Fault::Status(404)], "SoundCloud has no"),
    ];
    for (faults, expected) in cases {
        hub.soundcloud.push_faults(faults);
        let outcome = hub.refresh().await;
        assert_eq!(outcome["status"], "error", "{outcome}");
        let error = outcome["poll"]["error"].as_str().expect("error text");
        assert!(error.contains(expected), "{expected:?} not in {error:?}");
        assert!(
            !error.contains("client_id") && !error.contains(e2e::fake_soundcloud::CLIENT_ID),
            "an upstream URL's query is no one's business: {error:?}"
        );
        let (_, after) = hub.get_json("/playlist").await;
        assert_eq!(after, before, "a failed poll changes nothing");
        let (_, health) = hub.get_json("/health").await;
        assert_eq!(health["last_poll"]["ok"], false);
        assert_eq!(health["last_poll"]["error"], error);
    }
    let outcome = hub.refresh().await;
    assert_eq!(
        outcome["poll"]["ok"], true,
        "recovers on the next good poll"
    );
    let (_, health) = hub.get_json("/health").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["last_poll"]["tracks"], 5);
}

#[tokio::test]
async fn odd_tracks_are_stored_as_sent() {
    let hub = TestHub::start().await;
    let (current, _) = hub.weeks();
    let hostile = "Evil\r\nQUIT :bye\0 title ".to_string() + &"ü🎵".repeat(150);
    let mut no_license = track(2, "No licence", "Quiet");
    no_license
        .as_object_mut()
        .expect("object")
        .remove("license");
    no_license["artwork_url"] = Value::Null;
    hub.soundcloud.set_likes(vec![
        FakeLike {
            created_at: plus_hours(current.start, 1),
            track: None,
        },
        FakeLike {
            created_at: plus_hours(current.start, 2),
            track: Some(track(1, &hostile, "Ärtist\u{3}4")),
        },
        FakeLike {
            created_at: plus_hours(current.start, 3),
            track: Some(no_license),
        },
    ]);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(positions(&show), [1, 2], "the null track is skipped");
    assert_eq!(
        show["tracks"][0]["title"],
        hostile.as_str(),
        "stored exactly as SoundCloud sent it"
    );
    assert_eq!(show["tracks"][1]["license"], Value::Null);
    assert_eq!(show["tracks"][1]["artwork_url"], Value::Null);

    let (status, body) = hub
        .post_admin("/admin/announce", json!({"position": 1}))
        .await;
    assert_eq!(status, 200, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(
        message.starts_with("Now Playing: Song #1: EvilQUIT :bye title ü🎵"),
        "{message:?}"
    );
    assert!(
        message.contains(" by Ärtist4 - https://soundcloud.com/"),
        "{message:?}"
    );
}

#[tokio::test]
async fn a_like_that_disappears_leaves_the_show() {
    let hub = hub_with_two_weeks().await;
    let (current, _) = hub.weeks();
    hub.soundcloud.set_likes(vec![
        like(plus_hours(current.start, 1), 1),
        like(plus_hours(current.start, 30), 3),
    ]);
    hub.refresh().await;
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(titles(&show), ["Track 1", "Track 3"]);
}

#[tokio::test]
async fn manual_edits_survive_later_polls() {
    let hub = hub_with_two_weeks().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");

    let (status, _) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/3/move"),
            json!({"to": 1}),
        )
        .await;
    assert_eq!(status, 200);
    let delete = hub
        .admin(
            hub.http
                .delete(format!("{}/admin/shows/{id}/tracks/2", hub.url())),
        )
        .send()
        .await
        .expect("DELETE");
    assert_eq!(delete.status(), 200);
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks"),
            json!({"title": "Vinyl only", "artist": "Record Box", "url": "", "position": 2}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks"),
            json!({"url": "https://soundcloud.com/someone/track-77"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let expected = ["Track 3", "Vinyl only", "Track 2", "Resolved 77"];
    assert_eq!(titles(&body), expected);

    // SoundCloud still lists track 1 (removed by the DJ) and gains a new like.
    let (current, _) = hub.weeks();
    let (_, prev_show) = hub.get_json("/playlist").await;
    let mut likes = vec![
        like(plus_hours(current.start, 1), 1),
        like(plus_hours(current.start, 20), 2),
        like(plus_hours(current.start, 30), 3),
        like(plus_hours(current.start, 40), 4),
    ];
    likes.push(like(plus_hours(hub.weeks().1.start, 5), 11));
    hub.soundcloud.set_likes(likes);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(
        titles(&show),
        ["Track 3", "Vinyl only", "Track 2", "Resolved 77", "Track 4"]
    );
    assert_ne!(show, prev_show);
    assert!(
        !titles(&show).contains(&"Track 1".to_string()),
        "a removed track stays out"
    );

    // Bad edits: clear errors, nothing lost.
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/9/move"),
            json!({"to": 1}),
        )
        .await;
    assert_eq!((status, body["error"].is_string()), (404, true));
    let (status, _) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks/1/move"),
            json!({"to": 99}),
        )
        .await;
    // Past the show's end: the show is shorter than the request assumed.
    assert_eq!(status, 409);
    let (status, _) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks"),
            json!({"url": "https://example.com/x"}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = hub
        .post_admin(
            "/admin/shows/999/tracks",
            json!({"title": "a", "artist": "b", "url": ""}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, after) = hub.get_json("/playlist").await;
    assert_eq!(titles(&after), titles(&show));
}

#[tokio::test]
async fn a_restart_keeps_shows_announcements_and_seq() {
    let mut hub = hub_with_two_weeks().await;
    let first = hub.announce_text("before restart").await;
    let (_, before) = hub.get_json("/playlist").await;
    hub.restart().await;
    let (_, after) = hub.get_json("/playlist").await;
    assert_eq!(after, before);
    let second = hub.announce_text("after restart").await;
    assert_eq!(second, first + 1, "seq continues across restarts");
    let (_, health) = hub.get_json("/health").await;
    assert_eq!(
        health["last_poll"]["ok"], true,
        "the last poll's outcome is remembered"
    );
    // The remembered client_id and user id make the first poll after a restart one request.
    hub.soundcloud.clear_requests();
    hub.refresh().await;
    assert_eq!(
        hub.soundcloud.requests().len(),
        1,
        "{:?}",
        hub.soundcloud.requests()
    );
}

#[tokio::test]
async fn a_removed_like_added_again_by_url_survives_the_like_disappearing() {
    let hub = hub_with_two_weeks().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    let delete = hub
        .admin(
            hub.http
                .delete(format!("{}/admin/shows/{id}/tracks/2", hub.url())),
        )
        .send()
        .await
        .expect("DELETE");
    assert_eq!(delete.status(), 200);
    let (status, body) = hub
        .post_admin(
            &format!("/admin/shows/{id}/tracks"),
            json!({"url": "https://soundcloud.com/artist-2/track-2"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&body), ["Track 1", "Track 3", "Resolved 2"]);
    assert_eq!(
        body["tracks"][2]["liked_at"],
        Value::Null,
        "now an added track"
    );

    // The DJ unlikes track 2 on SoundCloud: their manual add stays.
    let (current, previous) = hub.weeks();
    hub.soundcloud.set_likes(vec![
        like(plus_hours(current.start, 1), 1),
        like(plus_hours(current.start, 30), 3),
        like(plus_hours(previous.start, 5), 11),
    ]);
    assert_eq!(hub.refresh().await["poll"]["ok"], true);
    let (_, show) = hub.get_json("/playlist").await;
    assert_eq!(titles(&show), ["Track 1", "Track 3", "Resolved 2"]);
}

#[tokio::test]
async fn a_poll_counts_only_its_own_requests_while_tracks_are_resolved() {
    let hub = hub_with_two_weeks().await;
    let (_, show) = hub.get_json("/playlist").await;
    let id = show["id"].as_i64().expect("id");
    hub.soundcloud.clear_requests();
    // The poll's single request is held until the DJ has added tracks by URL.
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    hub.soundcloud.push_faults([Fault::Hold(gate.clone())]);
    let poll = {
        let req = hub.admin(hub.http.post(format!("{}/admin/refresh", hub.url())));
        tokio::spawn(async move { req.json(&json!({})).send().await.expect("refresh") })
    };
    let started = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while hub.soundcloud.requests().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(started.is_ok(), "the poll reached SoundCloud");
    for n in 0..3 {
        let (status, body) = hub
            .post_admin(
                &format!("/admin/shows/{id}/tracks"),
                json!({"url": format!("https://soundcloud.com/someone/track-{}", 500 + n)}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    gate.notify_one();
    let outcome: Value = poll.await.expect("poll task").json().await.expect("json");
    assert_eq!(outcome["poll"]["ok"], true, "{outcome}");
    assert_eq!(
        outcome["poll"]["requests"], 1,
        "the three resolves are not the poll's: {outcome}"
    );
    assert_eq!(hub.soundcloud.requests().len(), 4);
}
