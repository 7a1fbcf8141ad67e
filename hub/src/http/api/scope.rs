//! Which show an `/admin/…` request acts on, checked against the caller's rights before the
//! engine runs it. The station admin's requests pass as they are. A DJ's announce that names
//! no show is pinned to one of its shows (the one on air when it is theirs, else their only
//! one), so what was checked is exactly what gets announced.

use jiff::Timestamp;
use ntr_protocol::Seq;

use crate::announce::{AnnounceRequest, WeekChoice};
use crate::http::error::ApiError;
use crate::http::guards::{require, require_stored, require_week};
use crate::http::show_query::ShowQuery;
use crate::http::state::AppState;
use crate::station::{Refused, Rights, ShowDef, ShowSlug};

/// `request` (correcting `corrects`, if set) as `rights` may make it, or 403.
pub async fn announce(
    state: &AppState,
    rights: &Rights,
    request: AnnounceRequest,
    corrects: Option<Seq>,
) -> Result<AnnounceRequest, ApiError> {
    if rights.is_station() {
        return Ok(request);
    }
    if let Some(seq) = corrects {
        line(state, rights, seq).await?;
    }
    Ok(match request {
        AnnounceRequest::Track {
            week,
            position,
            expected,
        } => {
            let week = match week {
                WeekChoice::Id(id) => {
                    require_week(state, rights, id).await?;
                    WeekChoice::Id(id)
                }
                WeekChoice::Show(slug) => {
                    require(rights, &slug)?;
                    WeekChoice::Show(slug)
                }
                WeekChoice::Current => WeekChoice::Show(own_show(state, rights)?),
            };
            AnnounceRequest::Track {
                week,
                position,
                expected,
            }
        }
        AnnounceRequest::Text {
            text,
            show: Some(slug),
        } => {
            require(rights, &slug)?;
            AnnounceRequest::Text {
                text,
                show: Some(slug),
            }
        }
        AnnounceRequest::Text { text, show: None } => AnnounceRequest::Text {
            text,
            show: Some(own_show(state, rights)?),
        },
    })
}

/// The show Announce next acts on for `rights`: the one named, else for the station admin
/// the current one (`None`: the engine picks it), for a DJ their own.
pub fn next_show(
    state: &AppState,
    rights: &Rights,
    named: Option<ShowSlug>,
) -> Result<Option<ShowSlug>, ApiError> {
    match named {
        Some(slug) => {
            require(rights, &slug)?;
            Ok(Some(slug))
        }
        None if rights.is_station() => Ok(None),
        None => Ok(Some(own_show(state, rights)?)),
    }
}

/// The show `?show=` means for `rights`: the one named; without it, for the station admin the
/// show on air or else the next, for a DJ its show on air or else its only show.
pub fn query_show<'a>(
    state: &'a AppState,
    rights: &Rights,
    query: &ShowQuery,
) -> Result<&'a ShowDef, ApiError> {
    let station = &state.config.station;
    if query.show.is_some() || rights.is_station() {
        let def = query.or_now(station, Timestamp::now())?;
        require(rights, &def.slug)?;
        return Ok(def);
    }
    let slug = own_show(state, rights)?;
    // Rights only ever name configured shows.
    station
        .get(slug.as_str())
        .ok_or_else(|| ApiError::Internal(format!("rights name no configured show `{slug}`")))
}

/// A DJ's show when a request names none: the show on air when it is theirs, else their only
/// show; a DJ of several shows must name one.
fn own_show(state: &AppState, rights: &Rights) -> Result<ShowSlug, ApiError> {
    if let Some(show) = state.config.station.on_air(Timestamp::now())?
        && rights.may(&show.slug)
    {
        return Ok(show.slug.clone());
    }
    rights.only_show().cloned().ok_or_else(|| {
        Refused::NameYourShow {
            rights: rights.clone(),
        }
        .into()
    })
}

/// Refused unless held announce `id` is a line of one of the caller's shows, as [`line`] is
/// for an announce.
pub async fn held(state: &AppState, rights: &Rights, id: i64) -> Result<(), ApiError> {
    if rights.is_station() {
        return Ok(());
    }
    let slug = state.store.held_slug(id).await?;
    owned(rights, slug, || format!("held announce {id}"))
}

/// Refused unless announce `seq` is a line of one of the caller's shows. Station-wide lines
/// are the admin's; an unknown seq passes, to be answered as for anyone.
pub async fn line(state: &AppState, rights: &Rights, seq: Seq) -> Result<(), ApiError> {
    if rights.is_station() {
        return Ok(());
    }
    let slug = state.store.announcement_slug(seq).await?;
    owned(rights, slug, || format!("announce {seq}"))
}

/// Whether a stored line whose show is `slug` is the caller's: `None` is an unknown line (it
/// passes), `Some(None)` a station-wide one (the admin's only).
fn owned(
    rights: &Rights,
    slug: Option<Option<String>>,
    what: impl FnOnce() -> String,
) -> Result<(), ApiError> {
    match slug {
        None => Ok(()),
        Some(Some(slug)) => require_stored(rights, &slug),
        Some(None) => Err(Refused::StationOnly {
            what: format!("{}, a station-wide line,", what()),
            rights: rights.clone(),
        }
        .into()),
    }
}
