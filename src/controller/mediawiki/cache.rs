//! The two-level state cache `mw-legacy` reads its per-server state through: each app host's local cache (APCu,
//! `srvCache`) in front of one section-wide cluster cache (memcached through WANObjectCache, `wanCache`), with one
//! regeneration per key at a time. (`mw-loadmonitor` reads through the fuller models in `srv_cache.rs` and
//! `wan.rs`; moving mw-legacy onto them would change its runs, so it has not been done.)
//!
//! Source: the 1.35 `LoadMonitor::getServerStates` (local logical TTL, then `getWithSetCallback` with `lockTSE`
//! and `busyValue`).
//! The model, in simulated time:
//!
//! 1. A host whose local entry is younger than the local TTL uses it.
//! 2. Otherwise it looks at the cluster entry; if that is younger than the cluster TTL it copies it and uses it.
//! 3. Otherwise, if nobody holds the key's regeneration lock, this host takes it and asks for a probe; the lock is
//!    released when the probe's result comes back, or expires after the lock TTL (a dropped probe must not block
//!    the key for ever). Meanwhile the host uses the newest stale value it can see (local or cluster) while that
//!    is younger than the preserve TTL (the caches' physical TTL); with none, the caller's initial state.
//!
//! Simplifications, and why: a regeneration in PHP runs synchronously inside one web request, which waits for it;
//! here the probe runs asynchronously and the host keeps serving with the stale value, because the engine's probes
//! are real connections that end in an event (`Controller::on_probe`). Cache reads and writes are instantaneous
//! (memcached latency is not modelled). With `shared = false` every host gets its own cluster cache, so every
//! host probes for itself.

use crate::controller::{ControllerSpec, ParamInfo};
use std::cell::RefCell;
use std::rc::Rc;

use crate::time::{SimDuration, SimTime};

/// A cached state and when it was generated (the probe's end), µs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry<S> {
    /// The per-server state.
    pub state: S,
    /// When the state was generated, µs.
    pub as_of: SimTime,
}

impl<S> Entry<S> {
    fn age(&self, now: SimTime) -> SimDuration {
        now.saturating_sub(self.as_of)
    }
}

/// How long cached states stay fresh and usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheTimings {
    /// The cluster entry is copied instead of regenerated while younger than this, µs.
    pub cluster_ttl: SimDuration,
    /// Stale values are still used, and averaged into the next state, while younger than this, µs.
    pub preserve_ttl: SimDuration,
    /// A regeneration lock expires after this even if no result came back, µs.
    pub lock_ttl: SimDuration,
}

#[derive(Clone, Copy, Debug)]
struct Lock {
    host: usize,
    until: SimTime,
}

/// The section-wide cache: one entry and one regeneration lock per server.
#[derive(Debug)]
pub struct ClusterCache<S> {
    entries: Vec<Option<Entry<S>>>,
    locks: Vec<Option<Lock>>,
    /// The servers whose entry was stored, in order, numbered from `log_base`: what a host that indexes its
    /// lookups reads to learn which keys changed since its last pick. Cleared when it grows past a few times the
    /// servers; a host whose place in it was cleared away looks at every key again.
    log: Vec<u32>,
    log_base: u64,
}

impl<S: Copy> ClusterCache<S> {
    /// An empty cache for `servers` servers, behind a shared handle.
    pub fn shared(servers: usize) -> Rc<RefCell<ClusterCache<S>>> {
        Rc::new(RefCell::new(ClusterCache {
            entries: vec![None; servers],
            locks: vec![None; servers],
            log: Vec::new(),
            log_base: 0,
        }))
    }

    /// The cluster cache each of `hosts` hosts reads: one shared by all when the spec's `shared_cache` is on
    /// (memcached), else one per host (every host probes for itself).
    pub fn for_hosts(spec: &ControllerSpec, servers: usize, hosts: usize) -> Vec<Rc<RefCell<ClusterCache<S>>>> {
        let section = ClusterCache::shared(servers);
        let shared = spec.get(SHARED_CACHE_PARAM.key) >= 0.5;
        (0..hosts).map(|_| if shared { Rc::clone(&section) } else { ClusterCache::shared(servers) }).collect()
    }
}

