//! The client writing to node1: `closed` (sysbench-like client threads that block while flow control pauses the
//! group and commit at once when it resumes) or `open` (transactions arrive at `write_rate` whatever happens; the
//! ones arriving during a pause wait in a client backlog of at most `client_backlog`, and overflow is rejected).
//!
//! Commits come in batches for speed: the model gives each tick a limit so that no node's queue crosses its STOP
//! level inside a batch, so every STOP happens at the writeset that crosses, as with one writeset per event.

use crate::time::{SimTime, SECOND};

/// How the writer reacts to a pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Client threads block while paused (sysbench).
    Closed,
    /// Arrivals at a fixed rate; a bounded backlog during pauses.
    Open,
}

/// The writer's state.
#[derive(Clone, Debug)]
pub struct Writer {
    /// Closed or open.
    pub mode: Mode,
    /// Natural (closed) or arrival (open) rate, trx/s.
    pub rate: f64,
    /// Client threads (closed): at most this many commits wait out a pause.
    pub threads: u64,
    /// Open writer's backlog bound, trx.
    pub backlog_max: u64,
    /// Largest batch per tick, trx.
    pub batch: u64,
    /// Commits waiting to go out at once (threads blocked by a pause, or the open backlog).
    pub pending: u64,
    /// Offered transactions (open arrivals, or closed demand while not paused).
    pub offered: u64,
    /// Committed (replicated) transactions: the next global seqno.
    pub committed: u64,
    /// Open arrivals rejected because the backlog was full.
    pub rejected: u64,
    /// Transactions a crash took: commits past the recovered position and commits still waiting.
    pub lost: u64,
    /// The rate clock: when the next natural commit is due, µs (fractional).
    due: f64,
    /// Paused by flow control since.
    pub paused_since: Option<SimTime>,
    /// Stopped by a crash.
    pub down: bool,
    /// Generation of the tick timer.
    pub gen: u32,
}

/// What one tick did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    /// Writesets committed now (seqnos `first..first + count`).
    pub first: u64,
    /// How many.
    pub count: u64,
    /// µs from the first to the last of them at the writer's rate (0 for a burst of blocked commits).
    pub span_us: u64,
    /// When to tick next, if at all.
    pub next: Option<SimTime>,
}

impl Writer {
    /// A writer starting at time 0.
    pub fn new(mode: Mode, rate: f64, threads: u64, backlog_max: u64, batch: u64) -> Writer {
        Writer {
            mode,
            rate,
            threads,
            backlog_max,
            batch: batch.max(1),
            pending: 0,
            offered: 0,
            committed: 0,
            rejected: 0,
            lost: 0,
            due: 0.0,
            paused_since: None,
            down: false,
            gen: 0,
        }
    }

    fn interval_us(&self, count: u64) -> f64 {
        if self.rate <= 0.0 {
            f64::INFINITY
        } else {
            count as f64 * SECOND as f64 / self.rate
        }
    }

    /// When the next full batch's last writeset is due, µs (a tick commits writesets whose time has come).
    fn next_tick(&self, now: SimTime) -> Option<SimTime> {
        let at = self.due + self.interval_us(self.batch - 1);
        at.is_finite().then(|| (at.ceil() as SimTime).max(now))
    }

    /// Writesets of the rate stream due by `now`, at most a batch.
    fn due_by(&self, now: SimTime) -> u64 {
        let iv = self.interval_us(1);
        if !iv.is_finite() || self.due > now as f64 {
            return 0;
        }
        (((now as f64 - self.due) / iv) as u64 + 1).min(self.batch)
    }

    /// One tick at `now`: commits at most `limit` (≥ 1) writesets. A batch stands for writesets that came due one
    /// by one over its span, which ends now.
    pub fn tick(&mut self, now: SimTime, limit: u64) -> Tick {
        let first = self.committed;
        let none = Tick { first, count: 0, span_us: 0, next: None };
        if self.down || (self.rate <= 0.0 && self.pending == 0) {
            return none;
        }
        if self.paused_since.is_some() {
            // Only an open writer ticks while paused: its arrivals wait in the backlog.
            let k = self.due_by(now);
            self.offered += k;
            let room = self.backlog_max - self.pending.min(self.backlog_max);
            self.pending += k.min(room);
            self.rejected += k - k.min(room);
            self.due += self.interval_us(k);
            return Tick { next: self.next_tick(now), ..none };
        }
        let limit = limit.max(1);
        if self.pending > 0 {
            let count = self.pending.min(limit);
            self.pending -= count;
            self.committed += count;
            let next = if self.pending > 0 { Some(now) } else { self.next_tick(now) };
            return Tick { first, count, span_us: 0, next };
        }
        let count = self.due_by(now).min(limit);
        self.offered += count;
        self.committed += count;
        self.due += self.interval_us(count);
        let span_us = if count > 1 { self.interval_us(count - 1) as u64 } else { 0 };
        Tick { first, count, span_us, next: self.next_tick(now) }
    }

