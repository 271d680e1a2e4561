//! An app host: its worker pool, its listen backlog, and its own in-flight count per server.

use std::collections::VecDeque;

use crate::controller::Candidate;

pub(super) struct HostState {
    pub(super) busy_workers: u32,
    pub(super) backlog: VecDeque<u32>,
    /// This host's connections open or opening, per server.
    pub(super) in_flight: Vec<u32>,
    /// Every replica as a pick candidate, with this host's in-flight count kept current in place, so the first
    /// pick of a request (the common case) hands the controller this slice without building anything.
    pub(super) replicas: Vec<Candidate>,
}

impl HostState {
    /// Changes the count and returns the new one.
    #[inline(always)]
    pub(super) fn add_in_flight(&mut self, server: usize, replica_pos: Option<u16>, delta: i32) -> u32 {
        let count = &mut self.in_flight[server];
        *count = count.wrapping_add_signed(delta);
        let now = *count;
        if let Some(pos) = replica_pos {
            self.replicas[pos as usize].in_flight = now;
        }
        now
    }
}