impl CacheTimings {
    /// The timings a cache-backed controller reads from its spec; the cluster TTL is its own parameter.
    pub fn from_spec(spec: &ControllerSpec, cluster_ttl: SimDuration) -> CacheTimings {
        CacheTimings {
            cluster_ttl,
            preserve_ttl: crate::time::from_secs_f64(spec.get(PRESERVE_TTL_PARAM.key)),
            lock_ttl: crate::time::from_secs_f64(spec.get(REGEN_LOCK_PARAM.key)),
        }
    }
}

/// Where a lookup's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The host's own local entry, still fresh.
    Local,
    /// A fresh cluster entry, now copied to the local cache.
    Cluster,
    /// A stale value (within the preserve TTL) while a regeneration is due or under way.
    Stale,
    /// Nothing usable: the caller starts from its initial state.
    Initial,
}

/// The result of one lookup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lookup<S> {
    /// The value to use, or `None` for the caller's initial state.
    pub entry: Option<Entry<S>>,
    /// Where it came from.
    pub source: Source,
    /// True when this host just took the regeneration lock and must probe the server.
    pub regenerate: bool,
}

/// One host's side of the cache: its local entries and a handle to the cluster cache.
#[derive(Debug)]
pub struct HostCache<S> {
    host: usize,
    local: Vec<Option<Entry<S>>>,
    cluster: Rc<RefCell<ClusterCache<S>>>,
    timings: CacheTimings,
}

impl<S: Copy> HostCache<S> {
    /// Host `host`'s cache in front of `cluster` (sized for the same servers).
    pub fn new(host: usize, cluster: Rc<RefCell<ClusterCache<S>>>, timings: CacheTimings) -> HostCache<S> {
        let servers = cluster.borrow().entries.len();
        HostCache { host, local: vec![None; servers], cluster, timings }
    }

    /// The state this host uses for `server` at `now`, taking the regeneration lock when a probe is due and free.
    /// `local_ttl` is how long the local entry counts as fresh (a parameter, since MediaWiki 1.35 draws it at
    /// random on every call).
    pub fn lookup(&mut self, now: SimTime, server: usize, local_ttl: SimDuration) -> Lookup<S> {
        let local = self.local[server];
        if let Some(e) = local.filter(|e| e.age(now) < local_ttl) {
            return Lookup { entry: Some(e), source: Source::Local, regenerate: false };
        }
        let mut cluster = self.cluster.borrow_mut();
        let shared = cluster.entries[server];
        if let Some(e) = shared.filter(|e| e.age(now) < self.timings.cluster_ttl) {
            self.local[server] = Some(e);
            return Lookup { entry: Some(e), source: Source::Cluster, regenerate: false };
        }
        let locked = cluster.locks[server].is_some_and(|lock| now < lock.until);
        if !locked {
            cluster.locks[server] = Some(Lock { host: self.host, until: now.saturating_add(self.timings.lock_ttl) });
        }
        let entry = newest(local, shared).filter(|e| e.age(now) < self.timings.preserve_ttl);
        let source = if entry.is_some() { Source::Stale } else { Source::Initial };
        Lookup { entry, source, regenerate: !locked }
    }

    /// The state a regeneration averages the new probe into: the cluster's value, else the local one (as in
    /// `getStateFromWanCache`: `$wanPrevState ?: $srvPrevState`), if younger than the preserve TTL.
    pub fn previous(&self, now: SimTime, server: usize) -> Option<S> {
        let cluster = self.cluster.borrow();
        let fresh_enough = |e: &Entry<S>| e.age(now) < self.timings.preserve_ttl;
        cluster.entries[server].filter(fresh_enough).or(self.local[server].filter(fresh_enough)).map(|e| e.state)
    }

    /// Stores a regenerated state (as of `now`) in both levels, and releases the key's lock if this host holds it.
    /// An older result arriving late never overwrites a newer cluster entry.
    pub fn store(&mut self, now: SimTime, server: usize, state: S) {
        let entry = Entry { state, as_of: now };
        self.local[server] = Some(entry);
        let mut cluster = self.cluster.borrow_mut();
        if cluster.entries[server].is_none_or(|e| e.as_of <= now) {
            cluster.entries[server] = Some(entry);
        }
        if cluster.log.len() >= 4 * cluster.entries.len() + 64 {
            cluster.log_base += cluster.log.len() as u64;
            cluster.log.clear();
        }
        cluster.log.push(server as u32);
        if cluster.locks[server].is_some_and(|lock| lock.host == self.host) {
            cluster.locks[server] = None;
        }
    }
}

