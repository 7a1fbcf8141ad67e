//! Listener commands: `!np`, `!song N`, `!playlist`, `!help` (prefix from the config).
//!
//! Parsing and the limits (a cooldown per user, and a cap per channel so a crowd cannot make
//! the bot flood it) are synchronous and run on the IRC task; answering may
//! need the hub's HTTP API and runs in its own task, so a slow hub never stalls IRC. A reply
//! never echoes what the user typed, so a command cannot be used to make the bot say
//! something.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use ntr_protocol::{Show, Track};
use tokio::time::Instant;
use url::Url;

const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Cooldown entries are pruned once the map gets this big, to bound memory.
const COOLDOWN_PRUNE_AT: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    NowPlaying,
    /// `!song N` with a track number (1 or more).
    Song(u32),
    /// `!song` without a usable number: the answer is the usage line.
    SongUsage,
    Playlist,
    Help,
}

/// Recognises a command in a channel message; `None` for ordinary chat and unknown commands
/// (other bots in the channel may share the prefix).
pub fn parse(text: &str, prefix: &str) -> Option<Command> {
    let rest = text.trim_start().strip_prefix(prefix)?;
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_ascii_lowercase();
    match name.as_str() {
        "np" | "nowplaying" => Some(Command::NowPlaying),
        "song" | "track" => Some(
            words
                .next()
                .and_then(|n| n.trim_start_matches('#').parse::<u32>().ok())
                .filter(|n| *n > 0)
                .map_or(Command::SongUsage, Command::Song),
        ),
        "playlist" | "show" => Some(Command::Playlist),
        "help" | "commands" => Some(Command::Help),
        _ => None,
    }
}

/// One answer per user per `period`.
#[derive(Debug)]
pub struct Cooldown {
    period: Duration,
    last: HashMap<String, Instant>,
}

impl Cooldown {
    pub fn new(period: Duration) -> Cooldown {
        Cooldown {
            period,
            last: HashMap::new(),
        }
    }

    /// True (and the user's clock restarts) if `nick` may get an answer now.
    pub fn allow(&mut self, nick: &str, now: Instant) -> bool {
        if self.last.len() >= COOLDOWN_PRUNE_AT {
            let period = self.period;
            self.last.retain(|_, at| now.duration_since(*at) < period);
        }
        // IRC nicks are case-insensitive; "Bob" and "bob" are one user.
        let key = nick.to_ascii_lowercase();
        match self.last.get(&key) {
            Some(at) if now.duration_since(*at) < self.period => false,
            _ => {
                self.last.insert(key, now);
                true
            }
        }
    }
}

/// At most `limit` answers per channel in any `window`, whoever asks: a sliding window, so
/// no `window`-long span ever holds more.
#[derive(Debug)]
pub struct ChannelLimit {
    limit: usize,
    window: Duration,
    /// Per channel (as configured), when its latest answers were allowed, oldest first.
    recent: HashMap<String, VecDeque<Instant>>,
}

impl ChannelLimit {
    pub fn new(limit: usize, window: Duration) -> ChannelLimit {
        ChannelLimit {
            limit,
            window,
            recent: HashMap::new(),
        }
    }

    /// Whether `channel` may get another answer now; does not count one.
    pub fn has_room(&mut self, channel: &str, now: Instant) -> bool {
        let Some(recent) = self.recent.get_mut(channel) else {
            return true;
        };
        while recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= self.window)
        {
            recent.pop_front();
        }
        recent.len() < self.limit
    }

    /// Counts an answer to `channel` at `now`.
    pub fn record(&mut self, channel: &str, now: Instant) {
        let recent = self.recent.entry(channel.to_string()).or_default();
        recent.push_back(now);
        // Only the last `limit` can matter to `has_room`.
        while recent.len() > self.limit {
            recent.pop_front();
        }
    }
}

/// Answers commands from the hub's HTTP API.
#[derive(Debug, Clone)]
pub struct Answerer {
    /// `None` if the HTTP client could not be built (no TLS roots); commands that need the
    /// hub then say so instead of taking the relay down.
    http: Option<reqwest::Client>,
    /// Tried in order; the first that answers is used.
    hub_urls: Vec<Url>,
    public_url: Url,
    prefix: String,
}