    /// Flow control paused the group at `now`. Returns true when ticks should stop (a closed writer).
    pub fn pause(&mut self, now: SimTime) -> bool {
        self.paused_since = Some(now);
        if self.mode == Mode::Closed {
            self.gen = self.gen.wrapping_add(1);
            return true;
        }
        false
    }

    /// The group resumed at `now`: blocked threads (closed) or the backlog (open) commit at once. Returns the
    /// time of the next tick (now).
    pub fn resume(&mut self, now: SimTime) -> SimTime {
        if let Some(since) = self.paused_since.take() {
            if self.mode == Mode::Closed {
                let blocked = (self.rate * (now - since) as f64 / SECOND as f64) as u64;
                self.pending += blocked.min(self.threads);
                self.offered += blocked.min(self.threads);
                self.due = now as f64;
            }
        }
        self.gen = self.gen.wrapping_add(1);
        now
    }

    /// Every offered transaction is committed, waiting, rejected or lost in a crash; the first violation.
    pub fn check(&self) -> Result<(), String> {
        let Writer { offered, committed, pending, rejected, lost, .. } = *self;
        if offered != committed + pending + rejected + lost {
            return Err(format!(
                "writer's transactions not conserved: {offered} offered ≠ {committed} committed + {pending} waiting + {rejected} rejected + {lost} lost"
            ));
        }
        Ok(())
    }

    /// A restart from the recovered `position`: the commits past it and the waiting ones are lost.
    pub fn restart_at(&mut self, position: u64) {
        self.lost += self.committed.saturating_sub(position) + self.pending;
        self.committed = position;
        self.pending = 0;
        self.down = false;
        self.paused_since = None;
    }

    /// Sets the rate, trx/s, from `now` on.
    pub fn set_rate(&mut self, rate: f64, now: SimTime) {
        self.rate = rate;
        self.due = now as f64;
        self.gen = self.gen.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_writer_commits_at_its_rate_and_bursts_its_threads_after_a_pause() {
        let mut w = Writer::new(Mode::Closed, 1000.0, 16, 0, 10);
        let t = w.tick(0, 100);
        assert_eq!((t.count, t.next), (1, Some(10_000)), "one is due at 0; the next batch's last at 10 ms");
        let t = w.tick(10_000, 100);
        assert_eq!((t.count, t.span_us), (10, 9_000));
        assert!(w.pause(10_000));
        assert_eq!(w.resume(510_000), 510_000);
        assert_eq!(w.pending, 16, "500 would have been due, but only 16 threads wait");
        let t = w.tick(510_000, 100);
        assert_eq!((t.first, t.count), (11, 16));
    }

    #[test]
    fn an_open_writer_keeps_arriving_while_paused_and_rejects_past_its_backlog() {
        let mut w = Writer::new(Mode::Open, 1000.0, 0, 25, 10);
        w.tick(9_000, 100);
        assert!(!w.pause(9_000));
        for t in [19_000, 29_000, 39_000] {
            w.tick(t, 100);
        }
        assert_eq!((w.pending, w.rejected, w.committed), (25, 5, 10));
        assert_eq!(w.offered, 40, "10 before the pause and 30 during it");
        w.check().unwrap();
        w.rejected -= 1;
        assert!(w.check().unwrap_err().contains("not conserved"), "an uncounted rejection is a violation");
    }

    /// A crash at 12 committed and 3 waiting, recovered at 10: 2 commits and 3 waiting ones lost.
    #[test]
    fn a_restart_counts_what_the_crash_took() {
        let mut w = Writer::new(Mode::Open, 1000.0, 0, 25, 10);
        (w.offered, w.committed, w.pending) = (15, 12, 3);
        w.check().unwrap();
        w.restart_at(10);
        assert_eq!((w.committed, w.pending, w.lost), (10, 0, 5));
        w.check().unwrap();
    }
}
