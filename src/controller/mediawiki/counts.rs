//! The connection metric `conn-p` and `pid` act on: C_i = connections open (or opening) to server i plus
//! connection failures to it in the last `failure_window_s` seconds (Tim Starling, "LoadBalancer connection
//! metric", REFERENCE §2; seed 002: "Treat a connection failure the same as a connection held for a long time.
//! Use WRStats with an APCu backend to store the connection failure count over a sliding time window").
//!
//! Two scopes, a setting:
//! - **host** (the proposal: APCu): the host's own in-flight counts, which the engine hands every pick exactly, and
//!   its own failures. Noisy (a host has about 5 connections open at plain-s1 rates) but immediate.
//! - **section** (shared counters, memcached): every host publishes its own in-flight counts and failures into one
//!   shared aggregate; a host reads a snapshot of the aggregate, refreshed at most every `refresh_s`, and divides
//!   it by the number of hosts. So C_i is always "connections per host", and the gains S and E mean the same in
//!   both scopes; the section average just has about 1/√hosts of the host scope's noise, and is up to
//!   `refresh_s` stale.
//!
//! Simplifications: the proposal's sliding window on open-connection counters ("so that any counter drift is
//! rectified after a few minutes") is not needed, because the engine's in-flight counts cannot drift; each host's
//! published count is re-synchronised to that exact count at every pick and kept current by its own connects and
//! closes in between. Failures are counted in whole-second buckets (WRStats' time buckets), so the window covers
//! between `window − 1` and `window` seconds.

use std::cell::RefCell;
use std::rc::Rc;

use crate::controller::HostView;
use crate::time::{SimDuration, SimTime, SECOND};

/// Longest failure window, seconds; bounds every ring.
pub const MAX_WINDOW_S: u64 = 600;

/// Connection failures per server in a sliding window of whole-second buckets.
///
/// Each server keeps only the seconds in which it saw failures, oldest first, with a running total; expired
/// seconds are dropped as time passes. So memory is an empty deque per server plus one entry per (server, second
/// with failures) inside the window, and a count costs O(1) amortised, whatever the window's length. (A ring of
/// `window` buckets per server per host cost hosts × servers × window × 12 bytes up front: 3 GB for 10 000 hosts,
/// 64 servers and a 600 s window, and O(window) per count.)
#[derive(Clone, Debug)]
pub struct FailureWindow {
    window_s: u64,
    servers: Vec<RefCell<ServerFailures>>,
}

#[derive(Clone, Debug, Default)]
struct ServerFailures {
    /// (second, failures in it), oldest first; every second is within the window of the latest access.
    seconds: std::collections::VecDeque<(u64, u32)>,
    total: u32,
}

impl ServerFailures {
    /// Drops the seconds that have left the window ending at `second`.
    fn expire(&mut self, second: u64, window_s: u64) {
        while let Some(&(s, n)) = self.seconds.front() {
            if s + window_s > second {
                break;
            }
            self.total -= n;
            self.seconds.pop_front();
        }
    }
}

impl FailureWindow {
    /// An empty window of `window_s` seconds (clamped to 1..=[`MAX_WINDOW_S`]) for `servers` servers.
    pub fn new(servers: usize, window_s: u64) -> FailureWindow {
        let window_s = window_s.clamp(1, MAX_WINDOW_S);
        FailureWindow { window_s, servers: vec![RefCell::new(ServerFailures::default()); servers] }
    }

    /// Counts one failure to `server` at `now` (times never go backwards).
    pub fn record(&mut self, now: SimTime, server: usize) {
        let second = now / SECOND;
        let mut f = self.servers[server].borrow_mut();
        f.expire(second, self.window_s);
        match f.seconds.back_mut() {
            Some((s, n)) if *s == second => *n = n.saturating_add(1),
            _ => f.seconds.push_back((second, 1)),
        }
        f.total = f.total.saturating_add(1);
    }

    /// Failures to `server` in the buckets of the last `window_s` seconds up to and including now's.
    pub fn count(&self, now: SimTime, server: usize) -> u32 {
        let mut f = self.servers[server].borrow_mut();
        f.expire(now / SECOND, self.window_s);
        f.total
    }
}

/// The section-wide aggregate hosts share in section scope (the memcached counters).
#[derive(Debug)]
pub struct SectionCounts {
    servers: usize,
    /// Each host's published in-flight count per server (hosts × servers).
    own: Vec<u32>,
    /// Σ over hosts of `own`, per server.
    open: Vec<u64>,
    failures: FailureWindow,
}

impl SectionCounts {
    /// Empty counters for `hosts` × `servers`, behind a shared handle.
    pub fn shared(hosts: usize, servers: usize, window_s: u64) -> Rc<RefCell<SectionCounts>> {
        Rc::new(RefCell::new(SectionCounts {
            servers,
            own: vec![0; hosts * servers],
            open: vec![0; servers],
            failures: FailureWindow::new(servers, window_s),
        }))
    }

