//! Part 12: a station of 12 shows against a hub of one. The same announce to 10,000
//! subscribers on each, alternating in blocks: the POST answer and the last arrival of the
//! station within 1.1 × the one-show hub's. And the SoundCloud requests the station's pollers
//! send over a week, simulated with the hub's own cadence function (a real week of polling
//! cannot be waited for).

use std::time::Duration;

use anyhow::Result;
use hub::{PollIntervals, Schedule, next_poll_wait};
use jiff::{SignedDuration, Timestamp};

use super::fanout::measure;
use super::{Ctx, Rounds, progress};
use crate::report::Row;
use crate::servers::{HubSetup, Server, station_slots};

pub const MAX_RATIO: f64 = 1.1;
const SHOWS: usize = 12;

pub fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let (n, rounds) = ctx.size((10_000, 15), (200, 5));
    let blocks = ctx.size(3, 1);
    let (mut one, mut station) = (Vec::new(), Vec::new());
    for block in 1..=blocks {
        // Each block measures both; which goes first alternates, so a machine that slows
        // down (or warms up) over the run does not always land on the same one.
        let station_first = block % 2 == 0;
        for is_station in [station_first, !station_first] {
            let (label, setup) = if is_station {
                (format!("{SHOWS} shows"), HubSetup::station(&ctx.rt, SHOWS)?)
            } else {
                ("one show".to_owned(), HubSetup::new(&ctx.rt, 0)?)
            };
            progress(&format!(
                "station: {label}, {n} subscribers, block {block}/{blocks}"
            ));
            let server = Server::hub(setup.start(ctx.cpus.server)?, setup.addr())?;
            let done = measure(ctx, server, n, rounds, "")?.0;
            if is_station {
                station.extend(done);
            } else {
                one.extend(done);
            }
        }
    }
    let (one, station) = (Rounds::of(&one), Rounds::of(&station));
    let mut rows = compare(n, &one, &station);
    rows.extend(polling_week());
    Ok(rows)
}

fn compare(n: usize, one: &Rounds, station: &Rounds) -> Vec<Row> {
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let last = ratio(station.last.p50, one.last.p50);
    let post = ratio(station.response.p50, one.response.p50);
    let ok = last <= MAX_RATIO && post <= MAX_RATIO && station.missing == 0;
    vec![
        Row::info(
            format!("12. {n} subscribers: one show"),
            one.describe(),
            "(the reference)",
        ),
        Row::new(
            format!("12. {n} subscribers: station of {SHOWS} shows"),
            format!(
                "{}; last arrival = {last:.2} ×, POST = {post:.2} × one show",
                station.describe()
            ),
            "last arrival and POST answer ≤ 1.1 × one show (p50 of rounds)",
            ok,
        ),
    ]
}

/// Every show's polls over one week from a Monday, with the default intervals (3600 s, live
/// 60 s): one request per poll (a week's likes fit one page), plus one resolve per show.
fn polling_week() -> Vec<Row> {
    let intervals = PollIntervals {
        normal: Duration::from_secs(3600),
        live: Duration::from_secs(60),
    };
    let start: Timestamp = "2026-03-02T00:00:00Z".parse().expect("a time");
    let end = start + SignedDuration::from_hours(7 * 24);
    let mut per_hour = vec![0u32; 7 * 24];
    for schedule in station_schedules() {
        let mut t = start;
        while t < end {
            let hour = t.duration_since(start).as_hours();
            per_hour[usize::try_from(hour).unwrap_or(0)] += 1;
            let wait = next_poll_wait(&schedule, intervals, t);
            t += SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_hours(1));
        }
    }
    let total: u32 = per_hour.iter().sum::<u32>() + SHOWS as u32;
    let peak = per_hour.iter().max().copied().unwrap_or(0);
    let always_hourly = SHOWS * 7 * 24;
    vec![Row::info(
        format!("12. SoundCloud requests of {SHOWS} shows over a simulated week"),
        format!(
            "{total} ({:.1} per hour on average, {peak} in the busiest hour); polling every \
             show hourly all week would be {always_hourly}",
            f64::from(total) / (7.0 * 24.0)
        ),
        "(quiet shows every 6 h, within a day hourly, live every minute)",
    )]
}

fn station_schedules() -> Vec<Schedule> {
    station_slots(SHOWS)
        .into_iter()
        .map(|(day, hour)| Schedule::from_config("UTC", day, hour, 60).expect("a schedule"))
        .collect()
}
