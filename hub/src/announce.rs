//! Announcing: turning "track 3 of show 7" or a free text into one sanitised line, logging it
//! with a fresh seq, and handing it to the broadcaster. A correction is the same line written
//! with `show.correction_template` around it, naming the announce it corrects.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ntr_protocol::Seq;

use crate::alerts::Alerts;
use crate::broadcast::Broadcaster;
use crate::line::AnnounceLine;
use crate::line_template::TrackFields;
use crate::metrics::Metrics;
use crate::next_track::{now_and_next, standing};
use crate::station::{ShowDef, ShowSlug, Station};
use crate::store::{
    Announcement, ExpectedTrack, HeldState, IdempotencyKey, Keyed, NewAnnouncement, RecordAs,
    Recorded, Show, ShowError, Store, StoreError,
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
    #[error("log_only: a free text logged only needs a show: name one with \"show\"")]
    LogOnlyWithoutShow,
    #[error(
        "at: {at} is outside the show's week and live window ({start} to {end}, and not in the future)"
    )]
    LogTimeOutside {
        at: Timestamp,
        start: Timestamp,
        end: Timestamp,
    },
    #[error("every track of `{show}` is announced: nothing is left for Announce next")]
    NothingLeft { show: String },
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
    /// Fires a show's live alert at its first track announce in the live window.
    pub alerts: Alerts,
    pub metrics: Arc<Metrics>,
    pub station: Arc<Station>,
    /// Held while a request with an `Idempotency-Key` is announced.
    pub keyed: Arc<tokio::sync::Mutex<()>>,
    /// Wakes the releaser of held announces when one is held.
    pub held: Arc<tokio::sync::Notify>,
    /// Held while Announce next picks and announces a track, so two at once pick two.
    pub next: Arc<tokio::sync::Mutex<()>>,
}

/// One announce request, checked by the handler.
#[derive(Debug, Clone)]
pub struct Submission {
    pub request: AnnounceRequest,
    /// The earlier announce this one corrects.
    pub corrects: Option<Seq>,
    /// Log only, at this time: the track played while the DJ could not announce it.
    pub log_only_at: Option<Timestamp>,
    pub key: Option<IdempotencyKey>,
}

/// What an announce request did.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outcome: Recorded,
    /// It answers a repeated `Idempotency-Key`: nothing was done again.
    pub replayed: bool,
}

/// How long an `Idempotency-Key` is remembered.
const KEYS_KEPT: SignedDuration = SignedDuration::from_hours(24);

/// The answer to a repeated key: what the first request made, unless the body differs.
fn replay(
    key: &IdempotencyKey,
    first_body: &str,
    first: Recorded,
) -> Result<Answer, AnnounceError> {
    if first_body == key.body {
        Ok(Answer {
            outcome: first,
            replayed: true,
        })
    } else {
        Err(AnnounceError::KeyReused)
    }
}

impl Announcer {
    /// Announces a submission: logged and broadcast now, held for its show's hold (a
    /// correction or a log-only entry never is), or only logged. With an `Idempotency-Key`,
    /// a repeat within 24 h answers what the first request made, as it stands now, and does
    /// nothing, or is refused when its body differs; keyed requests go one at a time, so a
    /// repeat that arrives while the first is running waits for its answer.
    pub async fn submit(&self, submission: Submission) -> Result<Answer, AnnounceError> {
        let _one_at_a_time = match submission.key {
            Some(_) => Some(self.keyed.lock().await),
            None => None,
        };
        let keys_not_before = Timestamp::now() - KEYS_KEPT;
        if let Some(key) = &submission.key
            && let Some((body, first)) = self.store.keyed(key.clone(), keys_not_before).await?
        {
            return replay(key, &body, first);
        }
        let new = self.line(&submission).await?;
        let how = RecordAs {
            hold_until: self.hold_until(&submission, &new),
            key: submission.key.clone(),
            keys_not_before,
        };
        match self.broadcaster.record(&self.store, new, how).await? {
            Keyed::Recorded(recorded) => {
                match &recorded {
                    Recorded::Announced(a) => self.announced(a).await,
                    Recorded::Held(_) => self.held.notify_one(),
                }
                Ok(Answer {
                    outcome: recorded,
                    replayed: false,
                })
            }
            Keyed::Existing { body, recorded } => match &submission.key {
                Some(key) => replay(key, &body, recorded),
                None => Err(StoreError::Corrupt {
                    column: 0,
                    message: "a request without a key matched a key".into(),
                }
                .into()),
            },
        }
    }

