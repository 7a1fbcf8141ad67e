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
