//! A Galera node: its group-communication state (SYNCED, DONOR/DESYNCED, JOINED), the state the replicator shows
//! (`wsrep_local_state_comment`), its receive queue (`wsrep_local_recv_queue`) and its applier.
//!
//! The applier drains the queue at `mu` writesets/s while up, and not at all while stalled, locked by FLUSH
//! TABLES WITH READ LOCK, or crashed. The stalls are FITTED, not measured: SEED-MODELS.md §003 infers that about
//! 30 STOPs a minute with about 0.77 s of pause each need the catching-up node to stall for about 0.76 s
//! (exponential) after about 1.24 s (exponential) of applying at μ_f = 7000/s; the seed never says what stalls.
//!
//! The queue is a count, drained lazily: between two events that touch a node, the queue only falls, so the
//! applier applies ⌊credit + μ·Δt⌋ writesets in one batch, and the model schedules a wake-up at the exact time a
//! falling queue reaches a level that matters (CONT, SYNC, the JOIN action). The count is bounded by
//! [`MAX_RECV_QUEUE`].

use crate::time::{SimTime, SECOND};

/// The most writesets a receive queue may hold; a config whose writer could exceed it is refused at build.
pub const MAX_RECV_QUEUE: u64 = 1 << 40;

/// The group-communication state (`gcs_conn_state_t`), in gcs.cpp's order: flow control runs in states up to
/// `max_fc_state` (JOINED, or DONOR with `gcs.sync_donor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GcsState {
    /// Caught up with the group.
    Synced,
    /// Joined, catching up: flow control uses `fc_offset`.
    Joined,
    /// DONOR/DESYNCED (`wsrep_desync=ON`, or a donor): no flow control unless `sync_donor`.
    Donor,
    /// Crashed: out of the group.
    Down,
}

impl GcsState {
    /// A code for rows and charts: 0 SYNCED, 1 JOINED, 2 DONOR/DESYNCED, 3 down.
    pub fn code(self) -> f64 {
        self as u8 as f64
    }

    /// The name `wsrep_local_state_comment` uses.
    pub fn name(self) -> &'static str {
        match self {
            GcsState::Synced => "Synced",
            GcsState::Joined => "Joined",
            GcsState::Donor => "Donor/Desynced",
            GcsState::Down => "down",
        }
    }
}

/// One node.
#[derive(Clone, Debug)]
pub struct Node {
    /// The gcs state (what flow control sees).
    pub gcs: GcsState,
    /// What the replicator shows: it stays DONOR/DESYNCED until the JOIN action is dequeued behind the backlog.
    pub shown: GcsState,
    /// `wsrep_desync=ON`.
    pub desync: bool,
    /// FLUSH TABLES WITH READ LOCK held: the applier waits.
    pub locked: bool,
    /// The applier is in a stall.
    pub stalled: bool,
    /// Whether this node's applier stalls at all.
    pub stalls: bool,
    /// Whether it stalls even when SYNCED (otherwise only while catching up).
    pub stall_always: bool,
    /// A SYNC message is on its way.
    pub sync_sent: bool,
    /// When the pending drain wake-up fires, if one is pending.
    pub wake_at: Option<SimTime>,
    /// Apply rate while up, writesets/s.
    pub mu: f64,
    /// Receive queue length, writesets.
    pub queue: u64,
    /// Highest queue length seen.
    pub queue_peak: u64,
    /// Writesets received (the next expected global seqno is `received`).
    pub received: u64,
    /// Writesets applied.
    pub applied: u64,
    /// Fractional apply credit carried between batches, writesets.
    credit: f64,
    /// When the queue was last brought up to date.
    last: SimTime,
    /// The applied count at which the JOIN action is dequeued (the replicator then shows JOINED).
    pub join_marker: Option<u64>,
    /// Generation of the applier's phase timer (a stale one is ignored).
    pub phase_gen: u32,
    /// Generation of the drain wake-up.
    pub wake_gen: u32,
}

impl Node {
    /// A synced node applying at `mu` writesets/s.
    pub fn new(mu: f64, stalls: bool, stall_always: bool) -> Node {
        Node {
            stall_always,
            sync_sent: false,
            wake_at: None,
            gcs: GcsState::Synced,
            shown: GcsState::Synced,
            desync: false,
            locked: false,
            stalled: false,
            stalls,
            mu,
            queue: 0,
            queue_peak: 0,
            received: 0,
            applied: 0,
            credit: 0.0,
            last: 0,
            join_marker: None,
            phase_gen: 0,
            wake_gen: 0,
        }
    }

