//! The request slab: every live request and probe in one `Vec`, with a free list, so a request is a `u32` and
//! nothing is allocated per request once the slab has grown to the traffic.

use super::model::*;
use crate::engine::Ctx;
use crate::time::SimTime;

/// Where a request is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// The slab slot is unused.
    Free,
    /// Waiting in its host's listen backlog for a worker.
    Backlog,
    /// Holding a worker, choosing a server (only within one event: it connects or ends before the next).
    Starting,
    /// Holding a worker; a connect attempt to `server` is under way.
    Connecting,
    /// Connected; waiting for a free slot on the server.
    Queued,
    /// Connected; its query is running.
    Querying,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Request {
    pub(super) gen: u32,
    pub(super) phase: Phase,
    /// A gauge connection asked for by the host's controller, not a user request: it holds no worker and is
    /// not counted in the request totals.
    pub(super) probe: bool,
    /// What the probe's PROCESSLIST count found.
    pub(super) probe_count: u32,
    pub(super) host: u32,
    pub(super) server: u16,
    pub(super) attempts: u16,
    pub(super) to_primary: bool,
    /// Position in the server's `conns` list while connecting or connected.
    pub(super) conn_index: u32,
    pub(super) arrived_at: SimTime,
    pub(super) conn_started: SimTime,
    /// Next free slot, while this one is free.
    pub(super) next_free: u32,
}

pub(super) const NO_SLOT: u32 = u32::MAX;

impl Section {
    pub(super) fn alloc(&mut self, ctx: &mut Ctx<Event>, host: usize, to_primary: bool, probe: bool) -> u32 {
        let fresh = Request {
            gen: 0,
            phase: Phase::Backlog,
            probe,
            probe_count: 0,
            host: host as u32,
            server: 0,
            attempts: 0,
            to_primary,
            conn_index: 0,
            arrived_at: ctx.now(),
            conn_started: 0,
            next_free: NO_SLOT,
        };
        if probe {
            self.live_probes += 1;
        } else {
            self.live_requests += 1;
        }
        if self.free_head != NO_SLOT {
            let id = self.free_head;
            let slot = &mut self.requests[id as usize];
            self.free_head = slot.next_free;
            if slot.attempts > 0 {
                let words = self.tried_words;
                self.tried[id as usize * words..(id as usize + 1) * words].fill(0);
            }
            let slot = &mut self.requests[id as usize];
            *slot = Request { gen: slot.gen.wrapping_add(1), ..fresh };
            id
        } else {
            self.requests.push(fresh);
            self.tried.resize(self.requests.len() * self.tried_words, 0);
            (self.requests.len() - 1) as u32
        }
    }

    /// True when request `req` has already tried `server`.
    #[inline]
    pub(super) fn has_tried(&self, req: u32, server: usize) -> bool {
        self.tried[req as usize * self.tried_words + server / 64] & (1u64 << (server % 64)) != 0
    }

    /// Records that request `req` tries `server`.
    #[inline]
    pub(super) fn mark_tried(&mut self, req: u32, server: usize) {
        self.tried[req as usize * self.tried_words + server / 64] |= 1u64 << (server % 64);
    }

    /// Returns a slab slot to the free list.
    pub(super) fn release(&mut self, req: u32) {
        let slot = &mut self.requests[req as usize];
        if slot.probe {
            self.live_probes -= 1;
        } else {
            self.live_requests -= 1;
        }
        slot.phase = Phase::Free;
        slot.next_free = self.free_head;
        self.free_head = req;
    }
}
