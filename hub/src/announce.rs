//! Announcing: turning "track 3 of show 7" or a free text into one sanitised line, logging it
//! with a fresh seq, and handing it to the broadcaster. A correction is the same line written
//! with `show.correction_template` around it, naming the announce it corrects.

use std::sync::Arc;

use jiff::Timestamp;
use ntr_protocol::Seq;

use crate::broadcast::Broadcaster;
use crate::line::AnnounceLine;
use crate::line_template::TrackFields;
use crate::metrics::Metrics;
use crate::station::{ShowDef, ShowSlug, Station};
use crate::store::{
    Announcement, ExpectedTrack, IdempotencyKey, Keyed, NewAnnouncement, Show, ShowError, Store,
    StoreError,
};
use crate::targets::Targets;

/// What to announce, already validated by the handler.
#[derive(Debug, Clone)]
pub enum AnnounceRequest {
    /// A track of a show's week. Refused when the track at `position` is not `expected` (a
    /// poll shifted the list since the client looked).
    Track {
        week: WeekChoice,
        position: u32,
        expected: ExpectedTrack,
    },
    /// A free text for `show`, or with none, for the show on air (else station-wide).
    Text {
        text: String,
        show: Option<ShowSlug>,
    },
}

/// Which show week a track announce means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeekChoice {
    /// A week by its id.
    Id(i64),
    /// That show's current week (the on-air one during its live window).
    Show(ShowSlug),
    /// The current week of the show on air, or when none is, of the only show.
    Current,
}

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Show(#[from] ShowError),
    #[error("the text is empty once control characters are removed")]
    EmptyText,
    #[error(
        "Idempotency-Key: this key was used in the last 24 hours with another body; send a new key for a new announce"
    )]
    KeyReused,
    #[error("no show `{slug}`; the shows are {known}")]
    UnknownShow { slug: String, known: String },
    #[error("no show is on air: name one with \"show\" ({known})")]
    NoneOnAir { known: String },
}

/// Everything one announce touches: it reads the show from the store, writes the line with
/// its show's templates, logs it, and hands it to the fan-out, the targets and the metrics.
#[derive(Clone)]
pub struct Announcer {
    pub store: Store,
    pub broadcaster: Broadcaster,
    pub targets: Targets,
    pub metrics: Arc<Metrics>,
    pub station: Arc<Station>,
    /// Held while a request with an `Idempotency-Key` is announced.
    pub keyed: Arc<tokio::sync::Mutex<()>>,
}

/// How long an `Idempotency-Key` is remembered.
const KEYS_KEPT: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// The answer to a repeated key: the first announce again, unless the body differs.
fn replay(
    key: &IdempotencyKey,
    first_body: &str,
    first: Announcement,
) -> Result<(Announcement, bool), AnnounceError> {
    if first_body == key.body {
        Ok((first, true))
    } else {
        Err(AnnounceError::KeyReused)
    }
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
        let new = self.line(request, corrects).await?;
        let announcement = self.broadcaster.announce(&self.store, new).await?;
        self.announced(&announcement).await;
        Ok(announcement)
    }

    /// Like [`Announcer::announce`] for a request with an `Idempotency-Key`: the first request
    /// with the key announces; a repeat within 24 h answers that announce again (`true`: a
    /// replay) and announces nothing, or is refused when its body differs. Keyed requests go
    /// one at a time, so a repeat that arrives while the first is running waits for its answer.
    pub async fn announce_once(
        &self,
        request: AnnounceRequest,
        corrects: Option<Seq>,
        key: IdempotencyKey,
    ) -> Result<(Announcement, bool), AnnounceError> {
        let _one_at_a_time = self.keyed.lock().await;
        let not_before = Timestamp::now() - KEYS_KEPT;
        if let Some((body, first)) = self
            .store
            .keyed_announcement(key.clone(), not_before)
            .await?
        {
            return replay(&key, &body, first);
        }
        let new = self.line(request, corrects).await?;
        match self
            .broadcaster
            .announce_keyed(&self.store, new, key.clone(), not_before)
            .await?
        {
            Keyed::Recorded(announcement) => {
                self.announced(&announcement).await;
                Ok((announcement, false))
            }
            Keyed::Existing { body, announcement } => replay(&key, &body, announcement),
        }
    }

    /// The line `request` makes, as a correction of `corrects` if given.
    async fn line(
        &self,
        request: AnnounceRequest,
        corrects: Option<Seq>,
    ) -> Result<NewAnnouncement, AnnounceError> {
        let mut new = self.compose(request).await?;
        if let Some(seq) = corrects {
            new.message = self
                .templates_of(new.show.as_deref())
                .correction_template
                .render(&new.message);
            new.corrects = Some(seq);
        }
        Ok(new)
    }

    /// What follows an announce that was logged and broadcast.
    async fn announced(&self, announcement: &Announcement) {
        self.targets.announced();
        self.metrics.announce();
        log(announcement, self.broadcaster.subscribers());
        if let Some(seq) = announcement.corrects {
            self.corrected(seq).await;
        }
    }

    /// The show whose templates write a line of `show`: a station-wide line, or one of a show
    /// no longer configured, is written with the first show's.
    fn templates_of(&self, show: Option<&str>) -> &ShowDef {
        show.and_then(|slug| self.station.get(slug))
            .unwrap_or_else(|| self.station.primary())
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
            AnnounceRequest::Text { text, show } => {
                let message = AnnounceLine::sanitize(&text);
                if message.is_empty() {
                    return Err(AnnounceError::EmptyText);
                }
                let show = match show {
                    Some(slug) => Some(self.configured(slug.as_str())?.slug.to_string()),
                    None => self
                        .station
                        .on_air(Timestamp::now())
                        .map_err(ShowError::from)?
                        .map(|s| s.slug.to_string()),
                };
                Ok(NewAnnouncement::text(message, show))
            }
            AnnounceRequest::Track {
                week,
                position,
                expected,
            } => {
                let now = Timestamp::now();
                let show = match week {
                    WeekChoice::Id(id) => self.store.show(id).await?,
                    WeekChoice::Show(slug) => {
                        let def = self.configured(slug.as_str())?;
                        self.store.current_show(def, now).await?
                    }
                    WeekChoice::Current => {
                        let def = self.on_air_or_only(now)?;
                        self.store.current_show(def, now).await?
                    }
                };
                self.track_line(&show, position, expected)
            }
        }
    }

    fn configured(&self, slug: &str) -> Result<&ShowDef, AnnounceError> {
        self.station
            .get(slug)
            .ok_or_else(|| AnnounceError::UnknownShow {
                slug: slug.to_owned(),
                known: self.station.slug_list(),
            })
    }

    /// The show on air at `now`, else the only show; with several and none on air the DJ
    /// must say which.
    fn on_air_or_only(&self, now: Timestamp) -> Result<&ShowDef, AnnounceError> {
        if let Some(show) = self.station.on_air(now).map_err(ShowError::from)? {
            return Ok(show);
        }
        match self.station.shows() {
            [only] => Ok(only),
            _ => Err(AnnounceError::NoneOnAir {
                known: self.station.slug_list(),
            }),
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
        let message = self
            .templates_of(Some(&show.slug))
            .announce_template
            .render(&TrackFields {
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
            show: Some(show.slug.clone()),
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
