//! The store's conformance suite: every domain operation of [`Store`], run against every
//! backend [`subjects`] yields, through the face alone. A new backend adds itself to
//! [`Subject`] and must pass all of it; tests of one backend's own details (its SQL, its files)
//! live beside that backend instead.

use std::future::Future;

use jiff::{SignedDuration, Timestamp};
use ntr_protocol::Seq;

use super::{
    AlertKind, DeliveryKey, DeliveryOutcome, DeliveryStatus, Enqueue, ExpectedTrack, Fired, Like,
    NewAnnouncement, NewEvent, NewEventRow, Recipient, RelayAck, Show, ShowError, ShowEvent, Store,
    StoreError, StreamCheck, Track, TrackInfo, WeekLikes,
};
use crate::line::AnnounceLine;
use crate::station::ShowSlug;
use crate::week::{Schedule, Week};

/// A backend under test, with data of its own that outlives the handles opened on it.
enum Subject {
    Sqlite(tempfile::TempDir),
    /// The URL of a database of its own on the test cluster.
    Postgres(String),
}

impl Subject {
    fn name(&self) -> &'static str {
        match self {
            Subject::Sqlite(_) => "sqlite",
            Subject::Postgres(_) => "postgres",
        }
    }

    /// A handle on the subject's data; a later handle sees what an earlier one wrote.
    async fn open(&self) -> Store {
        match self {
            Subject::Sqlite(dir) => Store::open(dir.path()).expect("open the sqlite store"),
            Subject::Postgres(url) => Store::connect(url).await.expect("open the postgres store"),
        }
    }
}

/// Every backend, each empty. PostgreSQL is left out, with the reason printed, only where it
/// is not installed and CI does not require it.
async fn subjects() -> Vec<Subject> {
    let mut subjects = vec![Subject::Sqlite(tempfile::tempdir().expect("temp dir"))];
    if let Some(url) = ntr_testpg::fresh_database().await {
        subjects.push(Subject::Postgres(url));
    }
    subjects
}

/// Runs `case` against each backend in turn; a failure names the backend on stderr.
async fn each<F, Fut>(case: F)
where
    F: Fn(Subject) -> Fut,
    Fut: Future<Output = ()>,
{
    for subject in subjects().await {
        eprintln!("backend: {}", subject.name());
        case(subject).await;
    }
}

/// Week `n` of the test calendar: Wednesdays at 22:00 UTC from 2026-01-07.
fn week(n: i64) -> Week {
    let start = Timestamp::from_second(1_767_823_200 + n * 7 * 86_400).expect("in range");
    Week {
        start,
        end: start + SignedDuration::from_hours(7 * 24),
    }
}

/// The show most tests fill.
fn main_show() -> ShowSlug {
    slug("main")
}

fn slug(s: &str) -> ShowSlug {
    ShowSlug::parse(s).expect("slug")
}

fn track(id: i64) -> TrackInfo {
    TrackInfo {
        soundcloud_id: Some(id),
        title: format!("title {id}"),
        artist: format!("artist {id}"),
        permalink_url: None,
        artwork_url: None,
        duration_ms: Some(1_000 * id),
        license: None,
    }
}

/// A like of track `id`, `minutes` into week `w`.
fn like(w: Week, id: i64, minutes: i64) -> Like {
    Like {
        liked_at: w.start + SignedDuration::from_mins(minutes),
        track: track(id),
    }
}

/// Week `w`'s show after a poll of likes of `tracks` (track `id` liked `id` minutes in).
async fn show_of(store: &Store, w: Week, tracks: &[i64]) -> Show {
    let likes = tracks.iter().map(|&id| like(w, id, id)).collect();
    store
        .apply_likes(&main_show(), vec![WeekLikes { week: w, likes }])
        .await
        .expect("apply");
    store.show_for_week(&main_show(), w).await.expect("show")
}

fn ids(tracks: &[Track]) -> Vec<Option<i64>> {
    tracks.iter().map(|t| t.id).collect()
}

/// A track by "Band" at `position`, as an announce carries it.
fn song(position: u32, id: Option<i64>, title: &str) -> Track {
    Track {
        position,
        id,
        title: title.into(),
        artist: "Band".into(),
        permalink_url: String::new(),
        artwork_url: None,
        duration_ms: None,
        license: None,
        liked_at: None,
    }
}

fn text(line: &str) -> NewAnnouncement {
    NewAnnouncement::text(AnnounceLine::sanitize(line), None)
}

/// An announce of `t` at `position` of show `show_id`.
fn track_announce(show_id: i64, position: u32, t: &Track) -> NewAnnouncement {
    NewAnnouncement {
        show_id: Some(show_id),
        position: Some(position),
        track: Some(t.clone()),
        show: Some(main_show().to_string()),
        ..text(&format!("Now Playing: {}", t.title))
    }
}

#[tokio::test]
async fn likes_make_a_show_in_like_order() {
    each(|s| async move {
        let store = s.open().await;
        let w = week(0);
        let version = store.shows_version();
        let likes = vec![like(w, 1, 30), like(w, 2, 10), like(w, 3, 20)];
        let weeks = vec![WeekLikes { week: w, likes }];
        assert!(
            store
                .apply_likes(&main_show(), weeks.clone())
                .await
                .expect("apply")
        );
        assert!(store.shows_version() > version);
        assert!(
            !store.apply_likes(&main_show(), weeks).await.expect("again"),
            "no change"
        );

        let show = store.show_for_week(&main_show(), w).await.expect("show");
        assert_eq!(show.week, w);
        assert_eq!(ids(&show.tracks), [Some(2), Some(3), Some(1)]);
        let positions: Vec<u32> = show.tracks.iter().map(|t| t.position).collect();
        assert_eq!(positions, [1, 2, 3]);
        assert_eq!(show.tracks[0].title, "title 2");
        assert_eq!(show.tracks[0].duration_ms, Some(2_000));
        assert_eq!(
            show.tracks[0].liked_at,
            Some(w.start + SignedDuration::from_mins(10))
        );
        assert_eq!(store.show(show.id).await.expect("by id"), show);

        let empty = store
            .show_for_week(&main_show(), week(1))
            .await
            .expect("new week");
        assert!(empty.tracks.is_empty());
        assert_ne!(empty.id, show.id);
        let summaries = store.shows(10, None).await.expect("shows");
        let counts: Vec<(i64, u32)> = summaries.iter().map(|s| (s.id, s.track_count)).collect();
        assert_eq!(counts, [(empty.id, 0), (show.id, 3)], "newest first");
        assert!(matches!(
            store.show(9_999).await,
            Err(StoreError::NoShow(9_999))
        ));
    })
    .await;
}

