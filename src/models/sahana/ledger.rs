//! The run's ledger: request counts for the conservation law, the stalls on dead connections, the blackout
//! (the longest time with requests in the system and none completing) and latencies: what `summary.headline`
//! reports.

use std::collections::VecDeque;

use crate::time::{SimDuration, SimTime};

/// Stalls remembered for the summary (the oldest are dropped first; the counts keep every one).
pub const MAX_STALL_LOG: usize = 64;

/// One stall on a dead connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    /// When the query went into the dead flow, µs.
    pub start: SimTime,
    /// The worker, from 0.
    pub worker: u32,
    /// How long it waited, µs, once it ended (`None` while it goes on).
    pub length: Option<SimDuration>,
    /// True when a kill ended it, not the kernel.
    pub cut_short: bool,
}

/// Counts and extremes of the run so far.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests answered.
    pub completed: u64,
    /// Requests turned away by a full listen queue.
    pub rejected: u64,
    /// Requests lost with a killed worker.
    pub killed: u64,
    /// Requests whose query went into a dead flow and waited on retransmissions.
    pub stalls: u64,
    /// Requests that found their connection closed by keepalive and reconnected at once.
    pub fast_reconnects: u64,
    /// Connections reset by the router (router_on_expiry=rst).
    pub resets: u64,
    /// Connections closed by unanswered keepalive probes.
    pub keepalive_closes: u64,
    /// Times a request started waiting for a lock another worker held.
    pub lock_waits: u64,
    /// Longest stall that the kernel (or a reset) ended, µs.
    pub longest_stall: SimDuration,
    /// The stalls, oldest first, at most [`MAX_STALL_LOG`].
    pub stall_log: VecDeque<Stall>,
    /// Longest interval with requests in the system and none completing, µs, and when it began.
    pub blackout: (SimDuration, SimTime),
    no_progress_since: SimTime,
    /// Largest latency of any completed request, µs.
    pub max_latency: SimDuration,
    /// Largest latency of a completed request that never stalled itself, µs.
    pub max_latency_unstalled: SimDuration,
    /// Sum of latencies, µs (for the mean).
    pub latency_sum: u128,
}

impl Ledger {
    /// A request entered the system at `now`; `in_system_before` were already in it.
    pub fn admitted(&mut self, now: SimTime, in_system_before: u64) {
        if in_system_before == 0 {
            self.no_progress_since = now;
        }
    }

    /// A request that arrived at `arrived` completed at `now`.
    pub fn completed(&mut self, now: SimTime, arrived: SimTime, stalled: bool) {
        self.completed += 1;
        let latency = now - arrived;
        self.latency_sum += latency as u128;
        self.max_latency = self.max_latency.max(latency);
        if !stalled {
            self.max_latency_unstalled = self.max_latency_unstalled.max(latency);
        }
        self.note_gap(now);
        self.no_progress_since = now;
    }

    fn note_gap(&mut self, now: SimTime) {
        let gap = now - self.no_progress_since;
        if gap > self.blackout.0 {
            self.blackout = (gap, self.no_progress_since);
        }
    }

    /// The blackout so far, counting one still going on at `now` with `in_system` requests waiting.
    pub fn blackout_at(&self, now: SimTime, in_system: u64) -> (SimDuration, SimTime) {
        let ongoing = now.saturating_sub(self.no_progress_since);
        if in_system > 0 && ongoing > self.blackout.0 {
            (ongoing, self.no_progress_since)
        } else {
            self.blackout
        }
    }

    /// Worker `worker`'s query went into a dead flow at `now`.
    pub fn stall_started(&mut self, now: SimTime, worker: u32) {
        self.stalls += 1;
        if self.stall_log.len() >= MAX_STALL_LOG {
            self.stall_log.pop_front();
        }
        self.stall_log.push_back(Stall { start: now, worker, length: None, cut_short: false });
    }

    /// Worker `worker`'s stall ended after `length` µs: by the kernel or a reset, or cut short by a kill.
    pub fn stall_ended(&mut self, worker: u32, length: SimDuration, cut_short: bool) {
        if !cut_short {
            self.longest_stall = self.longest_stall.max(length);
        }
        if let Some(s) = self.stall_log.iter_mut().rev().find(|s| s.worker == worker && s.length.is_none()) {
            s.length = Some(length);
            s.cut_short = cut_short;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blackout_is_the_longest_gap_between_completions_while_requests_wait() {
        let mut l = Ledger::default();
        l.admitted(10, 0);
        l.completed(12, 10, false);
        l.admitted(100, 0); // the system was empty from 12 to 100: that is no blackout
        l.completed(150, 100, true);
        assert_eq!(l.blackout, (50, 100));
        assert_eq!(l.blackout_at(400, 1), (250, 150));
        assert_eq!(l.blackout_at(400, 0), (50, 100));
        assert_eq!((l.max_latency, l.max_latency_unstalled), (50, 2));
    }
}