    /// True while the applier drains the queue.
    pub fn applying(&self) -> bool {
        let stalled = self.stalled && self.stalls && (self.stall_always || self.gcs != GcsState::Synced);
        !self.locked && !stalled && self.gcs != GcsState::Down
    }

    /// Applies what the applier finished since the last update, in one batch. Returns how many were dequeued.
    pub fn advance(&mut self, now: SimTime) -> u64 {
        let dt = now.saturating_sub(self.last);
        self.last = now;
        if !self.applying() || self.queue == 0 {
            self.credit = 0.0; // an idle or blocked applier banks nothing
            return 0;
        }
        self.credit += self.mu * dt as f64 / SECOND as f64;
        let n = (self.credit as u64).min(self.queue);
        self.credit -= n as f64;
        self.queue -= n;
        self.applied += n;
        if self.queue == 0 {
            self.credit = 0.0;
        }
        if let Some(marker) = self.join_marker {
            if self.applied >= marker && self.shown == GcsState::Donor {
                self.shown = GcsState::Joined;
            }
        }
        n
    }

    /// The queue length at `now` if the applier has kept draining since the last update (changes nothing).
    pub fn projected(&self, now: SimTime) -> u64 {
        if !self.applying() || self.queue == 0 {
            return self.queue;
        }
        let credit = self.credit + self.mu * now.saturating_sub(self.last) as f64 / SECOND as f64;
        self.queue - (credit as u64).min(self.queue)
    }

    /// Enqueues `count` writesets starting at global seqno `first`; false (and nothing changes) when they are not
    /// the next ones this node expects, which would be a lost or duplicated writeset.
    ///
    /// The batch stands for writesets that arrived one by one over the `span_us` before now. An idle applier would
    /// have applied them as they came, so when the queue was empty it applies ⌊μ·span⌋ of them (at most all but
    /// one) at once: batching then leaves a synced node's queue where one writeset per event would. A busy applier
    /// already drained at its full rate over the span, so it gets nothing extra.
    pub fn enqueue(&mut self, first: u64, count: u64, span_us: u64) -> bool {
        if first != self.received {
            return false;
        }
        self.received += count;
        let idle = self.queue == 0 && self.applying();
        self.queue += count;
        if idle && count > 1 {
            let caught_up = ((self.mu * span_us as f64 / SECOND as f64) as u64).min(count - 1);
            self.queue -= caught_up;
            self.applied += caught_up;
        }
        self.queue_peak = self.queue_peak.max(self.queue);
        true
    }

    /// When a draining queue (no arrivals) reaches `level`, or `None` if it never will.
    pub fn time_to_reach(&self, level: u64, now: SimTime) -> Option<SimTime> {
        if !self.applying() || self.queue <= level || self.mu <= 0.0 {
            return None;
        }
        let need = (self.queue - level) as f64 - self.credit;
        let us = (need.max(0.0) * SECOND as f64 / self.mu).ceil();
        Some(now + (us as SimTime).max(1))
    }

    /// The queue length at which the JOIN action is dequeued, if one is waiting.
    pub fn join_level(&self) -> Option<u64> {
        let marker = self.join_marker.filter(|_| self.shown == GcsState::Donor)?;
        Some(self.queue.saturating_sub(marker.saturating_sub(self.applied)))
    }

    /// Forgets the queue (a crash): the writesets in it were never applied here, so they are no longer received
    /// either. Returns how many were dropped.
    pub fn drop_queue(&mut self) -> u64 {
        let dropped = self.queue;
        self.queue = 0;
        self.received -= dropped;
        self.credit = 0.0;
        dropped
    }

    /// Restarts the node at global position `position`, synced, with an empty queue.
    pub fn restart_at(&mut self, position: u64, now: SimTime) {
        let (mu, stalls, always, phase_gen) = (self.mu, self.stalls, self.stall_always, self.phase_gen);
        *self = Node::new(mu, stalls, always);
        self.phase_gen = phase_gen;
        self.received = position;
        self.applied = position;
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_drain_applies_rate_times_time_and_never_goes_negative() {
        let mut n = Node::new(7000.0, false, false);
        assert!(n.enqueue(0, 10_000, 0));
        assert_eq!(n.advance(SECOND), 7000);
        assert_eq!(n.queue, 3000);
        assert_eq!(n.advance(3 * SECOND), 3000);
        assert_eq!((n.queue, n.applied), (0, 10_000));
        assert!(!n.enqueue(5, 1, 0), "a gap in seqnos is refused");
    }

    #[test]
    fn the_wake_time_lands_on_the_level() {
        let mut n = Node::new(7000.0, false, false);
        n.enqueue(0, 1000, 0);
        let at = n.time_to_reach(300, 0).unwrap();
        n.advance(at);
        assert_eq!(n.queue, 300);
    }
}
