//! The request slab: every live request and probe in one `Vec`, with a free list, so a request is a `u32` and
//! nothing is allocated per request once the slab has grown to the traffic. [`Requests`] owns the slab, the
//! servers each request has tried, and the live counts; the section indexes it by request id.

use std::ops::{Index, IndexMut};

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

/// Every live request and probe, with the servers each has tried and the live counts.
pub(super) struct Requests {
    slots: Vec<Request>,
    free_head: u32,
    /// User requests in the slab (not probes).
    pub(super) live_requests: u32,
    /// Probes in the slab.
    pub(super) live_probes: u32,
    /// Servers each slot has tried: `tried_words` words of bits per slot (one word up to 64 servers).
    tried: Vec<u64>,
    tried_words: usize,
}

impl Index<u32> for Requests {
    type Output = Request;
    #[inline]
    fn index(&self, req: u32) -> &Request {
        &self.slots[req as usize]
    }
}

impl IndexMut<u32> for Requests {
    #[inline]
    fn index_mut(&mut self, req: u32) -> &mut Request {
        &mut self.slots[req as usize]
    }
}

impl Requests {
    /// An empty slab for a section of `servers` servers.
    pub(super) fn new(servers: usize) -> Requests {
        Requests {
            slots: Vec::new(),
            free_head: NO_SLOT,
            live_requests: 0,
            live_probes: 0,
            tried: Vec::new(),
            tried_words: servers.div_ceil(64),
        }
    }

    /// Every slot, free ones included, in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Request> {
        self.slots.iter()
    }

    /// A slot for a new request (or probe) of `host` arriving `now`: a freed one if any, with a new generation
    /// so its stale timers are ignored, else a new one.
    // Inline: once or twice a request, where the call and its saved registers cost as much as the body (callgrind).
    #[inline(always)]
    pub(super) fn alloc(&mut self, now: SimTime, host: usize, to_primary: bool, probe: bool) -> u32 {
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
            arrived_at: now,
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
            // One look-up of the slot: what the tried bits need is read before the slot is overwritten.
            let slot = &mut self.slots[id as usize];
            let (attempts, server) = (slot.attempts, slot.server);
            self.free_head = slot.next_free;
            *slot = Request { gen: slot.gen.wrapping_add(1), ..fresh };
            if attempts > 0 {
                let words = self.tried_words;
                if words == 1 {
                    // Up to 64 servers: one word, cleared without `fill`'s call to memset (1% of the engine run).
                    self.tried[id as usize] = 0;
                } else if attempts == 1 {
                    // One attempt (nearly every request) set one bit, the word of the server it tried: clearing
                    // that word alone spares a memset of 16 words a request at 1024 servers (2% of that run).
                    self.tried[id as usize * words + server as usize / 64] = 0;
                } else {
                    self.tried[id as usize * words..(id as usize + 1) * words].fill(0);
                }
            }
            id
        } else {
            self.slots.push(fresh);
            self.tried.resize(self.slots.len() * self.tried_words, 0);
            (self.slots.len() - 1) as u32
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
        let slot = &mut self.slots[req as usize];
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
