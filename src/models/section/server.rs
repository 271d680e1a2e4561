//! A database server as a noun: how it answers connects (accept, blackhole, refuse), its cold ramp, its slots,
//! FIFO queue and connections, and its state as the page reads it. What the section does with it (faults,
//! service time, lag) is in `serving.rs`.

use std::collections::VecDeque;

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
    /// Requests with a connection open or opening here; its length is the active connection count.
    pub(super) conns: Vec<u32>,
    pub(super) busy_slots: u32,
    pub(super) queue: VecDeque<u32>,
    /// Integral of `conns.len()` over the current step, connection·µs.
    pub(super) conn_area: u128,
    pub(super) last_change: SimTime,
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
            conn_area: 0,
            last_change: 0,
            total_conns: 0,
            probe_conns: 0,
            failed_conns: 0,
            work_count: 0,
        }
    }

    /// Accumulates the connection-time area up to `now`; call before every change of `conns`.
    pub(super) fn touch(&mut self, now: SimTime) {
        self.conn_area += self.conns.len() as u128 * (now - self.last_change) as u128;
        self.last_change = now;
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
