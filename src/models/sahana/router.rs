//! The router between the app servers and PostgreSQL: a flow table that silently forgets flows idle longer than
//! its timeout (the seed's "router tracks connections, and drops any connections that have been idle for a
//! certain period of time"), and answers packets of forgotten flows by dropping them or with a reset.
//!
//! A forgotten flow never comes back: the router's NAT mapping is gone, so neither end's packets reach the
//! other until a new connection (a new SYN) makes a new flow. Middlebox timeouts: AWS NAT gateway 350 s, GCP
//! Cloud NAT 1200 s, Linux conntrack 432000 s (REFERENCE.md §4).
//!
//! Expiry is a timer event per flow with a generation number. Traffic only moves `last_seen`; when the timer
//! fires early (the flow carried traffic since it was set) the table asks for it again at the new deadline, so
//! a flow costs one event per timeout period, not one per packet.

use super::config::OnExpiry;
use crate::time::{SimDuration, SimTime};

/// One flow of the table (one per worker's connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    /// False once the router has forgotten it.
    pub alive: bool,
    /// Last time a packet of the flow passed, µs.
    pub last_seen: SimTime,
    /// Generation of its expiry timer; a timer carrying another is stale.
    pub gen: u32,
}

/// What the router did with one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// The flow is known: the packet passed and the flow's idle clock restarted.
    Pass,
    /// The flow was forgotten: the packet vanished.
    Drop,
    /// The flow was forgotten: the router answered with a TCP reset.
    Reset,
}

/// What an expiry timer means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Another timer replaced it, or the flow is gone, or flows never expire.
    Stale,
    /// The flow carried traffic since: ask again at this time.
    Later(SimTime),
    /// The router forgot the flow now.
    Expired,
}

/// The router's flow table.
pub struct FlowTable {
    flows: Vec<Flow>,
    idle_timeout: SimDuration,
    on_expiry: OnExpiry,
    expired: u64,
}

impl FlowTable {
    /// A table for `n` connections (none open yet), forgetting flows idle `idle_timeout` µs (0: never).
    pub fn new(n: u32, idle_timeout: SimDuration, on_expiry: OnExpiry) -> FlowTable {
        let closed = Flow { alive: false, last_seen: 0, gen: 0 };
        FlowTable { flows: vec![closed; n as usize], idle_timeout, on_expiry, expired: 0 }
    }

    /// A new connection's SYN makes a new flow at `now`. Returns when its expiry timer should fire and the
    /// timer's generation, or `None` when flows never expire.
    pub fn open(&mut self, conn: u32, now: SimTime) -> Option<(SimTime, u32)> {
        let f = &mut self.flows[conn as usize];
        f.alive = true;
        f.last_seen = now;
        f.gen = f.gen.wrapping_add(1);
        self.deadline(conn)
    }

    /// The current expiry deadline of a live flow and its timer generation.
    fn deadline(&self, conn: u32) -> Option<(SimTime, u32)> {
        let f = &self.flows[conn as usize];
        (f.alive && self.idle_timeout > 0).then(|| (f.last_seen.saturating_add(self.idle_timeout), f.gen))
    }

    /// One packet of `conn`'s flow at `now`.
    pub fn forward(&mut self, conn: u32, now: SimTime) -> Forward {
        let f = &mut self.flows[conn as usize];
        if f.alive {
            f.last_seen = now;
            Forward::Pass
        } else if self.on_expiry == OnExpiry::Rst {
            Forward::Reset
        } else {
            Forward::Drop
        }
    }

    /// The flow's expiry timer of generation `gen` fired at `now`.
    pub fn on_timer(&mut self, conn: u32, gen: u32, now: SimTime) -> Expiry {
        let f = self.flows[conn as usize];
        if f.gen != gen || !f.alive || self.idle_timeout == 0 {
            return Expiry::Stale;
        }
        let deadline = f.last_seen.saturating_add(self.idle_timeout);
        if deadline > now {
            return Expiry::Later(deadline);
        }
        self.flows[conn as usize].alive = false;
        self.expired += 1;
        Expiry::Expired
    }

    /// Forgets `conn`'s flow now (a router restart, or the connection's end).
    pub fn forget(&mut self, conn: u32) {
        let f = &mut self.flows[conn as usize];
        f.alive = false;
        f.gen = f.gen.wrapping_add(1);
    }

    /// Changes the idle timeout live. Returns, for every live flow, its new timer (time, generation); the old
    /// timers are stale. A flow already idle past the new timeout expires at `now`.
    pub fn set_idle_timeout(&mut self, idle_timeout: SimDuration, now: SimTime) -> Vec<(u32, SimTime, u32)> {
        self.idle_timeout = idle_timeout;
        let mut out = Vec::new();
        for conn in 0..self.flows.len() as u32 {
            self.flows[conn as usize].gen = self.flows[conn as usize].gen.wrapping_add(1);
            if let Some((at, gen)) = self.deadline(conn) {
                out.push((conn, at.max(now), gen));
            }
        }
        out
    }

    /// Changes what happens to packets of forgotten flows.
    pub fn set_on_expiry(&mut self, on_expiry: OnExpiry) {
        self.on_expiry = on_expiry;
    }

    /// The current policy for packets of forgotten flows.
    pub fn on_expiry(&self) -> OnExpiry {
        self.on_expiry
    }

    /// The idle timeout, µs (0: never).
    pub fn idle_timeout(&self) -> SimDuration {
        self.idle_timeout
    }

    /// One flow.
    pub fn flow(&self, conn: u32) -> Flow {
        self.flows[conn as usize]
    }

    /// Flows forgotten by the timeout so far.
    pub fn expired(&self) -> u64 {
        self.expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    #[test]
    fn a_flow_expires_after_its_idle_timeout_and_traffic_pushes_the_deadline() {
        let mut t = FlowTable::new(1, 3600 * SECOND, OnExpiry::Drop);
        let (at, gen) = t.open(0, 0).unwrap();
        assert_eq!(at, 3600 * SECOND);
        assert_eq!(t.forward(0, 100 * SECOND), Forward::Pass);
        assert_eq!(t.on_timer(0, gen, at), Expiry::Later(3700 * SECOND));
        assert_eq!(t.on_timer(0, gen, 3700 * SECOND), Expiry::Expired);
        assert_eq!(t.forward(0, 3701 * SECOND), Forward::Drop);
        t.set_on_expiry(OnExpiry::Rst);
        assert_eq!(t.forward(0, 3702 * SECOND), Forward::Reset);
        assert_eq!(t.on_timer(0, gen.wrapping_sub(1), 0), Expiry::Stale);
    }

    #[test]
    fn lowering_the_timeout_live_makes_old_timers_stale() {
        let mut t = FlowTable::new(2, 3600 * SECOND, OnExpiry::Drop);
        let (_, old) = t.open(0, 0).unwrap();
        let timers = t.set_idle_timeout(600 * SECOND, 1000 * SECOND);
        assert_eq!(timers, vec![(0, 1000 * SECOND, old.wrapping_add(1))]);
        assert_eq!(t.on_timer(0, old, 3600 * SECOND), Expiry::Stale);
        assert_eq!(t.on_timer(0, old.wrapping_add(1), 1000 * SECOND), Expiry::Expired);
        assert!(FlowTable::new(1, 0, OnExpiry::Drop).open(0, 0).is_none(), "0 means never");
    }
}
