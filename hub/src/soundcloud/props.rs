//! Property tests of the likes pages SoundCloud sends: any body parses or fails with an error
//! that keeps the client_id to itself, and a valid page, whatever its texts and whichever
//! optional fields it leaves out, reads as the likes it describes.

use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{LikesPage, SoundcloudError, parse_body, take_page};
use crate::store::Like;
use crate::web_url::WebUrl;

/// Any text, controls, quotes and multi-byte characters often.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => prop::char::range('\0', '\x1f'),
            2 => prop::sample::select(vec!['"', '\\', '\u{2028}', '\u{feff}', 'é', '日', '🎵']),
        ],
        0..30,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    // 2001 to 2100, to the millisecond, as SoundCloud writes them.
    (1_000_000_000_000i64..4_102_444_800_000)
        .prop_map(|ms| Timestamp::from_millisecond(ms).expect("in range"))
}

/// A track's link as SoundCloud might send it, and whether the hub keeps it.
fn link() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        3 => "https://soundcloud\\.com/[a-z0-9-]{1,12}/[a-z0-9-]{1,12}".prop_map(|u| (u, true)),
        1 => prop::sample::select(vec!["", "javascript:alert(1)", "data:text/html,x", "no url"])
            .prop_map(|u| (u.to_owned(), false)),
    ]
}

/// One like as its fields, `None` for a field left out or null.
#[derive(Debug, Clone)]
struct Item {
    created_at: Timestamp,
    track: Option<Track>,
}

#[derive(Debug, Clone)]
struct Track {
    id: i64,
    title: String,
    artist: String,
    link: (String, bool),
    artwork_url: Option<String>,
    duration: Option<i64>,
    license: Option<String>,
}

fn track() -> impl Strategy<Value = Track> {
    (
        any::<i64>(),
        text(),
        text(),
        link(),
        prop::option::of(text()),
        any::<Option<i64>>(),
        prop::option::of(text()),
    )
        .prop_map(
            |(id, title, artist, link, artwork_url, duration, license)| Track {
                id,
                title,
                artist,
                link,
                artwork_url,
                duration,
                license,
            },
        )
}

/// `value` under `key`, or, for `None`, the key left out or set to null (both mean "none").
fn put(object: &mut Map<String, Value>, key: &str, value: Option<Value>, null: bool) {
    match value {
        Some(v) => {
            object.insert(key.into(), v);
        }
        None if null => {
            object.insert(key.into(), Value::Null);
        }
        None => {}
    }
}

impl Track {
    fn json(&self, null: bool) -> Value {
        let mut t = Map::new();
        t.insert("id".into(), json!(self.id));
        t.insert("title".into(), json!(self.title));
        t.insert("user".into(), json!({"username": self.artist, "id": 1}));
        t.insert("permalink_url".into(), json!(self.link.0));
        t.insert("kind".into(), json!("track"));
        put(
            &mut t,
            "artwork_url",
            self.artwork_url.clone().map(Value::from),
            null,
        );
        put(&mut t, "duration", self.duration.map(Value::from), null);
        put(
            &mut t,
            "license",
            self.license.clone().map(Value::from),
            null,
        );
        Value::Object(t)
    }
}

/// A page of likes, newest first as SoundCloud sends them, with or without a `next_href`.
fn page() -> impl Strategy<Value = (Vec<Item>, Option<String>, bool)> {
    let item = (timestamp(), prop::option::of(track()))
        .prop_map(|(created_at, track)| Item { created_at, track });
    (
        prop::collection::vec(item, 0..6),
        prop::option::of(
            "https://api-v2\\.soundcloud\\.com/users/1/track_likes\\?offset=[0-9]{1,20}",
        ),
        any::<bool>(),
    )
        .prop_map(|(mut items, next, null)| {
            items.sort_by_key(|item| std::cmp::Reverse(item.created_at));
            (items, next, null)
        })
}

fn page_json(items: &[Item], next: &Option<String>, null: bool) -> Vec<u8> {
    let collection: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut like = Map::new();
            like.insert("created_at".into(), json!(item.created_at.to_string()));
            like.insert("kind".into(), json!("like"));
            put(
                &mut like,
                "track",
                item.track.as_ref().map(|t| t.json(null)),
                null,
            );
            Value::Object(like)
        })
        .collect();
    let mut page = Map::new();
    page.insert("collection".into(), Value::Array(collection));
    put(&mut page, "next_href", next.clone().map(Value::from), null);
    serde_json::to_vec(&Value::Object(page)).expect("JSON")
}

