//! A database server as a noun: how it answers connects (accept, blackhole, refuse), its cold ramp, its slots,
//! FIFO queue and connections, and its state as the page reads it. What the section does with it (faults,
//! service time, lag) is in `serving.rs`.

use std::collections::VecDeque;

use super::meter::StepArea;
use crate::time::{SimDuration, SimTime};

/// How a server answers a connect right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectMode {
    /// Accepts within one round trip (unless at `max_connections`).
    Accept,
    /// No answer: the attempt hangs for the connect timeout, then fails.
    Blackhole,
    /// Refused within one round trip.
    Refuse,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct ColdRamp {
    pub(super) start: SimTime,
    pub(super) from_fraction: f64,
    pub(super) warmup: SimDuration,
}

pub(super) struct ServerState {
    pub(super) connect_mode: ConnectMode,
    pub(super) crashed: bool,
    pub(super) slow_factor: f64,
    pub(super) cold: Option<ColdRamp>,
    /// Requests with a connection open or opening here; its length is the active connection count. Changed only
    /// through `open`, `close` and `close_all`, which keep `conn_area`.
    pub(super) conns: Vec<u32>,
    pub(super) busy_slots: u32,
    pub(super) queue: VecDeque<u32>,
    /// `conns.len()` integrated over the current step, connection·µs.
    conn_area: StepArea,
    pub(super) total_conns: u64,
    pub(super) probe_conns: u64,
    pub(super) failed_conns: u64,
    pub(super) work_count: u64,
}

impl ServerState {
    pub(super) fn new() -> ServerState {
        ServerState {
            connect_mode: ConnectMode::Accept,
            crashed: false,
            slow_factor: 1.0,
            cold: None,
            conns: Vec::new(),
            busy_slots: 0,
            queue: VecDeque::new(),
            conn_area: StepArea::default(),
            total_conns: 0,
            probe_conns: 0,
            failed_conns: 0,
            work_count: 0,
        }
    }

    /// Opens a connection for `req` at `now`, last in `conns`.
    #[inline(always)]
    pub(super) fn open(&mut self, req: u32, now: SimTime) {
        self.conn_area.up(now);
        self.conns.push(req);
    }

    /// Closes the connection at `index` in `conns` at `now`; the last one takes its place.
    #[inline(always)]
    pub(super) fn close(&mut self, index: usize, now: SimTime) {
        self.conn_area.down(now);
        self.conns.swap_remove(index);
    }

    /// Closes every connection at `now` and returns them.
    pub(super) fn close_all(&mut self, now: SimTime) -> Vec<u32> {
        let lost = std::mem::take(&mut self.conns);
        self.conn_area.down_by(lost.len(), now);
        lost
    }

    /// The open connections integrated over the step that ends at `now`, connection·µs, and a new step from `now`.
    pub(super) fn take_conn_area(&mut self, now: SimTime) -> u128 {
        self.conn_area.take(self.conns.len() as u64, now)
    }
}

/// What one server is doing right now, for live displays.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerNow {
    /// Connections open or opening.
    pub active_conns: u32,
    /// Queries running (only meaningful with slot capacity).
    pub busy_slots: u32,
    /// Queries waiting for a slot.
    pub queued: u32,
    /// How it answers connects.
    pub connect_mode: ConnectMode,
    /// True after a crash until it recovers.
    pub crashed: bool,
    /// Current service-time multiplier from `slow` and `cold` faults.
    pub latency_multiplier: f64,
    /// The configured load now, with operator overrides applied.
    pub effective_load: f64,
    /// The pinned weight, if an operator pinned it.
    pub pinned: Option<f64>,
}
