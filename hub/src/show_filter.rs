//! Which shows' announces a relay, a target or one stream gets: all of them, or a list of
//! slugs. A station-wide line (a free text of no show) passes every filter: it is meant for
//! everyone who carries the station.
//!
//! The fan-out asks [`ShowFilter::passes`] once per frame per socket, so it compares slugs
//! in place and never allocates.

use std::sync::Arc;

use crate::station::{BadSlug, ShowSlug, Station};

/// All shows, or only the ones listed (possibly none: then only station-wide lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowFilter(Option<Arc<[ShowSlug]>>);

/// Why a `shows = [...]` list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShowListError {
    #[error("{0}")]
    Slug(#[from] BadSlug),
    #[error("is empty; leave `shows` out for every show")]
    Empty,
    #[error("names `{0}` twice")]
    Twice(ShowSlug),
}

impl ShowFilter {
    /// Every show's lines.
    pub fn all() -> ShowFilter {
        ShowFilter(None)
    }

    /// Only these shows' lines (and station-wide ones).
    pub fn only(slugs: Vec<ShowSlug>) -> ShowFilter {
        ShowFilter(Some(slugs.into()))
    }

    /// A configured `shows = [...]`: absent means all shows; present, 1 or more slugs, each once.
    pub fn from_config(list: Option<Vec<String>>) -> Result<ShowFilter, ShowListError> {
        let Some(list) = list else {
            return Ok(ShowFilter::all());
        };
        if list.is_empty() {
            return Err(ShowListError::Empty);
        }
        let mut slugs: Vec<ShowSlug> = Vec::with_capacity(list.len());
        for s in &list {
            let slug = ShowSlug::parse(s.trim())?;
            if slugs.contains(&slug) {
                return Err(ShowListError::Twice(slug));
            }
            slugs.push(slug);
        }
        Ok(ShowFilter::only(slugs))
    }

    /// Does a line of `show` (`None`: station-wide) pass?
    pub fn passes(&self, show: Option<&str>) -> bool {
        match (&self.0, show) {
            (None, _) | (_, None) => true,
            (Some(slugs), Some(show)) => slugs.iter().any(|s| s.as_str() == show),
        }
    }

    /// This filter narrowed to one show (`?show=` on a stream): that show if this filter lets
    /// it through, else station-wide lines only.
    pub fn narrow(&self, show: &ShowSlug) -> ShowFilter {
        if self.passes(Some(show.as_str())) {
            ShowFilter::only(vec![show.clone()])
        } else {
            ShowFilter::only(Vec::new())
        }
    }

    /// The listed slugs; `None` for all shows.
    pub fn slugs(&self) -> Option<&[ShowSlug]> {
        self.0.as_deref()
    }

    /// The first listed slug the station does not have, as an error text naming the known ones.
    pub fn unknown_in(&self, station: &Station) -> Option<String> {
        let unknown = self
            .slugs()?
            .iter()
            .find(|s| station.get(s.as_str()).is_none())?;
        Some(format!(
            "no show `{unknown}`; the shows are {}",
            station.slug_list()
        ))
    }

    /// `all shows`, or the slugs, for `check-config` and logs.
    pub fn describe(&self) -> String {
        match self.slugs() {
            None => "all shows".to_string(),
            Some([]) => "station-wide lines only".to_string(),
            Some(slugs) => {
                let names: Vec<&str> = slugs.iter().map(ShowSlug::as_str).collect();
                format!("shows {}", names.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> ShowSlug {
        ShowSlug::parse(s).expect("slug")
    }

    #[test]
    fn station_wide_lines_pass_every_filter() {
        let only_a = ShowFilter::only(vec![slug("a")]);
        assert!(only_a.passes(Some("a")));
        assert!(!only_a.passes(Some("b")));
        assert!(only_a.passes(None));
        assert!(ShowFilter::all().passes(Some("b")));
        assert!(ShowFilter::only(Vec::new()).passes(None));
        assert!(!ShowFilter::only(Vec::new()).passes(Some("a")));
    }

    #[test]
    fn narrowing_keeps_only_what_both_allow() {
        let only_a = ShowFilter::only(vec![slug("a")]);
        assert_eq!(only_a.narrow(&slug("a")), only_a);
        assert!(!only_a.narrow(&slug("b")).passes(Some("b")));
        assert!(ShowFilter::all().narrow(&slug("b")).passes(Some("b")));
        assert!(!ShowFilter::all().narrow(&slug("b")).passes(Some("a")));
    }

    #[test]
    fn configured_lists_are_checked() {
        assert_eq!(ShowFilter::from_config(None), Ok(ShowFilter::all()));
        assert_eq!(
            ShowFilter::from_config(Some(vec![])),
            Err(ShowListError::Empty)
        );
        assert_eq!(
            ShowFilter::from_config(Some(vec!["a".into(), "a".into()])),
            Err(ShowListError::Twice(slug("a")))
        );
        assert!(ShowFilter::from_config(Some(vec!["A b".into()])).is_err());
        assert_eq!(
            ShowFilter::from_config(Some(vec!["a".into()]))
                .expect("ok")
                .describe(),
            "shows a"
        );
    }
}
