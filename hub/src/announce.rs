//! Announcing: turning "track 3 of show 7" or a free text into one sanitised line, logging it
//! with a fresh seq, and handing it to the broadcaster. A correction is the same line written
//! with `show.correction_template` around it, naming the announce it corrects.

use std::sync::Arc;

use jiff::Timestamp;
use ntr_protocol::Seq;

use crate::broadcast::Broadcaster;
use crate::line::AnnounceLine;
use crate::line_template::{AnnounceTemplate, CorrectionTemplate, TrackFields};
use crate::metrics::Metrics;
use crate::store::{
    Announcement, ExpectedTrack, NewAnnouncement, Show, ShowError, Store, StoreError,
};
use crate::targets::Targets;
use crate::week::Schedule;

/// What to announce, already validated by the handler.
#[derive(Debug, Clone)]
pub enum AnnounceRequest {
    /// A track of a show; `show_id: None` means the current show. Refused when the track at
    /// `position` is not `expected` (a poll shifted the list since the client looked).
    Track {
        show_id: Option<i64>,
        position: u32,
        expected: ExpectedTrack,
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

/// The templates a line is written with.
pub struct Templates {
    pub announce: AnnounceTemplate,
    pub correction: CorrectionTemplate,
}

/// Everything one announce touches: it reads the show from the store, writes the line with
/// the templates, logs it, and hands it to the fan-out, the targets and the metrics.
#[derive(Clone)]
pub struct Announcer {
    pub store: Store,
    pub broadcaster: Broadcaster,
    pub targets: Targets,
    pub metrics: Arc<Metrics>,
    pub schedule: Schedule,
    pub templates: Arc<Templates>,
}

impl Announcer {
    /// Announces `request`; with `corrects`, as a correction of that earlier announce (which
    /// the log then marks as corrected, in the same transaction that checks it may be
    /// corrected).
    pub async fn announce(
        &self,
        request: AnnounceRequest,
        corrects: Option<Seq>,
    ) -> Result<Announcement, AnnounceError> {
        let mut new = self.compose(request).await?;
        if let Some(seq) = corrects {
            new.message = self.templates.correction.render(&new.message);
            new.corrects = Some(seq);
        }
        let announcement = self.broadcaster.announce(&self.store, new).await?;
        self.targets.announced();
        self.metrics.announce();
        log(&announcement, self.broadcaster.subscribers());
        if let Some(seq) = corrects {
            self.corrected(seq).await;
        }
        Ok(announcement)
    }

    /// The corrected announce's track counts as not announced again: its show changed for
    /// the pages that show it. The correction itself is already made, so a failed lookup is
    /// only logged.
    async fn corrected(&self, seq: Seq) {
        match self.store.announcement_show(seq).await {
            Ok(Some(show_id)) => self.broadcaster.show_changed(show_id),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, %seq, "cannot tell pages which show a correction changed");
            }
        }
    }

    /// The normal line for `request`, with the show and track it names.
    async fn compose(&self, request: AnnounceRequest) -> Result<NewAnnouncement, AnnounceError> {
        match request {
            AnnounceRequest::Text(text) => {
                let message = AnnounceLine::sanitize(&text);
                if message.is_empty() {
                    return Err(AnnounceError::EmptyText);
                }
                Ok(NewAnnouncement::text(message))
            }
            AnnounceRequest::Track {
                show_id,
                position,
                expected,
            } => {
                let show = match show_id {
                    Some(id) => self.store.show(id).await?,
                    None => {
                        self.store
                            .current_show(&self.schedule, Timestamp::now())
                            .await?
                    }
                };
                self.track_line(&show, position, expected)
            }
        }
    }

    fn track_line(
        &self,
        show: &Show,
        position: u32,
        expected: ExpectedTrack,
    ) -> Result<NewAnnouncement, AnnounceError> {
        let track = show
            .tracks
            .iter()
            .find(|t| t.position == position)
            .cloned()
            .ok_or(StoreError::NoPosition {
                show_id: show.id,
                position,
            })?;
        expected.check(position, track.id, &track.title, &track.artist)?;
        let message = self.templates.announce.render(&TrackFields {
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

fn log(announcement: &Announcement, subscribers: usize) {
    tracing::info!(
        seq = announcement.seq.get(),
        subscribers,
        show_id = announcement.show_id,
        position = announcement.position,
        corrects = announcement.corrects.map(Seq::get),
        message = announcement.message.as_str(),
        "announced"
    );
}