impl<S: Copy + PartialEq> HostCache<S> {
    /// When a lookup of `server` stops being a no-op: `Some(t)` if, until `t`, every lookup returns the same
    /// entry and changes nothing whatever its local TTL (the local copy is the cluster's entry, which is fresh),
    /// unless another store changes the cluster entry first; `None` if a lookup now might do something.
    pub fn settled_until(&self, now: SimTime, server: usize) -> Option<SimTime> {
        let cluster = self.cluster.borrow();
        let local = self.local[server]?;
        let until = local.as_of.saturating_add(self.timings.cluster_ttl);
        (cluster.entries[server] == Some(local) && now < until).then_some(until)
    }

    /// Calls `changed` with every server stored to since `cursor` (a place in the cluster's store log), or
    /// returns false if that place was cleared away (then any key may have changed); moves `cursor` to the end.
    pub fn stores_since(&self, cursor: &mut u64, mut changed: impl FnMut(usize)) -> bool {
        let cluster = self.cluster.borrow();
        let end = cluster.log_base + cluster.log.len() as u64;
        let complete = *cursor >= cluster.log_base;
        if complete {
            cluster.log[(*cursor - cluster.log_base) as usize..].iter().for_each(|&s| changed(s as usize));
        }
        *cursor = end;
        complete
    }
}

fn newest<S: Copy>(a: Option<Entry<S>>, b: Option<Entry<S>>) -> Option<Entry<S>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.as_of > x.as_of { y } else { x }),
        (x, y) => x.or(y),
    }
}

/// The `preserve_ttl_s` parameter, shared by every controller that reads state through this cache.
pub const PRESERVE_TTL_PARAM: ParamInfo = ParamInfo {
    key: "preserve_ttl_s",
    label: "How long stale states are kept",
    unit: "s",
    default: 60.0,
    min: 0.001,
    max: 86_400.0,
    choices: &[],
    help: "stale states are still used, and averaged into the next, until this old (STATE_PRESERVE_TTL = 60)",
};

/// The `shared_cache` parameter, shared by every controller that reads state through this cache.
pub const SHARED_CACHE_PARAM: ParamInfo = ParamInfo {
    key: "shared_cache",
    label: "Hosts share one cache",
    unit: "1=on 0=off",
    default: 1.0,
    min: 0.0,
    max: 1.0,
    choices: &[(1.0, "one shared cache for all app servers"), (0.0, "each app server probes for itself")],
    help: "1: hosts share one cluster cache (memcached), one probe per server per TTL; 0: every host probes itself",
};