/// The like the hub must read from `item`'s fields.
fn assert_like(like: &Like, item: &Item, track: &Track) -> Result<(), TestCaseError> {
    prop_assert_eq!(like.liked_at, item.created_at);
    let info = &like.track;
    prop_assert_eq!(info.soundcloud_id, Some(track.id));
    prop_assert_eq!(&info.title, &track.title);
    prop_assert_eq!(&info.artist, &track.artist);
    let (url, kept) = &track.link;
    let expected = kept.then_some(url.as_str());
    prop_assert_eq!(info.permalink_url.as_ref().map(WebUrl::as_str), expected);
    prop_assert_eq!(&info.artwork_url, &track.artwork_url);
    prop_assert_eq!(info.duration_ms, track.duration);
    prop_assert_eq!(&info.license, &track.license);
    Ok(())
}

const CLIENT_ID: &str = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE";
const QUERY: &str = "limit=200&linked_partitioning=1&client_id=aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE";

/// JSON shaped like a page half the time, with the request's own URL and client_id among
/// its strings (a body that echoes the request, as error pages do).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
        prop::sample::select(vec![
            CLIENT_ID.to_owned(),
            format!("https://api-v2.soundcloud.com/users/1/track_likes?{QUERY}"),
            format!("{QUERY} is not valid"),
            "2026-03-14T01:00:00Z".to_owned(),
        ])
        .prop_map(Value::from),
    ];
    let key = prop::sample::select(vec![
        "collection",
        "next_href",
        "created_at",
        "track",
        "id",
        "title",
        "user",
        "username",
        "permalink_url",
        "artwork_url",
        "duration",
        "license",
    ]);
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())),
        ]
    })
}

/// Whatever the body, the answer is a page or a malformed-data error without the client_id.
fn assert_parses_or_keeps_the_secret(body: &[u8]) -> Result<(), TestCaseError> {
    if let Err(e) = parse_body::<LikesPage>(body, "the likes", CLIENT_ID) {
        let malformed = matches!(
            &e,
            SoundcloudError::Malformed {
                what: "the likes",
                ..
            }
        );
        prop_assert!(malformed, "{e:?}");
        let text = e.to_string();
        prop_assert!(!text.contains(CLIENT_ID) && !text.contains(QUERY), "{text}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_valid_page_reads_as_its_likes((items, next, null) in page()) {
        let body = page_json(&items, &next, null);
        let page: LikesPage = parse_body(&body, "the likes", CLIENT_ID).expect("valid page");
        let mut likes = Vec::new();
        prop_assert_eq!(take_page(page, Timestamp::MIN, &mut likes), next);
        let with_tracks: Vec<(&Item, &Track)> =
            items.iter().filter_map(|i| Some((i, i.track.as_ref()?))).collect();
        prop_assert_eq!(likes.len(), with_tracks.len());
        for (like, (item, track)) in likes.iter().zip(with_tracks) {
            assert_like(like, item, track)?;
        }
    }

    /// Paging stops at the first like older than `since`: the likes before it are kept and no
    /// next page is asked for.
    #[test]
    fn a_page_is_read_down_to_since((items, next, null) in page(), since in timestamp()) {
        let body = page_json(&items, &next, null);
        let page: LikesPage = parse_body(&body, "the likes", CLIENT_ID).expect("valid page");
        let mut likes = Vec::new();
        let more = take_page(page, since, &mut likes);
        let newer = items.iter().take_while(|i| i.created_at >= since);
        let expected: Vec<Timestamp> =
            newer.filter(|i| i.track.is_some()).map(|i| i.created_at).collect();
        let got: Vec<Timestamp> = likes.iter().map(|l| l.liked_at).collect();
        prop_assert_eq!(got, expected);
        let reached_older = items.iter().any(|i| i.created_at < since);
        prop_assert_eq!(more, if reached_older { None } else { next });
    }

    #[test]
    fn any_json_parses_or_keeps_the_client_id(value in any_json()) {
        assert_parses_or_keeps_the_secret(&serde_json::to_vec(&value).expect("JSON"))?;
    }

    #[test]
    fn any_bytes_parse_or_keep_the_client_id(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        prefix in prop::sample::select(vec!["", "{\"collection\":", "{\"collection\":[{\"created_at\":"]),
    ) {
        let body = [prefix.as_bytes(), &bytes].concat();
        assert_parses_or_keeps_the_secret(&body)?;
    }
}
