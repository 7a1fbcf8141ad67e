//! `[soundcloud]`: the station-wide SoundCloud settings (where the API is, the client_id, how
//! often a show is polled), and a v2 config's `user`, whose likes make its one show's playlist.

use serde::Deserialize;

use super::{ConfigError, in_range, non_empty, parse_http_url};
use crate::soundcloud::SoundcloudConfig;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSoundcloud {
    user: Option<String>,
    api_base: String,
    web_base: String,
    client_id: String,
    poll_interval_seconds: u64,
    live_poll_interval_seconds: u64,
}

impl Default for RawSoundcloud {
    fn default() -> Self {
        RawSoundcloud {
            user: None,
            api_base: "https://api-v2.soundcloud.com".into(),
            web_base: "https://soundcloud.com".into(),
            client_id: String::new(),
            poll_interval_seconds: 3600,
            live_poll_interval_seconds: 60,
        }
    }
}

/// The station-wide settings, and `user` as written (the shows' config checks it).
pub(super) fn validate(
    raw: RawSoundcloud,
) -> Result<(SoundcloudConfig, Option<String>), ConfigError> {
    let client_id = non_empty(Some(raw.client_id));
    if let Some(id) = &client_id
        && !id.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ConfigError::invalid(
            "soundcloud.client_id",
            "must contain only letters and digits",
        ));
    }
    // Polling less than weekly would miss a whole show; during the show, less than daily
    // is no live polling at all.
    in_range(
        "soundcloud.poll_interval_seconds",
        raw.poll_interval_seconds,
        1..=7 * 86_400,
    )?;
    in_range(
        "soundcloud.live_poll_interval_seconds",
        raw.live_poll_interval_seconds,
        1..=86_400,
    )?;
    let config = SoundcloudConfig {
        api_base: parse_http_url("soundcloud.api_base", &raw.api_base)?,
        web_base: parse_http_url("soundcloud.web_base", &raw.web_base)?,
        client_id,
        poll_interval_seconds: raw.poll_interval_seconds,
        live_poll_interval_seconds: raw.live_poll_interval_seconds,
    };
    Ok((config, raw.user))
}
