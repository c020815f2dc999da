//! What the listener knows about each connection: when it last moved bytes, whether a request
//! head is half-read or a request is in flight, and the table of open connections that the
//! connection cap chooses from.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use o2o_edge::http::BodyTimedOut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use super::Limits;

/// No head is being read (the value of `Activity::head_started`).
const NO_HEAD: u64 = 0;

/// One connection's state, shared by its socket, its requests and the connection table.
pub(super) struct Activity {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last byte read or written.
    last: AtomicU64,
    /// 1 + milliseconds since `epoch` of the first byte of a head not yet complete, or `NO_HEAD`.
    head_started: AtomicU64,
    /// Requests whose head has arrived and whose response is not yet produced.
    in_flight: AtomicU32,
    evict: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
            head_started: AtomicU64::new(NO_HEAD),
            in_flight: AtomicU32::new(0),
            evict: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ = self.head_started.compare_exchange(
                NO_HEAD,
                now + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    fn on_write(&self) {
        self.last.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Marks a request head as complete and its request in flight until the guard drops.
    pub(super) fn begin_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(NO_HEAD, Ordering::Release);
        InFlight(Arc::clone(self))
    }

    /// Whether a request is in flight.
    pub(super) fn in_flight(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Resolves when the connection cap picked this connection to close.
    pub(super) async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// Since when the connection has waited for a request (its head's first byte, or its last
    /// byte when idle); `None` while a request is in flight.
    fn waiting_since(&self) -> Option<u64> {
        if self.in_flight() {
            return None;
        }
        match self.head_started.load(Ordering::Acquire) {
            NO_HEAD => Some(self.last.load(Ordering::Relaxed)),
            started => Some(started - 1),
        }
    }

    /// When the connection times out, as things stand; `None` while a request is in flight
    /// (its body has its own deadline, and the pipeline bounds its own calls).
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight() {
            return None;
        }
        match self.head_started.load(Ordering::Acquire) {
            NO_HEAD => Some(self.at(self.last.load(Ordering::Relaxed)) + limits.idle_timeout),
            started => Some(self.at(started - 1) + limits.header_read_timeout),
        }
    }

    /// When to look again: the deadline, or (while a request is in flight) a while from now.
    pub(super) fn next_check(&self, limits: &Limits) -> Instant {
        self.deadline(limits)
            .unwrap_or_else(|| Instant::now() + limits.header_read_timeout.min(limits.idle_timeout))
    }

    /// Whether the head or idle timeout has passed.
    pub(super) fn expired(&self, limits: &Limits) -> bool {
        self.deadline(limits)
            .is_some_and(|deadline| Instant::now() >= deadline)
    }
}

/// A request in flight on a connection (see [`Activity::begin_request`]).
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.on_write();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections, for the cap.
pub(super) struct Tracker {
    max: usize,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
}

impl Tracker {
    /// A table for at most `max` connections (at least one).
    pub(super) fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for a new connection. At the cap, the connection that has waited longest without a
    /// request in flight is told to close and gives up its slot; when every connection has a
    /// request in flight there is no slot (`None`).
    pub(super) fn admit(this: &Arc<Self>) -> Option<Slot> {
        let mut open = this.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.len() >= this.max {
            let (_, victim) = open
                .iter()
                .filter_map(|(id, activity)| Some((activity.waiting_since()?, *id)))
                .min()?;
            if let Some(activity) = open.remove(&victim) {
                activity.evict.notify_one();
            }
        }
        let id = this.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new());
        open.insert(id, Arc::clone(&activity));
        Some(Slot {
            id,
            activity,
            tracker: Arc::clone(this),
        })
    }
}

/// A connection's place in the table, given up when the connection task ends.
pub(super) struct Slot {
    id: u64,
    activity: Arc<Activity>,
    tracker: Arc<Tracker>,
}

impl Slot {
    /// The connection's state.
    pub(super) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.tracker
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// A socket that tells its connection's [`Activity`] when bytes move.
pub(super) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that must arrive whole before a deadline, set when its head arrived; after
/// it, reading fails with [`BodyTimedOut`].
pub(super) struct DeadlineBody {
    inner: Incoming,
    limit: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl DeadlineBody {
    pub(super) fn new(inner: Incoming, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            deadline: Box::pin(tokio::time::sleep(limit)),
        }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
