//! A process under chaos: started, SIGKILLed at the plan's moments, restarted after the plan's
//! pause, over and over. Each incarnation's RSS and open files are sampled at the same age, so
//! the first and the last incarnation compare like with like (a fresh process against a fresh
//! process), and once more just before each kill.
//!
//! Every incarnation after the first is started by, and lives as long as, this module's thread:
//! a child gets SIGTERM when the thread that spawned it ends (`PR_SET_PDEATHSIG` is per
//! thread), so the thread stays until the run is over and stops the last incarnation itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::plan::Kill;
use crate::procs::Proc;

/// The age at which every incarnation is sampled.
pub const SAMPLE_AGE: Duration = Duration::from_secs(3);

/// RSS and open files of one incarnation at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub incarnation: usize,
    pub age: Duration,
    pub rss: u64,
    pub fds: u64,
}

impl Sample {
    fn of(proc: &Proc, incarnation: usize, born: Instant) -> Option<Sample> {
        Some(Sample {
            incarnation,
            age: born.elapsed(),
            rss: proc.rss().ok()?,
            fds: proc.open_files().ok()?,
        })
    }
}

/// When the chaos thread moves on: `show_over` ends the kills (the process then runs on, for
/// the drain), `finish` ends the last incarnation.
#[derive(Default)]
pub struct Flags {
    pub show_over: AtomicBool,
    pub finish: AtomicBool,
}

/// What the chaos thread hands back once the last incarnation has stopped.
pub struct Life {
    pub born: Instant,
    pub incarnations: usize,
    pub kills: usize,
    /// One per incarnation that reached [`SAMPLE_AGE`].
    pub at_age: Vec<Sample>,
    pub before_kill: Vec<Sample>,
    /// The last incarnation when told to finish (after the drain).
    pub end: Option<Sample>,
}

/// Starts incarnation N (0 first) and returns once it is ready.
pub type Starter = Box<dyn Fn(usize) -> Result<Proc> + Send>;

/// Runs `first` (incarnation 0, started at `born`) and its successors from `start` through
/// `kills` (times from `t0`) on a thread of its own; after the last kill (or `show_over`) it
/// keeps the process running until `finish`, then stops it.
pub fn spawn(
    (first, born): (Proc, Instant),
    start: Starter,
    kills: Vec<Kill>,
    (t0, flags): (Instant, Arc<Flags>),
) -> JoinHandle<Result<Life>> {
    std::thread::spawn(move || {
        let mut proc = first;
        let mut life = Life {
            born,
            incarnations: 1,
            kills: 0,
            at_age: Vec::new(),
            before_kill: Vec::new(),
            end: None,
        };
        for kill in kills {
            life.live_until(&proc, t0 + kill.at, &flags.show_over);
            if flags.show_over.load(Ordering::Relaxed) {
                break;
            }
            let incarnation = life.incarnations - 1;
            life.before_kill
                .extend(Sample::of(&proc, incarnation, life.born));
            kill_now(&proc);
            life.kills += 1;
            std::thread::sleep(kill.pause);
            // The killed incarnation is dropped here, already dead: its drop only reaps it.
            proc = start(life.incarnations)
                .with_context(|| format!("restart after kill {}", life.kills))?;
            life.incarnations += 1;
            life.born = Instant::now();
        }
        life.live_until(&proc, far_future(), &flags.finish);
        life.end = Sample::of(&proc, life.incarnations - 1, life.born);
        proc.stop();
        Ok(life)
    })
}

fn kill_now(proc: &Proc) {
    if let Ok(pid) = i32::try_from(proc.pid()) {
        // SAFETY: signalling our own child by its pid; it is reaped when its Proc drops.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

impl Life {
    /// Lets the process run until `until` or `stop`, taking its at-age sample on the way.
    fn live_until(&mut self, proc: &Proc, until: Instant, stop: &AtomicBool) {
        let incarnation = self.incarnations - 1;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            let sampled = self
                .at_age
                .last()
                .is_some_and(|s| s.incarnation == incarnation);
            if !sampled && self.born.elapsed() >= SAMPLE_AGE {
                self.at_age.extend(Sample::of(proc, incarnation, self.born));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