/// The `regen_lock_s` parameter, shared by every controller that reads state through this cache.
pub const REGEN_LOCK_PARAM: ParamInfo = ParamInfo {
    key: "regen_lock_s",
    label: "Regeneration lock expiry",
    unit: "s",
    default: 10.0,
    min: 0.001,
    max: 3600.0,
    choices: &[],
    help: "a regeneration lock expires after this if its probe never reports (BagOStuff lock TTL 10 s)",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    /// Test timings: fresh for 10 s, usable for 60 s, locks expire after 10 s.
    const TIMINGS: CacheTimings =
        CacheTimings { cluster_ttl: 10 * SECOND, preserve_ttl: 60 * SECOND, lock_ttl: 10 * SECOND };
    const TTL: SimDuration = 10 * SECOND;

    fn two_hosts() -> (HostCache<u32>, HostCache<u32>) {
        let cluster = ClusterCache::shared(2);
        (HostCache::new(0, cluster.clone(), TIMINGS), HostCache::new(1, cluster, TIMINGS))
    }

    #[test]
    fn an_empty_cache_regenerates_once_and_the_others_wait_with_the_initial_state() {
        let (mut a, mut b) = two_hosts();
        let first = a.lookup(0, 0, TTL);
        assert_eq!(first, Lookup { entry: None, source: Source::Initial, regenerate: true });
        // Host b sees the key locked: no second probe, no value yet.
        assert_eq!(b.lookup(SECOND / 2, 0, TTL), Lookup { entry: None, source: Source::Initial, regenerate: false });
        // Host a itself does not probe again while its probe is out.
        assert!(!a.lookup(SECOND / 2, 0, TTL).regenerate);
        // The other server's key is independent.
        assert!(b.lookup(SECOND / 2, 1, TTL).regenerate);
    }

    #[test]
    fn fresh_local_then_fresh_cluster_then_stale_with_one_regeneration() {
        let (mut a, mut b) = two_hosts();
        a.lookup(0, 0, TTL);
        a.store(SECOND, 0, 7); // the probe came back at t = 1 s
                               // Host a: fresh local entry until t = 11 s (age < 10 s).
        assert_eq!(a.lookup(10 * SECOND, 0, TTL).source, Source::Local);
        // Host b has no local entry: it copies the fresh cluster entry, then uses it locally.
        let copied = b.lookup(5 * SECOND, 0, TTL);
        assert_eq!((copied.source, copied.entry.map(|e| e.state)), (Source::Cluster, Some(7)));
        assert_eq!(b.lookup(6 * SECOND, 0, TTL).source, Source::Local);
        // At t = 11 s both levels are 10 s old: stale. b takes the lock and probes; a keeps using the stale 7.
        let due = b.lookup(11 * SECOND, 0, TTL);
        assert_eq!((due.source, due.entry.map(|e| e.state), due.regenerate), (Source::Stale, Some(7), true));
        let waiting = a.lookup(11 * SECOND + 1, 0, TTL);
        assert_eq!((waiting.source, waiting.regenerate), (Source::Stale, false));
        // b's result arrives: the cluster is fresh again, and a copies it on its next look.
        b.store(12 * SECOND, 0, 9);
        let after = a.lookup(12 * SECOND + 1, 0, TTL);
        assert_eq!((after.source, after.entry.map(|e| e.state)), (Source::Cluster, Some(9)));
    }

    #[test]
    fn stale_values_are_used_only_within_the_preserve_ttl() {
        let (mut a, _) = two_hosts();
        a.lookup(0, 0, TTL);
        a.store(0, 0, 3);
        // 59.999999 s old: still usable while the regeneration is under way.
        let late = a.lookup(60 * SECOND - 1, 0, TTL);
        assert_eq!((late.source, late.entry.map(|e| e.state), late.regenerate), (Source::Stale, Some(3), true));
        assert_eq!(a.previous(60 * SECOND - 1, 0), Some(3));
        // 60 s old: gone; the caller starts from its initial state, and the EWMA has no previous value.
        let gone = a.lookup(60 * SECOND, 0, TTL);
        assert_eq!(gone.source, Source::Initial);
        assert_eq!(a.previous(60 * SECOND, 0), None);
    }

    #[test]
    fn a_lock_whose_probe_never_reports_expires_after_the_lock_ttl() {
        let (mut a, mut b) = two_hosts();
        assert!(a.lookup(0, 0, TTL).regenerate);
        assert!(!b.lookup(10 * SECOND - 1, 0, TTL).regenerate);
        assert!(b.lookup(10 * SECOND, 0, TTL).regenerate);
        // a's late result is still stored, but does not release b's lock.
        a.store(10 * SECOND + 5, 0, 1);
        assert_eq!(a.previous(10 * SECOND + 5, 0), Some(1));
        assert_eq!(a.cluster.borrow().locks[0].map(|l| l.host), Some(1), "b still holds the lock");
        b.store(11 * SECOND, 0, 2);
        assert!(a.cluster.borrow().locks[0].is_none(), "b's own result releases it");
    }

    #[test]
    fn a_late_older_result_does_not_overwrite_a_newer_cluster_entry() {
        let (mut a, mut b) = two_hosts();
        b.store(5 * SECOND, 0, 50);
        a.store(4 * SECOND, 0, 40);
        assert_eq!(b.previous(6 * SECOND, 0), Some(50));
        // a's own local copy is its own result, but a fresh look at the cluster prefers the newer entry.
        assert_eq!(a.previous(6 * SECOND, 0), Some(50));
    }

    #[test]
    fn unshared_hosts_each_regenerate_for_themselves() {
        let mut a = HostCache::new(0, ClusterCache::<u32>::shared(1), TIMINGS);
        let mut b = HostCache::new(1, ClusterCache::<u32>::shared(1), TIMINGS);
        assert!(a.lookup(0, 0, TTL).regenerate);
        assert!(b.lookup(0, 0, TTL).regenerate);
    }
}