#[tokio::test]
async fn each_show_has_its_own_weeks_and_lists_filter_by_show() {
    each(|s| async move {
        let store = s.open().await;
        let w = week(0);
        let a = store.show_for_week(&slug("a"), w).await.expect("a");
        let likes = vec![like(w, 1, 1), like(w, 2, 2)];
        store
            .apply_likes(&slug("b"), vec![WeekLikes { week: w, likes }])
            .await
            .expect("b's poll");
        let b = store.show_for_week(&slug("b"), w).await.expect("b");
        assert_ne!(a.id, b.id, "one week start, two shows");
        assert_eq!(
            (a.slug.as_str(), a.tracks.len()),
            ("a", 0),
            "b's likes stay b's"
        );
        assert_eq!((b.slug.as_str(), b.tracks.len()), ("b", 2));
        assert_eq!(store.show(b.id).await.expect("by id").slug, "b");

        let only_b = store.shows(10, Some(&slug("b"))).await.expect("b's weeks");
        let listed: Vec<(i64, &str)> = only_b.iter().map(|s| (s.id, s.slug.as_str())).collect();
        assert_eq!(listed, [(b.id, "b")]);
        assert_eq!(store.shows(10, None).await.expect("all").len(), 2);
        assert!(
            store
                .shows(10, Some(&slug("c")))
                .await
                .expect("none")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn announces_keep_their_show() {
    each(|s| async move {
        let store = s.open().await;
        let station_wide = store
            .record_announcement(text("hello all"))
            .await
            .expect("text");
        let mut new = text("hello a");
        new.show = Some("a".into());
        let for_a = store.record_announcement(new).await.expect("a's text");
        assert_eq!(
            (station_wide.show, for_a.show.as_deref()),
            (None, Some("a"))
        );
        let logged = store
            .announcements_since(Seq::ZERO, Timestamp::UNIX_EPOCH)
            .await
            .expect("log");
        let shows: Vec<Option<&str>> = logged.iter().map(|a| a.show.as_deref()).collect();
        assert_eq!(shows, [None, Some("a")]);
        let ntr_protocol::ServerMessage::Announce(frame) = for_a.to_message() else {
            panic!("an announce frame");
        };
        assert_eq!(frame.show.as_deref(), Some("a"));
    })
    .await;
}

/// How a keyed line is recorded: logged now, keys kept since `not_before`.
fn keyed_as(key: super::IdempotencyKey, not_before: Timestamp) -> super::RecordAs {
    super::RecordAs {
        hold_until: None,
        key: Some(key),
        keys_not_before: not_before,
    }
}

fn announced(recorded: &super::Recorded) -> &super::Announcement {
    match recorded {
        super::Recorded::Announced(a) => a,
        super::Recorded::Held(h) => panic!("logged, not held: {h:?}"),
    }
}

#[tokio::test]
async fn a_keyed_announce_is_recorded_once_per_credential_and_forgotten_after_its_time() {
    each(|s| async move {
        let store = s.open().await;
        let key = |principal: &str, body: &str| super::IdempotencyKey {
            principal: principal.into(),
            key: "tap-1".into(),
            body: body.into(),
        };
        let long_ago = Timestamp::UNIX_EPOCH;
        let first = store
            .record(text("one"), keyed_as(key("nick", "b1"), long_ago))
            .await
            .expect("first");
        let super::Keyed::Recorded(first) = first else {
            panic!("the first use records");
        };
        let first = announced(&first).clone();
        // The same key again records nothing and answers the first announce and its body.
        let again = store
            .record(text("two"), keyed_as(key("nick", "b2"), long_ago))
            .await
            .expect("again");
        assert!(
            matches!(&again, super::Keyed::Existing { body, recorded }
                if body == "b1" && announced(recorded).seq == first.seq),
            "{again:?}"
        );
        assert_eq!(
            store.last_seq().await.expect("seq"),
            first.seq,
            "nothing new logged"
        );
        let found = store
            .keyed(key("nick", "b1"), long_ago)
            .await
            .expect("read");
        assert_eq!(found.map(|(_, r)| announced(&r).seq), Some(first.seq));
        // Another credential's key of the same name is its own.
        let jo = store
            .record(text("jo's"), keyed_as(key("jo", "b1"), long_ago))
            .await
            .expect("jo");
        assert!(matches!(jo, super::Keyed::Recorded(_)));
        // Past its time the key is forgotten.
        let later = Timestamp::now() + SignedDuration::from_hours(1);
        assert!(
            store
                .keyed(key("nick", "b1"), later)
                .await
                .expect("read")
                .is_none()
        );
    })
    .await;
}

/// Holds `new` until a minute from now, with `key` if given.
async fn hold(
    store: &super::Store,
    new: super::NewAnnouncement,
    key: Option<super::IdempotencyKey>,
) -> super::HeldAnnouncement {
    let how = super::RecordAs {
        hold_until: Some(Timestamp::now() + SignedDuration::from_secs(60)),
        key,
        keys_not_before: Timestamp::UNIX_EPOCH,
    };
    match store.record(new, how).await.expect("hold") {
        super::Keyed::Recorded(super::Recorded::Held(h)) => h,
        other => panic!("held: {other:?}"),
    }
}

#[tokio::test]
async fn an_undone_held_announce_never_gets_a_seq() {
    each(|s| async move {
        let store = s.open().await;
        let before = store.last_seq().await.expect("seq");
        let undone = hold(&store, text("undone"), None).await;
        assert_eq!(undone.state, super::HeldState::Held);
        assert_eq!(
            store.next_release().await.expect("next"),
            Some(undone.release_at)
        );
        assert_eq!(
            store.undo_held(undone.id).await.expect("undo"),
            Some(super::HeldState::Held)
        );
        assert_eq!(
            store.undo_held(undone.id).await.expect("again"),
            Some(super::HeldState::Undone)
        );
        assert_eq!(store.undo_held(-1).await.expect("unknown"), None);
        assert!(
            store
                .release_held(undone.id)
                .await
                .expect("release")
                .is_none()
        );
        assert_eq!(store.next_release().await.expect("next"), None);
        assert_eq!(store.last_seq().await.expect("seq"), before, "no seq used");
    })
    .await;
}

#[tokio::test]
async fn a_held_announce_gets_its_seq_when_released_once() {
    each(|s| async move {
        let store = s.open().await;
        let before = store.last_seq().await.expect("seq");
        let key = super::IdempotencyKey {
            principal: "nick".into(),
            key: "tap-9".into(),
            body: "b".into(),
        };
        let kept = hold(&store, text("kept"), Some(key.clone())).await;
        assert_eq!(
            store.last_seq().await.expect("seq"),
            before,
            "no seq while held"
        );
        assert!(
            store
                .held_due(Timestamp::now())
                .await
                .expect("due")
                .is_empty()
        );
        let due = store.held_due(kept.release_at).await.expect("due");
        assert_eq!(due, vec![kept.id]);
        let released = store
            .release_held(kept.id)
            .await
            .expect("release")
            .expect("released");
        assert_eq!(released.seq, Seq::new(before.get() + 1));
        assert_eq!(released.message.as_str(), "kept");
        assert!(
            store.release_held(kept.id).await.expect("twice").is_none(),
            "released once"
        );
        assert_eq!(
            store.undo_held(kept.id).await.expect("too late"),
            Some(super::HeldState::Released(released.seq))
        );
        // The key now answers the announce its held line became.
        let (_, now) = store
            .keyed(key, Timestamp::UNIX_EPOCH)
            .await
            .expect("read")
            .expect("known");
        assert_eq!(announced(&now).seq, released.seq);
    })
    .await;
}

#[tokio::test]
async fn a_log_only_entry_is_logged_at_its_time_but_never_replayed() {
    each(|s| async move {
        let store = s.open().await;
        let before = store.last_seq().await.expect("seq");
        let at = Timestamp::now() - SignedDuration::from_mins(10);
        let mut new = text("played while offline");
        new.logged_at = Some(at);
        let logged = store.record_announcement(new).await.expect("log");
        assert!(logged.log_only);
        assert_eq!(logged.announced_at.as_millisecond(), at.as_millisecond());
        assert_eq!(logged.seq, Seq::new(before.get() + 1));
        let aired = store
            .record_announcement(text("aired"))
            .await
            .expect("aired");
        let replayed = store
            .announcements_since(before, Timestamp::UNIX_EPOCH)
            .await
            .expect("since");
        let seqs: Vec<_> = replayed.iter().map(|a| a.seq).collect();
        assert_eq!(
            seqs,
            vec![aired.seq],
            "the log-only entry is never replayed"
        );
    })
    .await;
}

#[tokio::test]
async fn the_djs_edits_survive_later_polls() {
    each(|s| async move {
        let store = s.open().await;
        let w = week(0);
        let poll = |likes: Vec<Like>| vec![WeekLikes { week: w, likes }];
        let id = show_of(&store, w, &[1, 2, 3]).await.id;
        let mut changes = store.show_changes();

        let show = store
            .remove_track(id, 2, ExpectedTrack::Any)
            .await
            .expect("remove");
        assert_eq!(ids(&show.tracks), [Some(1), Some(3)]);
        assert_eq!(changes.recv().await.expect("heard"), id);
        let show = store
            .move_track(id, 2, 1, ExpectedTrack::Any)
            .await
            .expect("move");
        assert_eq!(ids(&show.tracks), [Some(3), Some(1)]);
        let show = store.add_track(id, track(4), Some(2)).await.expect("add");
        assert_eq!(ids(&show.tracks), [Some(3), Some(4), Some(1)]);
        assert_eq!(show.tracks[1].liked_at, None, "added by hand");

        // The removed track is still liked, a new like arrives, and track 3's like is gone.
        let later = poll(vec![like(w, 1, 1), like(w, 2, 2), like(w, 5, 9)]);
        assert!(store.apply_likes(&main_show(), later).await.expect("poll"));
        let show = store.show(id).await.expect("show");
        assert_eq!(ids(&show.tracks), [Some(4), Some(1), Some(5)]);
    })
    .await;
}

#[tokio::test]
async fn an_edit_naming_another_track_than_the_one_at_its_position_changes_nothing() {
    each(|s| async move {
        let store = s.open().await;
        let w = week(0);
        let id = show_of(&store, w, &[1, 2]).await.id;
        let record = TrackInfo {
            soundcloud_id: None,
            ..track(3)
        };
        store.add_track(id, record, None).await.expect("add");

        let other = ExpectedTrack::Id(Some(2));
        let removed = store.remove_track(id, 1, other).await;
        assert!(
            matches!(removed, Err(StoreError::TrackChanged { position: 1, ref now }) if now.contains("title 1")),
            "{removed:?}"
        );
        let moved = store.move_track(id, 1, 2, other).await;
        assert!(matches!(moved, Err(StoreError::TrackChanged { .. })), "{moved:?}");
        let record_expected = store.remove_track(id, 2, ExpectedTrack::Id(None)).await;
        assert!(
            matches!(record_expected, Err(StoreError::TrackChanged { position: 2, .. })),
            "a like is not the record: {record_expected:?}"
        );
        let like_expected = store.remove_track(id, 3, ExpectedTrack::Id(Some(3))).await;
        assert!(
            matches!(like_expected, Err(StoreError::TrackChanged { position: 3, .. })),
            "the record is not a like: {like_expected:?}"
        );
        let show = store.show(id).await.expect("show");
        assert_eq!(ids(&show.tracks), [Some(1), Some(2), None], "nothing changed");

        let show = store
            .move_track(id, 1, 2, ExpectedTrack::Id(Some(1)))
            .await
            .expect("move the track meant");
        assert_eq!(ids(&show.tracks), [Some(2), Some(1), None]);
        let show = store
            .remove_track(id, 3, ExpectedTrack::Id(None))
            .await
            .expect("remove the record meant");
        assert_eq!(ids(&show.tracks), [Some(2), Some(1)]);
    })
    .await;
}

#[tokio::test]
async fn edits_outside_the_show_are_refused() {
    each(|s| async move {
        let store = s.open().await;
        let w = week(0);
        let id = show_of(&store, w, &[1]).await.id;
        let removed = store.remove_track(id, 2, ExpectedTrack::Any).await;
        assert!(
            matches!(removed, Err(StoreError::NoPosition { position: 2, .. })),
            "{removed:?}"
        );
        let moved = store.move_track(id, 1, 0, ExpectedTrack::Any).await;
        assert!(matches!(moved, Err(StoreError::BeyondShow(_))), "{moved:?}");
        let added = store.add_track(id, track(2), Some(3)).await;
        assert!(matches!(added, Err(StoreError::BeyondShow(_))), "{added:?}");
        let added = store.add_track(id + 100, track(2), None).await;
        assert!(matches!(added, Err(StoreError::NoShow(_))), "{added:?}");
        let show = store.show(id).await.expect("show");
        assert_eq!(ids(&show.tracks), [Some(1)], "nothing changed");
    })
    .await;
}

#[tokio::test]
async fn the_current_and_previous_show_follow_the_schedule() {
    each(|s| async move {
        let store = s.open().await;
        let schedule = Schedule::from_config("UTC", "wednesday", 22, 60).expect("schedule");
        let schedule = crate::station::ShowDef {
            slug: main_show(),
            title: "Main".into(),
            schedule,
            announce_template: crate::line_template::AnnounceTemplate::parse("{title}")
                .expect("template"),
            correction_template: crate::line_template::CorrectionTemplate::parse("{message}")
                .expect("template"),
            source: crate::station::PlaylistSource::Manual,
            console: crate::station::Console::default(),
            alerts: crate::station::Alerts::default(),
        };
        let now = week(3).start + SignedDuration::from_hours(30);
        let current = store.current_show(&schedule, now).await.expect("current");
        assert_eq!((current.week, current.slug.as_str()), (week(3), "main"));
        let previous = store.previous_show(&schedule, now).await.expect("previous");
        assert_eq!(previous.week, week(2));
        assert_ne!(previous.id, current.id);
        let on_air = week(3).start + SignedDuration::from_mins(30);
        let live = store.current_show(&schedule, on_air).await.expect("live");
        assert_eq!(
            live.id, previous.id,
            "during the live window the show that just ended"
        );
        let end = store.current_show(&schedule, Timestamp::MAX).await;
        assert!(matches!(end, Err(ShowError::Calendar(_))), "{end:?}");
    })
    .await;
}

#[tokio::test]
async fn seqs_strictly_increase_and_survive_reopening() {
    each(|s| async move {
        let store = s.open().await;
        assert_eq!(store.last_seq().await.expect("seq"), Seq::ZERO);
        let mut seqs = Vec::new();
        for n in 0..3 {
            let a = store.record_announcement(text(&format!("line {n}"))).await;
            seqs.push(a.expect("announce").seq);
        }
        assert!(seqs.windows(2).all(|p| p[0] < p[1]), "{seqs:?}");
        assert!(seqs[0] > Seq::ZERO);
        assert_eq!(store.last_seq().await.expect("seq"), seqs[2]);
        drop(store);

        let store = s.open().await;
        assert_eq!(
            store.last_seq().await.expect("seq after reopening"),
            seqs[2]
        );
        let next = store
            .record_announcement(text("after"))
            .await
            .expect("announce");
        assert!(next.seq > seqs[2]);
        let all = store
            .announcements_since(Seq::ZERO, Timestamp::UNIX_EPOCH)
            .await
            .expect("log");
        let messages: Vec<&str> = all.iter().map(|a| a.message.as_str()).collect();
        assert_eq!(messages, ["line 0", "line 1", "line 2", "after"]);
    })
    .await;
}

#[tokio::test]
async fn the_log_replays_after_a_seq_within_a_window() {
    each(|s| async move {
        let store = s.open().await;
        let show = store
            .show_for_week(&main_show(), week(0))
            .await
            .expect("show");
        let t = song(1, Some(7), "Song");
        let first = store.record_announcement(text("first")).await.expect("a");
        let second = store
            .record_announcement(track_announce(show.id, 1, &t))
            .await
            .expect("b");
        let since = store
            .announcements_since(first.seq, Timestamp::UNIX_EPOCH)
            .await
            .expect("since");
        assert_eq!(since.len(), 1);
        let read = &since[0];
        assert_eq!(read.seq, second.seq);
        assert_eq!((read.show_id, read.position), (Some(show.id), Some(1)));
        assert_eq!(read.track.as_ref(), Some(&t));
        assert_eq!(read.announced_at, second.announced_at);
        assert_eq!((read.corrects, read.corrected_by), (None, None));

        let future = Timestamp::now() + SignedDuration::from_hours(1);
        let none = store.announcements_since(Seq::ZERO, future).await;
        assert!(none.expect("window").is_empty(), "outside the window");
        let window = store
            .announcements_since(Seq::ZERO, second.announced_at)
            .await
            .expect("window");
        assert!(window.iter().all(|a| a.announced_at >= second.announced_at));
        assert_eq!(window.last().map(|a| a.seq), Some(second.seq));
        assert_eq!(
            store.announcement_show(second.seq).await.expect("show"),
            Some(show.id)
        );
        assert_eq!(
            store.announcement_show(first.seq).await.expect("text"),
            None
        );
        assert_eq!(
            store
                .announcement_show(Seq::new(99))
                .await
                .expect("unknown"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn a_correction_replaces_its_announce_once() {
    each(|s| async move {
        let store = s.open().await;
        let show = store
            .show_for_week(&main_show(), week(0))
            .await
            .expect("show");
        let t = song(1, None, "Wrong");
        let wrong = store
            .record_announcement(track_announce(show.id, 1, &t))
            .await
            .expect("announce");
        assert_eq!(
            store.show_announcements(show.id).await.expect("map").len(),
            1
        );
        let fix = NewAnnouncement {
            corrects: Some(wrong.seq),
            ..text("Sorry, that was not it")
        };
        let fix = store.record_announcement(fix).await.expect("correct");
        assert_eq!(fix.corrects, Some(wrong.seq));
        let log = store
            .announcements_since(Seq::ZERO, Timestamp::UNIX_EPOCH)
            .await
            .expect("log");
        assert_eq!(log[0].corrected_by, Some(fix.seq));
        assert_eq!(log[1].corrects, Some(wrong.seq));
        assert!(
            store
                .show_announcements(show.id)
                .await
                .expect("map")
                .is_empty()
        );
        assert!(store.played(show.id).await.expect("played").is_empty());

        for target in [wrong.seq, Seq::new(99)] {
            let again = NewAnnouncement {
                corrects: Some(target),
                ..text("again")
            };
            let refused = store.record_announcement(again).await;
            assert!(
                matches!(refused, Err(StoreError::Uncorrectable(_))),
                "{refused:?}"
            );
        }
        assert_eq!(
            store.last_seq().await.expect("seq"),
            fix.seq,
            "nothing logged"
        );
    })
    .await;
}

#[tokio::test]
async fn acks_are_kept_once_per_target_and_only_for_issued_seqs() {
    each(|s| async move {
        let store = s.open().await;
        let show = store
            .show_for_week(&main_show(), week(0))
            .await
            .expect("show");
        let t = song(2, Some(1), "Song");
        let a = store
            .record_announcement(track_announce(show.id, 2, &t))
            .await
            .expect("announce");
        assert!(store.record_ack(a.seq, "#radio".into()).await.expect("ack"));
        assert!(
            !store
                .record_ack(a.seq, "#radio".into())
                .await
                .expect("twice")
        );
        assert!(
            store
                .record_ack(a.seq, "discord".into())
                .await
                .expect("other")
        );
        assert!(
            !store
                .record_ack(Seq::new(99), "#radio".into())
                .await
                .expect("unknown")
        );
        let acks = store.acks(a.seq).await.expect("acks");
        let mut targets: Vec<&str> = acks.iter().map(|a| a.target.as_str()).collect();
        targets.sort_unstable();
        assert_eq!(targets, ["#radio", "discord"]);

        let by_position = store.show_announcements(show.id).await.expect("map");
        let (announce, acks) = by_position.get(&2).expect("position 2");
        assert_eq!((announce.seq, acks.len()), (a.seq, 2));
        let window = (show.week.start, show.week.end);
        let log = store.show_log(show.id, window).await.expect("log");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].1.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn relay_cursors_only_move_forward_and_survive_reopening() {
    each(|s| async move {
        let store = s.open().await;
        let first = store.record_announcement(text("1")).await.expect("a").seq;
        let second = store.record_announcement(text("2")).await.expect("b").seq;
        let when = store.relay_acked("bot".into(), second).await.expect("ack");
        assert!(when.is_some());
        store
            .relay_acked("bot".into(), first)
            .await
            .expect("older ack");
        let never = store
            .relay_acked("bot".into(), Seq::new(99))
            .await
            .expect("ack");
        assert_eq!(never, None);
        let raise = vec![("quiet".into(), first), ("gone".into(), Seq::new(50))];
        store.raise_relay_cursors(raise).await.expect("raise");
        drop(store);

        let cursors = s.open().await.relay_cursors().await.expect("cursors");
        let seq = |name: &str| cursors.get(name).map(|c| c.seq);
        assert_eq!(seq("bot"), Some(second), "never moves back");
        assert_eq!(seq("quiet"), Some(first));
        assert_eq!(seq("gone"), None, "a seq never issued is no cursor");
        assert!(cursors.values().all(|c| !c.acking), "nobody was marked");
    })
    .await;
}

#[tokio::test]
async fn a_relay_cursor_starts_at_the_newest_seq_once_and_acking_is_remembered() {
    each(|s| async move {
        let store = s.open().await;
        let early = store.start_relay_cursor("early".into()).await;
        assert_eq!(early.expect("start"), Seq::ZERO, "an empty log");
        let first = store.record_announcement(text("1")).await.expect("a").seq;
        let start = store.start_relay_cursor("bot".into()).await.expect("start");
        assert_eq!(start, first);
        let second = store.record_announcement(text("2")).await.expect("b").seq;
        let again = store.start_relay_cursor("bot".into()).await.expect("again");
        assert_eq!(again, first, "an existing cursor stays");
        store.mark_relay_acking("bot".into()).await.expect("mark");
        store
            .mark_relay_acking("new".into())
            .await
            .expect("mark new");
        drop(store);

        let cursors = s.open().await.relay_cursors().await.expect("cursors");
        let got = |name: &str| cursors.get(name).map(|c| (c.seq, c.acking));
        assert_eq!(got("early"), Some((Seq::ZERO, false)));
        assert_eq!(got("bot"), Some((first, true)), "marking moves no cursor");
        assert_eq!(got("new"), Some((second, true)), "marked at the newest seq");
    })
    .await;
}

#[tokio::test]
async fn a_relays_ack_targets_are_capped_per_line() {
    each(|s| async move {
        let store = s.open().await;
        let seq = store.record_announcement(text("1")).await.expect("a").seq;
        let ack = |target: String, relay: &str| {
            let store = store.clone();
            let relay = relay.to_owned();
            async move {
                store
                    .record_relay_ack(seq, target, relay)
                    .await
                    .expect("ack")
            }
        };
        for i in 0..crate::store::ACK_TARGETS_PER_RELAY {
            assert_eq!(ack(format!("#c{i}"), "bot").await, RelayAck::Recorded);
        }
        assert_eq!(ack("#c0".into(), "bot").await, RelayAck::Known);
        assert_eq!(ack("#one-more".into(), "bot").await, RelayAck::OverCap);
        assert_eq!(
            ack("#c0".into(), "other").await,
            RelayAck::Known,
            "one per target"
        );
        assert_eq!(ack("#one-more".into(), "other").await, RelayAck::Recorded);
        let missing = store.record_relay_ack(Seq::new(99), "#x".into(), "bot".into());
        assert_eq!(missing.await.expect("ack"), RelayAck::Known, "never issued");
        assert!(
            store
                .record_ack(seq, "discord".into())
                .await
                .expect("target")
        );
        let acks = store.acks(seq).await.expect("acks");
        assert_eq!(acks.len(), crate::store::ACK_TARGETS_PER_RELAY + 2);
    })
    .await;
}

#[tokio::test]
async fn sessions_live_until_they_end_or_expire() {
    each(|s| async move {
        let store = s.open().await;
        let hour = SignedDuration::from_hours(1);
        let expires = Timestamp::from_millisecond((Timestamp::now() + hour).as_millisecond())
            .expect("in range");
        store
            .create_session("a".into(), "dj".into(), expires)
            .await
            .expect("create");
        let live = store.live_session("a".into()).await.expect("read");
        let live = live.expect("live");
        assert_eq!((live.id.as_str(), live.username.as_str()), ("a", "dj"));
        assert_eq!(live.expires_at, expires);
        store
            .create_session("old".into(), "dj".into(), Timestamp::now() - hour)
            .await
            .expect("create expired");
        assert_eq!(store.live_session("old".into()).await.expect("read"), None);
        assert_eq!(
            store.live_session("nobody".into()).await.expect("read"),
            None
        );
        store.end_session("a".into()).await.expect("end");
        assert_eq!(store.live_session("a".into()).await.expect("read"), None);
    })
    .await;
}

#[tokio::test]
async fn a_start_under_another_password_ends_every_session() {
    each(|s| async move {
        let store = s.open().await;
        let expires = Timestamp::now() + SignedDuration::from_hours(1);
        let first = store.end_sessions_of_other_passwords("one".into()).await;
        assert_eq!(first.expect("first start"), 0);
        store
            .create_session("a".into(), "dj".into(), expires)
            .await
            .expect("create");
        let again = store.end_sessions_of_other_passwords("one".into()).await;
        assert_eq!(again.expect("same password"), 0);
        assert!(
            store
                .live_session("a".into())
                .await
                .expect("read")
                .is_some()
        );
        let other = s
            .open()
            .await
            .end_sessions_of_other_passwords("two".into())
            .await;
        assert_eq!(other.expect("another password"), 1);
        assert_eq!(store.live_session("a".into()).await.expect("read"), None);
    })
    .await;
}

#[tokio::test]
async fn a_users_password_change_ends_that_users_sessions_only() {
    each(|s| async move {
        let store = s.open().await;
        let expires = Timestamp::now() + SignedDuration::from_hours(1);
        for (id, user) in [("n", "nick"), ("j", "jo")] {
            let first = store
                .end_sessions_of_changed_password(user.into(), format!("{user}-1"))
                .await;
            assert_eq!(first.expect("first start"), 0);
            store
                .create_session(id.into(), user.into(), expires)
                .await
                .expect("create");
        }
        let same = store
            .end_sessions_of_changed_password("nick".into(), "nick-1".into())
            .await;
        assert_eq!(same.expect("same password"), 0);
        let changed = s
            .open()
            .await
            .end_sessions_of_changed_password("nick".into(), "nick-2".into())
            .await;
        assert_eq!(changed.expect("nick's new password"), 1);
        assert_eq!(store.live_session("n".into()).await.expect("read"), None);
        let jo = store.live_session("j".into()).await.expect("read");
        assert!(jo.is_some(), "another user's session stays");
    })
    .await;
}

#[tokio::test]
async fn a_watched_session_ends_with_its_logout_only() {
    each(|s| async move {
        let store = s.open().await;
        let expires = Timestamp::now() + SignedDuration::from_hours(1);
        for id in ["a", "b"] {
            store
                .create_session(id.into(), "dj".into(), expires)
                .await
                .expect("create");
        }
        let mut a = store.watch_session("a".into()).await;
        let mut b = store.watch_session("b".into()).await;
        let limit = std::time::Duration::from_secs(5);
        store.end_session("a".into()).await.expect("end");
        tokio::time::timeout(limit, a.ended())
            .await
            .expect("a ended");
        let b_ended = tokio::time::timeout(std::time::Duration::from_millis(100), b.ended());
        assert!(b_ended.await.is_err(), "b is still live");
        let mut late = store.watch_session("a".into()).await;
        tokio::time::timeout(limit, late.ended())
            .await
            .expect("already ended");
    })
    .await;
}

#[tokio::test]
async fn marks_and_meta_are_kept_and_overwritten() {
    each(|s| async move {
        let store = s.open().await;
        let show = store
            .show_for_week(&main_show(), week(0))
            .await
            .expect("show");
        assert_eq!(store.mark(show.id).await.expect("mark"), None);
        let at = week(0).end + SignedDuration::from_mins(5);
        store.set_mark(show.id, at).await.expect("set");
        let moved = at + SignedDuration::from_mins(1);
        store.set_mark(show.id, moved).await.expect("move");
        assert_eq!(store.mark(show.id).await.expect("mark"), Some(moved));
        let missing = store.set_mark(show.id + 100, at).await;
        assert!(matches!(missing, Err(StoreError::NoShow(_))), "{missing:?}");

        assert_eq!(store.meta("user_id").await.expect("meta"), None);
        store.set_meta("user_id", "1".into()).await.expect("set");
        store
            .set_meta("user_id", "2".into())
            .await
            .expect("overwrite");
        store
            .set_meta("client_id", "c".into())
            .await
            .expect("other");
        assert_eq!(
            store.meta("user_id").await.expect("meta").as_deref(),
            Some("2")
        );
        assert_eq!(
            store.meta("client_id").await.expect("meta").as_deref(),
            Some("c")
        );
    })
    .await;
}

fn timing() -> Enqueue {
    Enqueue {
        not_before: Timestamp::UNIX_EPOCH,
        delay_ms: 0,
        give_up_ms: 300_000,
        shows: None,
    }
}

#[tokio::test]
async fn deliveries_are_made_once_from_the_targets_cursor() {
    each(|s| async move {
        let store = s.open().await;
        let old = store
            .record_announcement(text("before"))
            .await
            .expect("a")
            .seq;
        store.init_delivery_cursor("t".into()).await.expect("init");
        let seq = store
            .record_announcement(text("after"))
            .await
            .expect("b")
            .seq;
        let pending = store
            .deliveries(seq, vec![every_show("t")])
            .await
            .expect("rows");
        let status: Vec<_> = pending.expect("seq").iter().map(|r| r.status).collect();
        assert_eq!(
            status,
            [DeliveryStatus::Pending],
            "a placeholder before its row"
        );
        let made = store.enqueue_deliveries("t".into(), timing()).await;
        assert_eq!(made.expect("enqueue"), 1, "only what came after the cursor");
        let made = store.enqueue_deliveries("t".into(), timing()).await;
        assert_eq!(made.expect("again"), 0);
        let next = store.next_delivery("t".into()).await.expect("next");
        let next = next.expect("a row");
        assert_eq!(next.item.key(), DeliveryKey::Announce(seq));
        assert_eq!(next.item.message().as_str(), "after");
        assert_eq!(next.attempts, 0);
        let before = store
            .deliveries(old, vec![every_show("t")])
            .await
            .expect("old");
        assert_eq!(before, Some(vec![]));
        let unknown = store.deliveries(Seq::new(99), vec![]).await.expect("none");
        assert_eq!(unknown, None);
    })
    .await;
}

fn every_show(t: &str) -> Recipient {
    Recipient {
        target: t.into(),
        shows: None,
    }
}

fn of_show(line: &str, show: Option<&str>) -> NewAnnouncement {
    NewAnnouncement::text(AnnounceLine::sanitize(line), show.map(String::from))
}

#[tokio::test]
async fn a_target_given_some_shows_gets_rows_for_those_and_station_wide_lines_only() {
    each(|s| async move {
        let store = s.open().await;
        store.init_delivery_cursor("b".into()).await.expect("init");
        let mut seqs = Vec::new();
        for (line, show) in [
            ("a1", Some("a")),
            ("b1", Some("b")),
            ("all", None),
            ("a2", Some("a")),
        ] {
            let a = store.record_announcement(of_show(line, show)).await;
            seqs.push(a.expect("announce").seq);
        }
        let only_b = Enqueue {
            shows: Some(vec!["b".into()]),
            ..timing()
        };
        let made = store.enqueue_deliveries("b".into(), only_b.clone()).await;
        assert_eq!(made.expect("enqueue"), 2, "b1 and the station-wide line");
        let again = store.enqueue_deliveries("b".into(), only_b).await;
        assert_eq!(
            again.expect("again"),
            0,
            "the cursor passed the a lines too"
        );
        let recipient = Recipient {
            target: "b".into(),
            shows: Some(vec!["b".into()]),
        };
        let rows = store.deliveries(seqs[0], vec![recipient.clone()]).await;
        assert_eq!(rows.expect("rows"), Some(vec![]), "no row for an a line");
        let rows = store.deliveries(seqs[1], vec![recipient]).await;
        assert_eq!(rows.expect("rows").map(|r| r.len()), Some(1));
    })
    .await;
}

/// A store with one pending delivery row for target `t`; returns its seq.
async fn one_pending_row(store: &Store) -> Seq {
    store.init_delivery_cursor("t".into()).await.expect("init");
    let seq = store
        .record_announcement(text("line"))
        .await
        .expect("a")
        .seq;
    store
        .enqueue_deliveries("t".into(), timing())
        .await
        .expect("enqueue");
    seq
}

#[tokio::test]
async fn a_retried_delivery_keeps_its_error_and_next_try() {
    each(|s| async move {
        let store = s.open().await;
        let seq = one_pending_row(&store).await;
        assert_eq!(
            store
                .begin_attempt(DeliveryKey::Announce(seq), "t".into())
                .await
                .expect("try"),
            1
        );
        let due_at = Timestamp::from_millisecond(Timestamp::now().as_millisecond() + 60_000)
            .expect("in range");
        let retry = DeliveryOutcome::Retry {
            error: "503".into(),
            due_at,
        };
        store
            .finish_delivery(DeliveryKey::Announce(seq), "t".into(), retry)
            .await
            .expect("retry");
        let next = store.next_delivery("t".into()).await.expect("next");
        let next = next.expect("still pending");
        assert_eq!(next.attempts, 1);
        assert_eq!(
            (next.last_error.as_deref(), next.due_at),
            (Some("503"), due_at)
        );
        let problems = store.delivery_problems(Timestamp::UNIX_EPOCH).await;
        let problems = problems.expect("problems");
        assert_eq!(problems.len(), 1);
        assert_eq!(
            (problems[0].0, problems[0].1.status),
            (seq, DeliveryStatus::Pending)
        );
        let summary = store
            .delivery_summary("t".into(), Timestamp::UNIX_EPOCH)
            .await;
        assert_eq!(summary.expect("summary").pending, 1);
    })
    .await;
}

#[tokio::test]
async fn a_sent_delivery_is_final() {
    each(|s| async move {
        let store = s.open().await;
        let seq = one_pending_row(&store).await;
        store
            .begin_attempt(DeliveryKey::Announce(seq), "t".into())
            .await
            .expect("try");
        assert_eq!(
            store
                .begin_attempt(DeliveryKey::Announce(seq), "t".into())
                .await
                .expect("try"),
            2
        );
        let sent = DeliveryOutcome::Sent { latency_ms: 12 };
        store
            .finish_delivery(DeliveryKey::Announce(seq), "t".into(), sent)
            .await
            .expect("sent");
        let failed = DeliveryOutcome::Failed {
            error: "late".into(),
        };
        store
            .finish_delivery(DeliveryKey::Announce(seq), "t".into(), failed)
            .await
            .expect("ignored");
        assert!(
            store
                .next_delivery("t".into())
                .await
                .expect("next")
                .is_none()
        );
        let rows = store.deliveries(seq, vec![]).await.expect("rows");
        let row = &rows.expect("seq")[0];
        assert_eq!((row.status, row.attempts), (DeliveryStatus::Sent, 2));
        assert_eq!(
            (row.latency_ms, row.last_error.as_deref()),
            (Some(12), None)
        );
        let summary = store
            .delivery_summary("t".into(), Timestamp::UNIX_EPOCH)
            .await;
        let summary = summary.expect("summary");
        assert_eq!((summary.pending, summary.failed), (0, 0));
        let last = summary.last.map(|(s, r)| (s, r.status));
        assert_eq!(last, Some((seq, DeliveryStatus::Sent)));
        let problems = store.delivery_problems(Timestamp::UNIX_EPOCH).await;
        assert!(problems.expect("problems").is_empty());
    })
    .await;
}

/// `seq`'s row of target `t`: (verified, stream_title).
async fn stream_check_of(store: &Store, seq: Seq) -> (Option<bool>, Option<String>) {
    let rows = store.deliveries(seq, vec![]).await.expect("rows");
    let row = rows.expect("seq").into_iter().next().expect("a row");
    (row.verified, row.stream_title)
}

#[tokio::test]
async fn read_backs_are_kept_on_sent_rows_only_and_an_unreadable_one_keeps_the_title() {
    each(|s| async move {
        let store = s.open().await;
        let seq = one_pending_row(&store).await;
        let check = |title: Option<&str>, verified| StreamCheck {
            stream_title: title.map(str::to_owned),
            verified,
        };
        store
            .record_stream_check(seq, "t".into(), check(Some("early"), Some(true)))
            .await
            .expect("ignored");
        assert_eq!(stream_check_of(&store, seq).await, (None, None), "pending");
        store
            .begin_attempt(DeliveryKey::Announce(seq), "t".into())
            .await
            .expect("try");
        let sent = DeliveryOutcome::Sent { latency_ms: 3 };
        store
            .finish_delivery(DeliveryKey::Announce(seq), "t".into(), sent)
            .await
            .expect("sent");
        let before = store.deliveries(seq, vec![]).await.expect("rows");
        let updated_at = before.expect("seq")[0].updated_at;

        store
            .record_stream_check(seq, "t".into(), check(Some("A - B"), None))
            .await
            .expect("first read");
        assert_eq!(
            stream_check_of(&store, seq).await,
            (None, Some("A - B".into()))
        );
        store
            .record_stream_check(seq, "t".into(), check(None, Some(false)))
            .await
            .expect("unreadable read");
        let other = s.open().await;
        assert_eq!(
            stream_check_of(&other, seq).await,
            (Some(false), Some("A - B".into())),
            "kept, and seen by another handle"
        );
        let summary = other
            .delivery_summary("t".into(), Timestamp::UNIX_EPOCH)
            .await;
        let (_, last) = summary.expect("summary").last.expect("a last row");
        assert_eq!((last.verified, last.updated_at), (Some(false), updated_at));
    })
    .await;
}

#[tokio::test]
async fn played_is_the_standing_track_announces() {
    each(|s| async move {
        let store = s.open().await;
        let w = week(0);
        let show = show_of(&store, w, &[1, 2]).await;
        let since = Timestamp::now() - SignedDuration::from_hours(1);
        let main = main_show();
        assert_eq!(
            store.last_played(&main, since).await.expect("none yet"),
            None
        );
        let mut seqs = Vec::new();
        for t in &show.tracks {
            let a = track_announce(show.id, t.position, t);
            seqs.push(store.record_announcement(a).await.expect("announce").seq);
        }
        store
            .record_announcement(text("a free text"))
            .await
            .expect("text");

        let played = store.played(show.id).await.expect("played");
        let got: Vec<(Seq, u32)> = played.iter().map(|p| (p.seq, p.position)).collect();
        assert_eq!(got, [(seqs[0], 1), (seqs[1], 2)]);
        assert_eq!(played[1].track, show.tracks[1]);
        let last = store.last_played(&main, since).await.expect("last");
        assert_eq!(
            last.expect("some").seq,
            seqs[1],
            "the free text is not a track"
        );
        let other = slug("other");
        let nothing = store.last_played(&other, since).await.expect("other show");
        assert_eq!(
            nothing, None,
            "another show's tracks are not its last played"
        );
        let future = Timestamp::now() + SignedDuration::from_hours(1);
        let later = store.last_played(&main, future).await.expect("later");
        assert_eq!(later, None);

        let at = w.end + SignedDuration::from_mins(1);
        store.set_mark(show.id, at).await.expect("mark");
        store
            .show_for_week(&main_show(), week(1))
            .await
            .expect("a show with nothing played");
        let by_show = store.played_by_show(10).await.expect("by show");
        assert_eq!(
            by_show.len(),
            1,
            "shows without track announces are left out"
        );
        assert_eq!(
            (by_show[0].id, by_show[0].week, by_show[0].mark),
            (show.id, w, Some(at))
        );
        assert_eq!(by_show[0].played, played);
        assert_eq!(by_show[0].slug, "main");
        let of_main = store.played_by_show_of(10, Some(&main)).await;
        assert_eq!(of_main.expect("of main").len(), 1);
        let of_other = store.played_by_show_of(10, Some(&slug("nobody"))).await;
        assert!(of_other.expect("of nobody").is_empty());

        // Another show's track: last played goes by the announce's show, not its week.
        let mut of_other = track_announce(show.id, 1, &show.tracks[0]);
        of_other.show = Some(other.to_string());
        let b = store.record_announcement(of_other).await.expect("b");
        let last = store.last_played(&other, since).await.expect("other");
        assert_eq!(last.map(|p| p.seq), Some(b.seq));
        let last = store.last_played(&main, since).await.expect("main again");
        assert_eq!(last.map(|p| p.seq), Some(seqs[1]), "not the other show's");
    })
    .await;
}

/// A new alert of `kind` for show week `show_id` with a pending row for `t` (and for `gone`
/// one already failed `expired`).
fn alert(show_id: i64, kind: AlertKind, at: Timestamp) -> NewEvent {
    let row = |target: &str, failed: Option<&str>| NewEventRow {
        target: target.into(),
        due_at: at,
        give_up_at: at + SignedDuration::from_mins(5),
        failed: failed.map(String::from),
    };
    NewEvent {
        show_id,
        kind,
        message: AnnounceLine::sanitize("Main is live now: https://radio.example/"),
        at,
        rows: vec![row("t", None), row("gone", Some("expired"))],
    }
}

/// A store with this week's live alert of `main` fired at `at`, and its reminder.
async fn two_alerts(store: &Store, at: Timestamp) -> (i64, ShowEvent) {
    let show = store.show_for_week(&main_show(), week(1)).await;
    let show_id = show.expect("week").id;
    let fired = store.fire_event(alert(show_id, AlertKind::Live, at)).await;
    let Fired::Now(live) = fired.expect("fire") else {
        panic!("the first live alert of a week fires");
    };
    let reminder = store
        .fire_event(alert(show_id, AlertKind::Reminder, at))
        .await;
    assert!(matches!(reminder.expect("reminder"), Fired::Now(_)));
    (show_id, live)
}

#[tokio::test]
async fn an_alert_fires_once_per_week_and_kind() {
    each(|s| async move {
        let store = s.open().await;
        let at = Timestamp::now();
        let (show_id, live) = two_alerts(&store, at).await;
        assert_eq!((live.show.as_str(), live.kind), ("main", AlertKind::Live));
        let again = store.fire_event(alert(show_id, AlertKind::Live, at)).await;
        assert_eq!(again.expect("again"), Fired::Before(live.clone()));
        // Reopened, as after a restart: still fired, once.
        let store = s.open().await;
        let found = store.event(show_id, AlertKind::Live).await.expect("event");
        assert_eq!(found, Some(live));
        let events = store.events_since(Timestamp::UNIX_EPOCH).await;
        assert_eq!(events.expect("list").len(), 2);
        let later = store.events_since(at + SignedDuration::from_secs(1)).await;
        assert!(later.expect("none").is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_alerts_rows_move_like_an_announces() {
    each(|s| async move {
        let store = s.open().await;
        let (show_id, live) = two_alerts(&store, Timestamp::now()).await;
        let next = store.next_delivery("t".into()).await.expect("next");
        let next = next.expect("a pending alert row");
        assert_eq!(next.item.key(), DeliveryKey::Event(live.id));
        assert_eq!(next.item.idempotency_key(), format!("live-{show_id}"));
        let key = DeliveryKey::Event(live.id);
        assert_eq!(store.begin_attempt(key, "t".into()).await.expect("try"), 1);
        let sent = DeliveryOutcome::Sent { latency_ms: 7 };
        store
            .finish_delivery(key, "t".into(), sent)
            .await
            .expect("sent");
        let failed = DeliveryOutcome::Failed { error: "x".into() };
        store
            .finish_delivery(key, "t".into(), failed)
            .await
            .expect("ignored");
        let events = store
            .events_since(Timestamp::UNIX_EPOCH)
            .await
            .expect("list");
        let rows = &events
            .iter()
            .find(|e| e.event.id == live.id)
            .expect("live")
            .deliveries;
        let rows: Vec<_> = rows
            .iter()
            .map(|r| (r.target.as_str(), r.status, r.last_error.as_deref()))
            .collect();
        assert_eq!(
            rows,
            [
                ("gone", DeliveryStatus::Failed, Some("expired")),
                ("t", DeliveryStatus::Sent, None)
            ]
        );
        let summary = store
            .delivery_summary("t".into(), Timestamp::UNIX_EPOCH)
            .await;
        let kinds: Vec<_> = summary
            .expect("summary")
            .events
            .iter()
            .map(|(k, r)| (*k, r.status))
            .collect();
        assert_eq!(
            kinds,
            [
                (AlertKind::Live, DeliveryStatus::Sent),
                (AlertKind::Reminder, DeliveryStatus::Pending)
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn an_alert_due_before_a_retried_line_goes_first() {
    each(|s| async move {
        let store = s.open().await;
        let seq = one_pending_row(&store).await;
        let key = DeliveryKey::Announce(seq);
        store.begin_attempt(key, "t".into()).await.expect("try");
        let later = Timestamp::now() + SignedDuration::from_mins(1);
        let retry = DeliveryOutcome::Retry {
            error: "503".into(),
            due_at: later,
        };
        store
            .finish_delivery(key, "t".into(), retry)
            .await
            .expect("retry");
        let show = store.show_for_week(&main_show(), week(2)).await;
        let fired = store
            .fire_event(alert(
                show.expect("week").id,
                AlertKind::Reminder,
                Timestamp::now(),
            ))
            .await
            .expect("fire");
        let next = store.next_delivery("t".into()).await.expect("next");
        let next = next.expect("a row");
        assert!(matches!(fired, Fired::Now(ref e) if next.item.key() == DeliveryKey::Event(e.id)));
        assert!(
            next.item.expires(),
            "a reminder expires at its show's start"
        );
    })
    .await;
}

/// Login attempts: `max` per address in the window, then full with the oldest attempt's time;
/// a forgotten (right) attempt frees its place; another address and an expired window count
/// afresh.
#[tokio::test]
async fn login_attempts_are_counted_per_address_within_the_window() {
    use super::{AttemptCount, LoginAttempt};
    each(|subject| async move {
        let store = subject.open().await;
        let start = Timestamp::from_second(1_800_000_000).expect("time");
        let attempt = |address: &str, at: Timestamp| LoginAttempt {
            address: address.into(),
            at,
            window: SignedDuration::from_mins(3),
            max: 3,
        };
        let mut ids = Vec::new();
        for n in 0..3 {
            let at = start + SignedDuration::from_secs(n);
            match store
                .count_login_attempt(attempt("192.0.2.1", at))
                .await
                .expect("count")
            {
                AttemptCount::Counted(id) => ids.push(id),
                full => panic!("{full:?}"),
            }
        }
        let later = start + SignedDuration::from_secs(10);
        assert_eq!(
            store
                .count_login_attempt(attempt("192.0.2.1", later))
                .await
                .expect("count"),
            AttemptCount::Full { oldest: start }
        );
        assert!(matches!(
            store
                .count_login_attempt(attempt("192.0.2.2", later))
                .await
                .expect("count"),
            AttemptCount::Counted(_)
        ));
        store.forget_login_attempt(ids[2]).await.expect("forget");
        assert!(
            matches!(
                store
                    .count_login_attempt(attempt("192.0.2.1", later))
                    .await
                    .expect("count"),
                AttemptCount::Counted(_)
            ),
            "a right password gives its place back"
        );
        let expired = start + SignedDuration::from_mins(3) + SignedDuration::from_secs(1);
        assert!(
            matches!(
                store
                    .count_login_attempt(attempt("192.0.2.1", expired))
                    .await
                    .expect("count"),
                AttemptCount::Counted(_)
            ),
            "the first attempts left the window"
        );
    })
    .await;
}