    fn set_own(&mut self, host: usize, server: usize, count: u32) {
        let slot = &mut self.own[host * self.servers + server];
        self.open[server] = self.open[server] - *slot as u64 + count as u64;
        *slot = count;
    }

    fn add_own(&mut self, host: usize, server: usize, delta: i32) {
        let current = self.own[host * self.servers + server];
        self.set_own(host, server, current.saturating_add_signed(delta));
    }
}

/// Where a host's counts come from.
#[derive(Debug)]
enum Scope {
    /// Its own in-flight counts and its own failure window.
    Host { failures: FailureWindow },
    /// The shared aggregate, read through a snapshot refreshed at most every `refresh`.
    Section {
        shared: Rc<RefCell<SectionCounts>>,
        refresh: SimDuration,
        /// Per server: (open + failures)/hosts, and open (section total), as of `taken_at`.
        per_host: Vec<f64>,
        open_total: Vec<f64>,
        taken_at: Option<SimTime>,
    },
}

/// One host's connection metric.
#[derive(Debug)]
pub struct ConnCounts {
    host: usize,
    hosts: usize,
    scope: Scope,
}

impl ConnCounts {
    /// Host scope: this host's own counts, failures over `window_s` seconds.
    pub fn host_scope(host: usize, hosts: usize, servers: usize, window_s: u64) -> ConnCounts {
        ConnCounts { host, hosts, scope: Scope::Host { failures: FailureWindow::new(servers, window_s) } }
    }

    /// Section scope: the shared aggregate, read through a snapshot at most `refresh` old.
    pub fn section_scope(
        host: usize,
        hosts: usize,
        shared: Rc<RefCell<SectionCounts>>,
        refresh: SimDuration,
    ) -> ConnCounts {
        let servers = shared.borrow().servers;
        ConnCounts {
            host,
            hosts,
            scope: Scope::Section {
                shared,
                refresh,
                per_host: vec![0.0; servers],
                open_total: vec![0.0; servers],
                taken_at: None,
            },
        }
    }

    /// C_i for each candidate, appended to `out`, as the host sees it at a pick: publishes this host's exact
    /// in-flight counts and, in section scope, refreshes the snapshot when it is due.
    pub fn measure(&mut self, view: &HostView<'_>, out: &mut Vec<f64>) {
        if let Scope::Section { shared, refresh, per_host, open_total, taken_at } = &mut self.scope {
            let mut counts = shared.borrow_mut();
            for c in view.candidates {
                counts.set_own(self.host, c.server, c.in_flight);
            }
            if taken_at.is_none_or(|t| view.now.saturating_sub(t) >= *refresh) {
                let hosts = self.hosts.max(1) as f64;
                for s in 0..per_host.len() {
                    let open = counts.open[s] as f64;
                    open_total[s] = open;
                    per_host[s] = (open + counts.failures.count(view.now, s) as f64) / hosts;
                }
                *taken_at = Some(view.now);
            }
        }
        self.measure_now(view, out);
    }

    /// C_i for each candidate without publishing or refreshing anything (for charts).
    pub fn measure_now(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        match &self.scope {
            Scope::Host { failures } => out
                .extend(view.candidates.iter().map(|c| c.in_flight as f64 + failures.count(view.now, c.server) as f64)),
            Scope::Section { per_host, .. } => out.extend(view.candidates.iter().map(|c| per_host[c.server])),
        }
    }

    /// The connect to `server` that a pick just chose starts now.
    pub fn on_pick(&mut self, server: usize) {
        if let Scope::Section { shared, .. } = &self.scope {
            shared.borrow_mut().add_own(self.host, server, 1);
        }
    }

    /// A connect of this host's finished; a failure is counted in the window and its connection is gone.
    pub fn on_connect(&mut self, now: SimTime, server: usize, ok: bool) {
        if ok {
            return;
        }
        match &mut self.scope {
            Scope::Host { failures } => failures.record(now, server),
            Scope::Section { shared, .. } => {
                let mut counts = shared.borrow_mut();
                counts.failures.record(now, server);
                counts.add_own(self.host, server, -1);
            }
        }
    }

    /// An established connection of this host's closed.
    pub fn on_close(&mut self, server: usize) {
        if let Scope::Section { shared, .. } = &self.scope {
            shared.borrow_mut().add_own(self.host, server, -1);
        }
    }

    /// The failure window length in whole seconds in host scope (where C_i is the host's own in-flight count plus
    /// its own failures, which an index can follow change by change); `None` in section scope.
    pub fn host_window_s(&self) -> Option<u64> {
        match &self.scope {
            Scope::Host { failures } => Some(failures.window_s),
            Scope::Section { .. } => None,
        }
    }

