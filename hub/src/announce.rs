//! Announcing: turning "track 3 of show 7" or a free text into one sanitised line, logging it
//! with a fresh seq, and handing it to the broadcaster. A correction is the same line written
//! with `show.correction_template` around it, naming the announce it corrects.

use ntr_protocol::Seq;

use crate::line::AnnounceLine;
use crate::state::{AppState, ShowError};
use crate::store::{Announcement, NewAnnouncement, StoreError};
use crate::template::TrackFields;

/// What to announce, already validated by the handler.
#[derive(Debug, Clone)]
pub enum AnnounceRequest {
    /// A track of a show; `show_id: None` means the current show.
    Track {
        show_id: Option<i64>,
        position: u32,
    },
    Text(String),
}

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Show(#[from] ShowError),
    #[error("the text is empty once control characters are removed")]
    EmptyText,
}

/// Announces `request`; with `corrects`, as a correction of that earlier announce (which the
/// log then marks as corrected, in the same transaction that checks it may be corrected).
pub async fn announce(
    state: &AppState,
    request: AnnounceRequest,
    corrects: Option<Seq>,
) -> Result<Announcement, AnnounceError> {
    let mut new = compose(state, request).await?;
    if let Some(seq) = corrects {
        new.message = state.config.correction_template.render(&new.message);
        new.corrects = Some(seq);
    }
    let announcement = state.broadcaster.announce(&state.store, new).await?;
    state.targets.announced();
    state.metrics.announce();
    tracing::info!(
        seq = announcement.seq.get(),
        subscribers = state.broadcaster.subscribers(),
        show_id = announcement.show_id,
        position = announcement.position,
        corrects = announcement.corrects.map(Seq::get),
        message = announcement.message.as_str(),
        "announced"
    );
    if let Some(seq) = corrects {
        corrected(state, seq).await;
    }
    Ok(announcement)
}

/// The corrected announce's track counts as not announced again: its show changed for the
/// pages that show it. The correction itself is already made, so a failed lookup is only
/// logged.
async fn corrected(state: &AppState, seq: Seq) {
    match state.store.announcement_show(seq).await {
        Ok(Some(show_id)) => state.broadcaster.show_changed(show_id),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, %seq, "cannot tell pages which show a correction changed")
        }
    }
}

/// The normal line for `request`, with the show and track it names.
async fn compose(
    state: &AppState,
    request: AnnounceRequest,
) -> Result<NewAnnouncement, AnnounceError> {
    match request {
        AnnounceRequest::Text(text) => {
            let message = AnnounceLine::sanitize(&text);
            if message.is_empty() {
                return Err(AnnounceError::EmptyText);
            }
            Ok(NewAnnouncement::text(message))
        }
        AnnounceRequest::Track { show_id, position } => {
            let show = match show_id {
                Some(id) => state.store.show(id).await?,
                None => state.current_show().await?,
            };
            let track = show
                .tracks
                .iter()
                .find(|t| t.position == position)
                .cloned()
                .ok_or(StoreError::NoPosition {
                    show_id: show.id,
                    position,
                })?;
            let message = state.config.announce_template.render(&TrackFields {
                position,
                title: &track.title,
                artist: &track.artist,
                url: &track.permalink_url,
            });
            Ok(NewAnnouncement {
                message,
                show_id: Some(show.id),
                position: Some(position),
                track: Some(track),
                corrects: None,
            })
        }
    }
}
