//! `[[dashboard.users]]` and `[[hub.tokens]]` through the whole configuration loader: rights
//! per show or for the station, and one-line errors that name the block and key.

use figment::Figment;
use figment::providers::{Format, Toml};

use crate::config::{Config, ConfigError};
use crate::station::{Rights, ShowSlug};

/// Two shows that never overlap.
const STATION: &str = r#"
    [[shows]]
    slug = "ntr"
    source = "manual"
    [[shows]]
    slug = "jazz"
    source = "manual"
    day = "friday"
"#;

fn load(toml: &str) -> Result<Config, ConfigError> {
    Config::from_figment(Figment::new().merge(Toml::string(toml)))
}

fn slug(s: &str) -> ShowSlug {
    ShowSlug::parse(s).expect("slug")
}

fn user(name: &str, shows: &str) -> String {
    format!("[[dashboard.users]]\nname = \"{name}\"\npassword = \"pw-{name}\"\nshows = {shows}\n")
}

#[test]
fn users_get_their_shows_or_the_station() {
    let c = load(&format!(
        "{STATION}{}{}",
        user("nick", r#"["ntr"]"#),
        user("boss", r#"["*"]"#)
    ))
    .expect("two users");
    let users = &c.dashboard.users;
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].name, "nick");
    assert_eq!(users[0].rights, Rights::Shows([slug("ntr")].into()));
    assert!(!users[0].rights.may(&slug("jazz")));
    assert_eq!(users[1].rights, Rights::Station);
    assert!(
        crate::auth::password::verify("pw-nick", &users[0].password_hash),
        "a plain password is hashed at load"
    );
}

#[test]
fn a_v2_dashboard_has_no_users_list() {
    let c = load("[dashboard]\nusername = \"nick\"\n").expect("v2");
    assert!(c.dashboard.users.is_empty());
    assert_eq!(c.dashboard.username, "nick");
    assert!(load("").expect("defaults").dashboard.users.is_empty());
}

#[test]
fn scoped_tokens_get_their_shows() {
    let c = load(&format!(
        "{STATION}[[hub.tokens]]\nname = \"deck\"\ntoken = \"scoped-token-0123456789\"\n\
         shows = [\"jazz\", \"ntr\"]\n"
    ))
    .expect("a token");
    let token = &c.hub.tokens[0];
    assert_eq!(token.name, "deck");
    assert_eq!(
        token.rights,
        Rights::Shows([slug("ntr"), slug("jazz")].into())
    );
}

#[test]
fn user_mistakes_are_one_line_errors_naming_the_key() {
    let nick = user("nick", r#"["ntr"]"#);
    let cases = [
        (
            format!("{STATION}{nick}{}", user("x", r#"["ntr", "x"]"#)),
            "dashboard.users[2].shows: no show `x`; the shows are ntr, jazz",
        ),
        (
            format!("{STATION}{}", user("nick", "[]")),
            "dashboard.users[1].shows: must name at least one show",
        ),
        (
            format!("{STATION}[[dashboard.users]]\nname = \"nick\"\npassword = \"p\"\n"),
            "dashboard.users[1].shows: must name at least one show",
        ),
        (
            format!("{STATION}{}", user("nick", r#"["*", "ntr"]"#)),
            "dashboard.users[1].shows: [\"*\"] is the whole station",
        ),
        (
            format!("{STATION}{nick}{nick}"),
            "dashboard.users[2].name: the user name `nick` is used twice",
        ),
        (
            format!("{STATION}{}", user(" ", r#"["ntr"]"#)),
            "dashboard.users[1].name",
        ),
        (
            format!("{STATION}[[dashboard.users]]\nname = \"nick\"\nshows = [\"ntr\"]\n"),
            "dashboard.users[1].password: set dashboard.users[1].password or",
        ),
        (
            format!(
                "{STATION}[[dashboard.users]]\nname = \"n\"\npassword = \"p\"\n\
                 password_hash = \"h\"\nshows = [\"ntr\"]\n"
            ),
            "dashboard.users[1].password: set either",
        ),
        (
            format!(
                "{STATION}[[dashboard.users]]\nname = \"n\"\npassword_hash = \"nope\"\n\
                 shows = [\"ntr\"]\n"
            ),
            "dashboard.users[1].password_hash",
        ),
        (
            format!("{STATION}{nick}[[dashboard.users]]\nname = \"y\"\nshow = [\"ntr\"]\n"),
            "show",
        ),
        (
            format!("{STATION}[dashboard]\nusername = \"dj\"\n{nick}"),
            "dashboard.users: [[dashboard.users]] and [dashboard] username",
        ),
        (
            format!("{STATION}[dashboard]\npassword = \"old\"\n{nick}"),
            "dashboard.users: [[dashboard.users]] and [dashboard] username",
        ),
    ];
    for (toml, expected) in cases {
        let err = load(&toml).expect_err(&toml).to_string();
        assert!(err.contains(expected), "{toml:?} gave {err:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
        assert!(!err.contains("pw-"), "no password in {err:?}");
    }
}

#[test]
fn token_mistakes_name_the_key_and_never_the_token() {
    let secret = "the-same-token-0123";
    let token = |name: &str, value: &str, shows: &str| {
        format!("[[hub.tokens]]\nname = \"{name}\"\ntoken = \"{value}\"\nshows = {shows}\n")
    };
    let deck = token("deck", secret, r#"["ntr"]"#);
    let cases = [
        (
            format!("{STATION}{}", token("deck", secret, r#"["x"]"#)),
            "hub.tokens[1].shows: no show `x`; the shows are ntr, jazz",
        ),
        (
            format!("{STATION}{}", token("deck", secret, "[]")),
            "hub.tokens[1].shows: must name at least one show",
        ),
        (
            format!("{STATION}{}", token("deck", "short", r#"["ntr"]"#)),
            "hub.tokens[1].token",
        ),
        (
            format!(
                "{STATION}{deck}{}",
                token("deck", "another-token-0123", r#"["ntr"]"#)
            ),
            "hub.tokens[2].name: the token name `deck` is used twice",
        ),
        (
            format!("{STATION}{deck}{}", token("other", secret, r#"["ntr"]"#)),
            "hub.tokens[2].token: token `other` has the same token as token `deck`",
        ),
        (
            format!("{STATION}[hub]\nadmin_token = \"{secret}\"\n{deck}"),
            "hub.tokens[1].token: token `deck` has the same token as the admin token",
        ),
        (
            format!("{STATION}[hub]\nrelay_tokens = [\"{secret}\"]\n{deck}"),
            "hub.tokens[1].token: token `deck` has the same token as relay `relay-1`",
        ),
        (
            format!("{STATION}{}", token("", "another-token-0123", r#"["ntr"]"#)),
            "hub.tokens[1].name",
        ),
    ];
    for (toml, expected) in cases {
        let err = load(&toml).expect_err(&toml).to_string();
        assert!(err.contains(expected), "{toml:?} gave {err:?}");
        assert!(!err.contains('\n') && !err.contains(secret), "{err:?}");
    }
}
