//! [`KINDS`], the one list of the kinds a `[[targets]]` block may name: a new kind is its
//! module plus one line here. The "use discord, webhook, …" error text is built from it.

use super::bluesky::BlueskyTarget;
use super::discord::DiscordTarget;
use super::icecast::IcecastTarget;
use super::kind::Registration;
use super::mastodon::MastodonTarget;
use super::matrix::MatrixTarget;
use super::ntfy::NtfyTarget;
use super::telegram::TelegramTarget;
use super::webhook::WebhookTarget;

/// Every kind, in the order error messages list them.
pub const KINDS: [Registration; 8] = [
    Registration::of::<DiscordTarget>("discord"),
    Registration::of::<WebhookTarget>("webhook"),
    Registration::of::<MatrixTarget>("matrix"),
    Registration::of::<IcecastTarget>("icecast"),
    Registration::of::<MastodonTarget>("mastodon"),
    Registration::of::<BlueskyTarget>("bluesky"),
    Registration::of::<TelegramTarget>("telegram"),
    Registration::of::<NtfyTarget>("ntfy"),
];

/// The kinds' names for an error text: `discord, webhook, …, telegram or ntfy`.
pub fn names() -> String {
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_text_lists_every_kind() {
        assert_eq!(
            names(),
            "discord, webhook, matrix, icecast, mastodon, bluesky, telegram or ntfy"
        );
    }
}
