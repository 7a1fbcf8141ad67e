//! How long a connection may take to send a request head, and how long it may sit idle between
//! requests.
//!
//! hyper has one knob for both, `header_read_timeout`, and it arms that timer whenever it starts
//! waiting for a head, including the quiet time between two requests on a kept-alive
//! connection. So a 10 s head limit would also close every idle connection after 10 s, and a
//! 60 s idle limit would give a slow-loris client 60 s per head. No crate separates the two,
//! hence this hand-written timer: each connection gets its own [`HeadTimer`], which tells the
//! first head of a connection (10 s from connect) from a later one, and for a later one waits
//! up to the idle limit for the first byte and then up to the head limit for the rest. It sees
//! bytes arrive through [`Watched`], a thin wrapper around the socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};
use hyper_util::rt::TokioTimer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The time limits on a connection that is not (yet) a WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From connect (or from the first byte of a later request) to the end of the head.
    pub head: Duration,
    /// From the end of the head to the end of the body (else 408 and the connection closes).
    pub body: Duration,
    /// Between a response and the first byte of the next request on a kept-alive connection.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            head: Duration::from_secs(10),
            body: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }
}

/// What the socket wrapper tells the timer (whether a byte arrived since the timer was armed),
/// and what the timer tells the server (whether the connection is between requests).
#[derive(Debug, Default)]
pub struct Activity {
    read: AtomicBool,
    awaiting_head: AtomicBool,
}

impl Activity {
    /// No request is in progress: the connection is waiting for (the rest of) a head.
    pub fn awaiting_head(&self) -> bool {
        self.awaiting_head.load(Ordering::Relaxed)
    }
}

/// A socket that notes every read that returned data.
pub struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Watched { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// One connection's timer. hyper's HTTP/1 server asks a timer for nothing but the head
/// deadline, so every `sleep_until` here is the start of a wait for a request head.
pub struct HeadTimer {
    timeouts: Timeouts,
    activity: Arc<Activity>,
    heads: AtomicU64,
    tokio: TokioTimer,
}

impl HeadTimer {
    pub fn new(timeouts: Timeouts, activity: Arc<Activity>) -> Self {
        HeadTimer {
            timeouts,
            activity,
            heads: AtomicU64::new(0),
            tokio: TokioTimer::new(),
        }
    }
}

impl Timer for HeadTimer {
    // tokio's clock, so a test that pauses time sees hyper's deadlines move with it.
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.tokio.sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        let first = self.heads.fetch_add(1, Ordering::Relaxed) == 0;
        self.activity.read.store(false, Ordering::Relaxed);
        self.activity.awaiting_head.store(true, Ordering::Relaxed);
        // hyper computed `deadline` as now + the head limit.
        let armed = deadline.checked_sub(self.timeouts.head).unwrap_or(deadline);
        let (phase, until) = if first {
            (Phase::Head, deadline)
        } else {
            (Phase::Idle, armed + self.timeouts.idle)
        };
        Box::pin(HeadSleep {
            sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
                until,
            ))),
            phase,
            head: self.timeouts.head,
            activity: Arc::clone(&self.activity),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No byte of the head yet, on a connection that has already served a request.
    Idle,
    /// The head has begun (or this is the connection's first): the head limit runs.
    Head,
}

/// Resolves when the connection has waited too long for its head.
struct HeadSleep {
    sleep: Pin<Box<tokio::time::Sleep>>,
    phase: Phase,
    head: Duration,
    activity: Arc<Activity>,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // hyper polls this right after every read that left the head incomplete, so the first
        // byte of a head is seen here within one poll of its arrival.
        if self.phase == Phase::Idle && self.activity.read.load(Ordering::Relaxed) {
            self.phase = Phase::Head;
            let until = tokio::time::Instant::now() + self.head;
            self.sleep.as_mut().reset(until);
        }
        self.sleep.as_mut().poll(cx)
    }
}

impl Sleep for HeadSleep {}

/// hyper drops the deadline as soon as the head is complete.
impl Drop for HeadSleep {
    fn drop(&mut self) {
        self.activity.awaiting_head.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer() -> (HeadTimer, Arc<Activity>) {
        let activity = Arc::new(Activity::default());
        let timeouts = Timeouts {
            head: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            ..Timeouts::default()
        };
        (HeadTimer::new(timeouts, Arc::clone(&activity)), activity)
    }

    fn is_ready(sleep: &mut Pin<Box<dyn Sleep>>) -> bool {
        let waker = std::task::Waker::noop();
        sleep
            .as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_ready()
    }

    async fn advance(secs: u64) {
        tokio::time::advance(Duration::from_secs(secs)).await;
    }

    fn arm(timer: &HeadTimer) -> Pin<Box<dyn Sleep>> {
        timer.sleep_until(timer.now() + Duration::from_secs(10))
    }

    #[tokio::test(start_paused = true)]
    async fn the_connection_awaits_a_head_while_a_deadline_is_armed() {
        let (timer, activity) = timer();
        assert!(!activity.awaiting_head());
        let sleep = arm(&timer);
        assert!(activity.awaiting_head());
        drop(sleep);
        assert!(!activity.awaiting_head());
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_head_has_ten_seconds_from_connect() {
        let (timer, activity) = timer();
        let mut sleep = arm(&timer);
        activity.read.store(true, Ordering::Relaxed);
        advance(9).await;
        assert!(!is_ready(&mut sleep));
        advance(2).await;
        assert!(is_ready(&mut sleep));
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_may_idle_for_a_minute() {
        let (timer, _) = timer();
        let _first = arm(&timer);
        let mut idle = arm(&timer);
        advance(59).await;
        assert!(!is_ready(&mut idle));
        advance(2).await;
        assert!(is_ready(&mut idle));
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_head_has_ten_seconds_from_its_first_byte() {
        let (timer, activity) = timer();
        let _first = arm(&timer);
        let mut later = arm(&timer);
        advance(30).await;
        activity.read.store(true, Ordering::Relaxed);
        assert!(!is_ready(&mut later));
        advance(9).await;
        assert!(!is_ready(&mut later));
        advance(2).await;
        assert!(is_ready(&mut later));
    }
}