impl Answerer {
    pub fn new(hub_urls: Vec<Url>, public_url: Url, prefix: String) -> Answerer {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .user_agent(concat!("ntr-irc-relay/", env!("CARGO_PKG_VERSION")))
            .build()
            .inspect_err(|e| tracing::error!(error = %e, "no HTTP client; commands that need the hub will fail"))
            .ok();
        Answerer {
            http,
            hub_urls,
            public_url,
            prefix,
        }
    }

    /// The reply line for `command` asked where `show` is routed (`None`: the station);
    /// `last_announce` is the last line posted of that show, or of the station (`!np`).
    pub async fn answer(
        &self,
        command: Command,
        show: Option<&str>,
        last_announce: Option<String>,
    ) -> String {
        let p = &self.prefix;
        match command {
            Command::NowPlaying => {
                last_announce.unwrap_or_else(|| "Nothing has been announced yet.".to_string())
            }
            Command::Help => format!(
                "Commands: {p}np (now playing), {p}song N (track N of this week's show), \
                 {p}playlist (track count and link), {p}help"
            ),
            Command::SongUsage => {
                format!("Usage: {p}song N, where N is the track number (e.g. {p}song 3).")
            }
            Command::Song(n) => self.song(n, show).await,
            Command::Playlist => self.playlist(show).await,
        }
    }

    /// The station's page, or a routed show's own.
    fn public_page(&self, show: Option<&str>) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        match show {
            Some(slug) => format!("{base}/s/{slug}"),
            None => format!("{base}/"),
        }
    }

    /// `GET path` from the first hub URL that answers: one that cannot be reached, or answers
    /// with a server error (a replica whose database is away), gives way to the next; the last
    /// one's answer or error stands.
    async fn get(&self, path: &str) -> Result<reqwest::Response, Unavailable> {
        let http = self.http.as_ref().ok_or(Unavailable::NoClient)?;
        let mut last = Err(Unavailable::NoHub);
        for hub_url in &self.hub_urls {
            let url = format!("{}{path}", hub_url.as_str().trim_end_matches('/'));
            match http.get(&url).send().await {
                Ok(response) if !response.status().is_server_error() => return Ok(response),
                Ok(response) => {
                    tracing::debug!(%url, status = %response.status(), "hub API answered with an error; trying the next hub URL, if any");
                    last = Ok(response);
                }
                Err(e) => {
                    tracing::debug!(%url, error = %e, "hub API unreachable; trying the next hub URL, if any");
                    last = Err(e.into());
                }
            }
        }
        last
    }

    async fn song(&self, n: u32, show: Option<&str>) -> String {
        let response = match self.get(&with_show(&format!("/playlist/{n}"), show)).await {
            Ok(response) => response,
            Err(e) => return unavailable(e),
        };
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return match self.show(show).await {
                Ok(show) if show.tracks.is_empty() => {
                    "This week's show has no tracks yet.".to_string()
                }
                Ok(show) => format!(
                    "No song #{n} in this week's show (it has {}).",
                    tracks(show.tracks.len())
                ),
                Err(_) => format!("No song #{n} in this week's show."),
            };
        }
        match response.error_for_status() {
            Ok(response) => match response.json::<Track>().await {
                Ok(track) => format!(
                    "Song #{n}: {} by {} - {}",
                    track.title, track.artist, track.permalink_url
                ),
                Err(e) => unavailable(e.into()),
            },
            Err(e) => unavailable(e.into()),
        }
    }

    /// The week `/playlist` answers: the station's (on air, else next), or `show`'s.
    async fn show(&self, show: Option<&str>) -> Result<Show, Unavailable> {
        Ok(self
            .get(&with_show("/playlist", show))
            .await?
            .error_for_status()?
            .json::<Show>()
            .await?)
    }

    async fn playlist(&self, slug: Option<&str>) -> String {
        match self.show(slug).await {
            Ok(show) => {
                let which = if show.on_air {
                    "The show on air"
                } else {
                    "This week's show"
                };
                let page = self.public_page(slug);
                if show.tracks.is_empty() {
                    format!("{which} has no tracks yet: {page}")
                } else {
                    format!("{which} has {}: {page}", tracks(show.tracks.len()))
                }
            }
            Err(e) => unavailable(e),
        }
    }
}

/// `path` narrowed to one show with `?show=` (a slug needs no escaping).
fn with_show(path: &str, show: Option<&str>) -> String {
    match show {
        Some(slug) => format!("{path}?show={slug}"),
        None => path.to_string(),
    }
}

fn tracks(n: usize) -> String {
    if n == 1 {
        "1 track".to_string()
    } else {
        format!("{n} tracks")
    }
}