    /// The section-wide open connections to `server` in the last snapshot (section scope only).
    pub fn section_open(&self, server: usize) -> Option<f64> {
        match &self.scope {
            Scope::Host { .. } => None,
            Scope::Section { open_total, taken_at, .. } => taken_at.and(open_total.get(server).copied()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Candidate;
    use crate::time::MILLISECOND;

    #[test]
    fn failures_leave_the_window_after_its_length_in_whole_seconds() {
        let mut w = FailureWindow::new(2, 10);
        w.record(500 * MILLISECOND, 0); // second 0
        w.record(9 * SECOND, 0); // second 9
        w.record(9 * SECOND, 1);
        assert_eq!(w.count(9 * SECOND + 1, 0), 2);
        // At second 10 the bucket of second 0 has left the 10-bucket window (seconds 1..=10).
        assert_eq!(w.count(10 * SECOND, 0), 1);
        assert_eq!(w.count(18 * SECOND + 999_999, 0), 1);
        assert_eq!(w.count(19 * SECOND, 0), 0);
        assert_eq!(w.count(19 * SECOND, 1), 0);
        // A later second starts from zero: the old count does not leak into it.
        w.record(20 * SECOND, 0);
        assert_eq!(w.count(20 * SECOND, 0), 1);
        // A whole window of failures, one a second, then silence: the count falls by one a second.
        let mut w = FailureWindow::new(1, 600);
        for s in 0..600 {
            w.record(s * SECOND, 0);
            w.record(s * SECOND + 1, 0);
        }
        assert_eq!(w.count(599 * SECOND, 0), 1200);
        assert_eq!(w.count(600 * SECOND, 0), 1198);
        assert_eq!(w.count(1199 * SECOND, 0), 0);
    }

    #[test]
    fn section_scope_averages_all_hosts_counts_and_refreshes_on_its_period() {
        let shared = SectionCounts::shared(2, 2, 10);
        let mut a = ConnCounts::section_scope(0, 2, shared.clone(), SECOND);
        let mut b = ConnCounts::section_scope(1, 2, shared, SECOND);
        let c = |server, in_flight| Candidate { server, configured_load: 1.0, in_flight };
        fn view(now: SimTime, host: usize, candidates: &[Candidate]) -> HostView<'_> {
            HostView { now, host, hosts: 2, candidates, load_index: None }
        }
        let mut out = Vec::new();
        // Host a publishes 4 and 0 at t = 0 and snapshots them: per host (4 + 0)/2 = 2, 0.
        a.measure(&view(0, 0, &[c(0, 4), c(1, 0)]), &mut out);
        assert_eq!(out, vec![2.0, 0.0]);
        // Host b publishes 2 and 6 and records a failure to server 1: its own first snapshot sees
        // ((4 + 2)/2, (0 + 6 + 1)/2) = (3, 3.5).
        b.on_connect(0, 1, false);
        out.clear();
        b.measure(&view(MILLISECOND, 1, &[c(0, 2), c(1, 6)]), &mut out);
        assert_eq!(out, vec![3.0, 3.5]);
        // Host a's snapshot is less than 1 s old: it still reads (2, 0) though the aggregate moved.
        out.clear();
        a.measure(&view(SECOND - 1, 0, &[c(0, 4), c(1, 0)]), &mut out);
        assert_eq!(out, vec![2.0, 0.0]);
        out.clear();
        a.measure(&view(SECOND, 0, &[c(0, 4), c(1, 0)]), &mut out);
        assert_eq!(out, vec![3.0, 3.5]);
        assert_eq!(a.section_open(1), Some(6.0));
        // Later, b's connect to server 1 fails (its own count 6 → 5, a second failure in the window), and b picks
        // server 0 (2 → 3) and then closes two connections to it (3 → 1). Open: (4 + 1, 0 + 5); failures (0, 2).
        b.on_connect(3 * SECOND / 2, 1, false);
        b.on_pick(0);
        b.on_close(0);
        b.on_close(0);
        out.clear();
        a.measure(&view(2 * SECOND, 0, &[c(0, 4), c(1, 0)]), &mut out);
        assert_eq!(out, vec![(4.0 + 1.0) / 2.0, (5.0 + 2.0) / 2.0]);
    }

    #[test]
    fn host_scope_adds_the_hosts_own_failures_to_its_in_flight_counts() {
        let mut h = ConnCounts::host_scope(0, 139, 2, 10);
        h.on_connect(SECOND, 0, false);
        h.on_connect(SECOND, 0, false);
        h.on_connect(SECOND, 1, true);
        let cands = [Candidate { server: 0, configured_load: 1.0, in_flight: 3 }];
        let mut out = Vec::new();
        h.measure(&HostView { now: 2 * SECOND, host: 0, hosts: 139, candidates: &cands, load_index: None }, &mut out);
        assert_eq!(out, vec![5.0]);
        assert_eq!(h.section_open(0), None);
    }
}
