//! `[[targets]]` through the whole configuration loader: every kind, its secrets hidden, and
//! errors that name the block and key.

use figment::Figment;
use figment::providers::{Format, Toml};

use crate::config::Config;
use crate::targets::TargetConfig;

fn load(toml: &str) -> Result<Vec<TargetConfig>, String> {
    Config::from_figment(Figment::new().merge(Toml::string(toml)))
        .map(|c| c.targets)
        .map_err(|e| e.to_string())
}

const ALL_KINDS: &str = r#"
        [[targets]]
        name = "discord"
        kind = "discord"
        url = "https://discord.com/api/webhooks/123456/s3cr3t-token"
        [[targets]]
        name = "hook"
        kind = "webhook"
        url = "https://example.org/announce?key=abc"
        secret = "hmac-key"
        delay_seconds = 30
        [[targets]]
        name = "matrix"
        kind = "matrix"
        homeserver = "https://matrix.example.org"
        room_id = "!abc:example.org"
        access_token = "syt_token"
        [[targets]]
        name = "stream"
        kind = "icecast"
        url = "http://127.0.0.1:8010"
        mount = "/live.mp3"
        password = "hackme"
        enabled = false
    "#;

#[test]
fn every_kind_loads_and_hides_its_secrets() {
    let targets = load(ALL_KINDS).expect("valid");
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["discord", "hook", "matrix", "stream"]);
    assert_eq!(targets[1].delay_seconds, 30);
    assert!(!targets[3].enabled);
    assert_eq!(
        targets[0].kind.endpoint(),
        "https://discord.com/…/webhooks/123456/***"
    );
    assert_eq!(
        targets[1].kind.endpoint(),
        "https://example.org/announce?***"
    );
    let debug = format!("{targets:?}");
    let summary = crate::targets::summary(&targets, &crate::station::test_station(&["main"]));
    assert!(
        summary.ends_with("stream (icecast, http://127.0.0.1:8010 mount /live.mp3, disabled)"),
        "{summary}"
    );
    for secret in ["s3cr3t-token", "hmac-key", "syt_token", "hackme", "key=abc"] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        assert!(!summary.contains(secret), "{secret} leaked into {summary}");
        assert!(!targets.iter().any(|t| t.kind.endpoint().contains(secret)));
    }
}

#[test]
fn errors_name_the_key_on_one_line() {
    let cases = [
        (
            "[[targets]]\nname = \"x\"\nkind = \"pager\"",
            "targets[0].kind",
        ),
        ("[[targets]]\nname = \"x\"", "targets[0].kind"),
        (
            "[[targets]]\nname = \"x\"\nkind = \"webhook\"\nurl = \"ftp://x\"",
            "targets[0].url",
        ),
        (
            "[[targets]]\nname = \"x\"\nkind = \"discord\"\nurl = \"https://example.org/hook\"",
            "targets[0].url",
        ),
        (
            "[[targets]]\nname = \"m\"\nkind = \"matrix\"\nhomeserver = \"https://m.org\"\naccess_token = \"t\"",
            "targets[0].room_id",
        ),
        (
            "[[targets]]\nname = \"bad name\"\nkind = \"webhook\"\nurl = \"https://e.org\"",
            "targets[0].name",
        ),
        (
            "[[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"\n\
                 [[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"",
            "targets[1].name",
        ),
        (
            "[[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"\nmount = \"/x\"",
            "targets[0].mount",
        ),
        (
            "[[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"\ndelay_seconds = 601",
            "targets[0].delay_seconds",
        ),
        (
            "[[targets]]\nname = \"s\"\nkind = \"icecast\"\nurl = \"http://i\"\nmount = \"live\"\npassword = \"p\"",
            "targets[0].mount",
        ),
        (
            "[[targets]]\nname = \"s\"\nkind = \"icecast\"\nurl = \"http://i\"\nmount = \"/l\"\npassword = \"p\"\nformat = \"{song}\"",
            "targets[0].format",
        ),
        (
            "[[targets]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://e.org\"\nscret = \"x\"",
            "scret",
        ),
    ];
    for (toml, key) in cases {
        let err = load(toml).expect_err(toml);
        assert!(err.contains(key), "{toml:?} gave {err:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
}

const NEW_KINDS: &str = r#"
        [[targets]]
        name = "toot"
        kind = "mastodon"
        instance = "https://mastodon.example"
        access_token = "mastodon-secret"
        [[targets]]
        name = "sky"
        kind = "bluesky"
        handle = "@station.bsky.social"
        app_password = "bsky-secret"
        [[targets]]
        name = "tg"
        kind = "telegram"
        bot_token = "123:tg-secret"
        chat_id = -1001234567890
        [[targets]]
        name = "tg-channel"
        kind = "telegram"
        bot_token = "123:tg-secret"
        chat_id = "@station"
        api_base = "http://127.0.0.1:8081"
        [[targets]]
        name = "push"
        kind = "ntfy"
        url = "https://ntfy.example/live?auth=query-secret"
        token = "tk_ntfy-secret"
    "#;

#[test]
fn the_new_kinds_load_with_their_defaults_and_hide_their_secrets() {
    let targets = load(NEW_KINDS).expect("valid");
    let endpoints: Vec<String> = targets.iter().map(|t| t.kind.endpoint()).collect();
    assert_eq!(
        endpoints,
        [
            "https://mastodon.example",
            "https://bsky.social as station.bsky.social",
            "https://api.telegram.org/bot***/sendMessage chat -1001234567890",
            "http://127.0.0.1:8081/bot***/sendMessage chat @station",
            "https://ntfy.example/live?***",
        ]
    );
    let debug = format!("{targets:?}");
    let summary = crate::targets::summary(&targets, &crate::station::test_station(&["main"]));
    for secret in [
        "mastodon-secret",
        "bsky-secret",
        "tg-secret",
        "query-secret",
        "tk_ntfy-secret",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        assert!(!summary.contains(secret), "{secret} leaked into {summary}");
        // Listed, so error texts are scrubbed of it.
        let listed = |t: &TargetConfig| t.kind.secrets().iter().any(|s| s.contains(secret));
        assert!(
            targets.iter().any(listed),
            "{secret} is not a listed secret"
        );
    }
}

#[test]
fn the_new_kinds_name_a_missing_or_foreign_key() {
    let cases = [
        (
            "kind = \"mastodon\"\naccess_token = \"t\"",
            "targets[0].instance: is required for a mastodon target",
        ),
        (
            "kind = \"bluesky\"\nhandle = \"a.b\"",
            "targets[0].app_password: is required for a bluesky target",
        ),
        (
            "kind = \"telegram\"\nbot_token = \"1:a\"",
            "targets[0].chat_id: is required for a telegram target",
        ),
        (
            "kind = \"telegram\"\nbot_token = \"1/a\"\nchat_id = 1",
            "targets[0].bot_token",
        ),
        (
            "kind = \"ntfy\"\nurl = \"https://n.example/t\"\nchat_id = 1",
            "targets[0].chat_id: is not a key of a ntfy target",
        ),
        (
            "kind = \"webhook\"\nurl = \"https://e.org\"\ntoken = \"x\"",
            "targets[0].token: is not a key of a webhook target",
        ),
    ];
    for (keys, text) in cases {
        let toml = format!("[[targets]]\nname = \"x\"\n{keys}");
        let err = load(&toml).expect_err(&toml);
        assert!(err.contains(text), "{toml:?} gave {err:?}");
    }
}