#[derive(Debug, thiserror::Error)]
enum Unavailable {
    #[error("no HTTP client")]
    NoClient,
    #[error("no hub URL")]
    NoHub,
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

fn unavailable(error: Unavailable) -> String {
    tracing::warn!(%error, "hub API request for a command failed");
    "Sorry, the playlist is not available right now.".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_with_prefix() {
        assert_eq!(parse("!np", "!"), Some(Command::NowPlaying));
        assert_eq!(parse("  !NP please", "!"), Some(Command::NowPlaying));
        assert_eq!(parse("!song 2", "!"), Some(Command::Song(2)));
        assert_eq!(parse("!song #2", "!"), Some(Command::Song(2)));
        assert_eq!(parse("!song abc", "!"), Some(Command::SongUsage));
        assert_eq!(parse("!song", "!"), Some(Command::SongUsage));
        assert_eq!(parse("!song 0", "!"), Some(Command::SongUsage));
        assert_eq!(parse("!song -1", "!"), Some(Command::SongUsage));
        assert_eq!(
            parse("!song 99999999999999999999", "!"),
            Some(Command::SongUsage)
        );
        assert_eq!(parse("!playlist", "!"), Some(Command::Playlist));
        assert_eq!(parse("!help", "!"), Some(Command::Help));
        assert_eq!(parse(".help", "."), Some(Command::Help));
        assert_eq!(parse("!help", "."), None);
        assert_eq!(parse("!unknown", "!"), None);
        assert_eq!(parse("!", "!"), None);
        assert_eq!(parse("hello !np", "!"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn cooldown_is_per_user_and_case_insensitive() {
        let mut cooldown = Cooldown::new(Duration::from_secs(3));
        let now = Instant::now();
        assert!(cooldown.allow("alice", now));
        assert!(!cooldown.allow("Alice", now + Duration::from_secs(1)));
        assert!(cooldown.allow("bob", now + Duration::from_secs(1)));
        assert!(!cooldown.allow("alice", now + Duration::from_millis(2999)));
        assert!(cooldown.allow("alice", now + Duration::from_secs(3)));
    }

    #[tokio::test(start_paused = true)]
    async fn two_answers_per_channel_per_ten_seconds_whoever_asks() {
        let mut limit = ChannelLimit::new(2, Duration::from_secs(10));
        let mut cooldown = Cooldown::new(Duration::from_secs(3));
        let start = Instant::now();
        let mut allowed = |nick: &str, channel: &str, at: Duration| {
            let now = start + at;
            let ok = limit.has_room(channel, now) && cooldown.allow(nick, now);
            if ok {
                limit.record(channel, now);
            }
            ok
        };
        let answered: Vec<_> = (0..15)
            .filter(|i| allowed(&format!("fan{i}"), "#a", Duration::from_millis(*i)))
            .collect();
        assert_eq!(answered, [0, 1], "15 nicks at once, 2 answers");
        assert!(
            allowed("other", "#b", Duration::from_secs(1)),
            "per channel"
        );
        assert!(!allowed("fan7", "#a", Duration::from_millis(9999)));
        assert!(
            allowed("fan8", "#a", Duration::from_secs(10)),
            "0 ms + 10 s"
        );
        assert!(!allowed("fan9", "#a", Duration::from_millis(10_000)));
        assert!(allowed("fan9", "#a", Duration::from_millis(10_001)));
        assert!(!allowed("fan10", "#a", Duration::from_secs(19)));
    }

    #[tokio::test]
    async fn replies_without_the_hub() {
        let url = Url::parse("http://127.0.0.1:9").expect("url");
        let answerer = Answerer::new(vec![url.clone()], url, "!".into());
        assert_eq!(
            answerer.answer(Command::NowPlaying, None, None).await,
            "Nothing has been announced yet."
        );
        assert_eq!(
            answerer
                .answer(
                    Command::NowPlaying,
                    Some("a"),
                    Some("Now Playing: x".into())
                )
                .await,
            "Now Playing: x"
        );
        assert!(
            answerer
                .answer(Command::SongUsage, None, None)
                .await
                .starts_with("Usage: !song N")
        );
        assert!(
            answerer
                .answer(Command::Help, None, None)
                .await
                .contains("!song N")
        );
        // Port 9 (discard) is closed on test machines: the hub is unreachable.
        assert_eq!(
            answerer.answer(Command::Playlist, Some("a"), None).await,
            "Sorry, the playlist is not available right now."
        );
    }
}