    /// Announces the next track of `show` (else of the current show), as the console's
    /// Announce next does; with a key, a repeat answers what the first made. Calls go one at
    /// a time and count held announces as announced, so two at once announce two tracks.
    pub async fn announce_next(
        &self,
        show: Option<ShowSlug>,
        key: Option<IdempotencyKey>,
    ) -> Result<Answer, AnnounceError> {
        let _one_at_a_time = self.next.lock().await;
        // …and one at a time across the station's replicas.
        let _station_wide = self.store.station_lock("announce next").await?;
        if let Some(key) = &key
            && let Some((body, first)) = self
                .store
                .keyed(key.clone(), Timestamp::now() - KEYS_KEPT)
                .await?
        {
            return replay(key, &body, first);
        }
        let request = self.next_request(show).await?;
        self.submit(Submission {
            request,
            corrects: None,
            log_only_at: None,
            key,
        })
        .await
    }

    /// The announce of the next track of `show`'s current week.
    async fn next_request(&self, show: Option<ShowSlug>) -> Result<AnnounceRequest, AnnounceError> {
        let now = Timestamp::now();
        let def = match &show {
            Some(slug) => self.configured(slug.as_str())?,
            None => self.on_air_or_only(now)?,
        };
        let week = self.store.current_show(def, now).await?;
        let log = self
            .store
            .show_log(week.id, def.schedule.log_window(week.week))
            .await?;
        let held = self.store.held_positions(week.id).await?;
        let order: Vec<Option<u64>> = week
            .tracks
            .iter()
            .map(|t| match standing(t, &log) {
                Some((a, _)) => Some(a.seq.get()),
                None => held.contains(&t.position).then_some(u64::MAX),
            })
            .collect();
        let (_, next) = now_and_next(&order);
        let track =
            next.and_then(|i| week.tracks.get(i))
                .ok_or_else(|| AnnounceError::NothingLeft {
                    show: def.slug.to_string(),
                })?;
        Ok(AnnounceRequest::Track {
            week: WeekChoice::Id(week.id),
            position: track.position,
            expected: ExpectedTrack::Id(track.id),
        })
    }

    /// When a submission's line is released: after its show's hold, unless it corrects or is
    /// only logged (both fix the record and go out as they are).
    fn hold_until(&self, submission: &Submission, new: &NewAnnouncement) -> Option<Timestamp> {
        let hold = self.templates_of(new.show.as_deref()).console.hold;
        let plain = submission.corrects.is_none() && submission.log_only_at.is_none();
        (plain && hold.is_positive()).then(|| Timestamp::now() + hold)
    }

    /// Releases the held announces that are due: each goes into the log with its seq and out
    /// to every subscriber, as an announce made now would.
    pub async fn release_due(&self) -> Result<(), StoreError> {
        for id in self.store.held_due(Timestamp::now()).await? {
            if let Some(announcement) = self.broadcaster.release(&self.store, id).await? {
                self.announced(&announcement).await;
            }
        }
        Ok(())
    }

    /// Undoes held announce `id`: `Held` when it was held (and is undone now), else the state
    /// it is in; `None` when there is no such id.
    pub async fn undo(&self, id: i64) -> Result<Option<HeldState>, StoreError> {
        self.store.undo_held(id).await
    }

    /// The line a submission makes: as a correction if it corrects, at its time if it is
    /// only logged.
    async fn line(&self, submission: &Submission) -> Result<NewAnnouncement, AnnounceError> {
        let mut new = self.compose(submission.request.clone()).await?;
        if let Some(at) = submission.log_only_at {
            self.check_log_time(&new, at).await?;
            new.logged_at = Some(at);
        }
        if let Some(seq) = submission.corrects {
            new.message = self
                .templates_of(new.show.as_deref())
                .correction_template
                .render(&new.message);
            new.corrects = Some(seq);
        }
        Ok(new)
    }

    /// A log-only entry's time must lie in its show's week or live window, and not ahead.
    async fn check_log_time(
        &self,
        new: &NewAnnouncement,
        at: Timestamp,
    ) -> Result<(), AnnounceError> {
        let now = Timestamp::now();
        let show = match (new.show_id, new.show.as_deref()) {
            (Some(id), _) => self.store.show(id).await?,
            (None, Some(slug)) => self.store.current_show(self.configured(slug)?, now).await?,
            (None, None) => return Err(AnnounceError::LogOnlyWithoutShow),
        };
        let live = self.templates_of(Some(&show.slug)).schedule.live_window();
        let end = now.min(show.week.end + live);
        if at < show.week.start || at > end {
            return Err(AnnounceError::LogTimeOutside {
                at,
                start: show.week.start,
                end,
            });
        }
        Ok(())
    }

    /// What follows an announce that was logged (and broadcast, unless only logged).
    async fn announced(&self, announcement: &Announcement) {
        if announcement.log_only {
            tracing::info!(seq = announcement.seq.get(), at = %announcement.announced_at, "logged only");
            if let Some(id) = announcement.show_id {
                self.broadcaster.show_changed(id);
            }
            return;
        }
        self.targets.announced();
        self.metrics.announce();
        log(announcement, self.broadcaster.subscribers());
        if let Some(seq) = announcement.corrects {
            self.corrected(seq).await;
        }
        self.alerts.announced(announcement).await;
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
            logged_at: None,
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
