//! `LoadBalancer::getLagTimes` as it is since the LoadMonitor rework: one section-wide WANObjectCache key
//! (`rdbms-lags`) holding every streaming replica's replication lag, which `getRandomNonLagged` filters on.
//!
//! Source: `includes/libs/rdbms/loadbalancer/LoadBalancer.php` (MediaWiki 1.42+): `getLagTimes` calls
//! `getWithSetCallback` with a TTL of `10 + mt_rand(1, 10)` s (drawn on every call) and `lockTSE` 30; its callback
//! opens an untracked gauge connection to each streaming replica in turn and reads `getLag()` (pt-heartbeat),
//! `false` when the connection fails. `getRandomNonLagged` then drops replicas whose lag is `false` or over
//! `max lag` (6 s), and `pickReaderIndex` falls back to every replica when nothing is left (lagged replica mode);
//! the rule is [`super::legacy::lag_filter`], shared with `mw-legacy`.
//!
//! The key's TTL (11–20 s) is under LOW_TTL, so its lowTTL is the TTL itself and every read may refresh it:
//! on MediaWiki 1.43's cache with chance (age/TTL)⁴, so at 7,500 reads/s about every 1.5–2.5 s (1.39's chance,
//! age/TTL, refreshes it about every 0.1 s). Lags come from the pt-heartbeat model. In EventSimulator they would
//! be 0: its `MockDatabase` extends `Database` with the base `ReplicationReporter`, whose `getLag()` returns 0
//! without a query; a replica whose gauge connection fails still gets `false` and is dropped.
//!
//! Where the model simplifies, and why: the callback's connections are probes like LoadMonitor's gauges, sent
//! at once rather than one after another, and a probe this host has out for LoadMonitor's own state serves both
//! (one connection where PHP opens two); the value is stored when the last probe reports. While a regeneration
//! is out, picks use the host's previous lags, or none (PHP's request would wait for them).

use std::cell::RefCell;
use std::rc::Rc;

use super::wan::{Fetch, RefreshRule, WanCache, WanOptions};
use crate::rng::Rng;
use crate::time::{SimTime, SECOND};

/// Every server's lag as `getLagTimes` returns it, by server index: `Some(seconds)`, or `None` for `false`.
/// Servers that are not streaming replicas (the primary) hold `Some(0.0)`.
pub type Lags = Rc<[Option<f64>]>;

/// The cluster key's store, shared by every host of the section.
pub type SharedLags = Rc<RefCell<WanCache<Lags>>>;

/// `lockTSE` of `getLagTimes`.
const LOCK_TSE_S: u64 = 30;

/// `getLagTimes`' `getWithSetCallback` options for a call that drew `ttl_s`, on a cache with `rule`.
fn options(ttl_s: u64, rule: RefreshRule) -> WanOptions {
    WanOptions { ttl: ttl_s * SECOND, lock_tse: Some(LOCK_TSE_S * SECOND), stale_ttl: 0, busy_value: false, rule }
}

/// A regeneration this host started: the probes still out and the lags read so far.
#[derive(Debug)]
struct Regen {
    lags: Vec<Option<f64>>,
    outstanding: Vec<bool>,
    left: usize,
    ttl_s: u64,
    mutex: bool,
    needs_mutex: bool,
}

/// One host's view of the section's lag key.
#[derive(Debug)]
pub struct HostLags {
    wan: SharedLags,
    replicas: Rc<[usize]>,
    servers: usize,
    regen: Option<Regen>,
    last: Option<Lags>,
    rule: RefreshRule,
}

impl HostLags {
    /// Host-side state for the key in `wan` (a cache running `rule`), over `servers` servers of which `replicas`
    /// stream.
    pub fn new(wan: SharedLags, replicas: Rc<[usize]>, servers: usize, rule: RefreshRule) -> HostLags {
        HostLags { wan, replicas, servers, regen: None, last: None, rule }
    }

    /// `getLagTimes` for one pick: the lags to filter with, if any. A due regeneration appends the replicas to
    /// probe to `probes`.
    pub fn lookup(&mut self, now: SimTime, rng: &mut Rng, probes: &mut Vec<usize>) -> Option<Lags> {
        let ttl_s = 10 + 1 + rng.below(10); // 10 + mt_rand(1, 10)
        let fetch = self.wan.borrow_mut().fetch(now, 0, &options(ttl_s, self.rule), rng);
        match fetch {
            Fetch::Hit(v) | Fetch::Stale(v) => self.last = Some(v.state),
            Fetch::Busy => {}
            Fetch::Regenerate { mutex, needs_mutex, .. } => {
                if self.regen.is_none() && !self.replicas.is_empty() {
                    let mut outstanding = vec![false; self.servers];
                    for &r in self.replicas.iter() {
                        outstanding[r] = true;
                    }
                    probes.extend(self.replicas.iter().copied());
                    let lags = vec![Some(0.0); self.servers];
                    let left = self.replicas.len();
                    self.regen = Some(Regen { lags, outstanding, left, ttl_s, mutex, needs_mutex });
                } else if mutex {
                    self.wan.borrow_mut().release(0);
                }
            }
        }
        self.last.clone()
    }

    /// True if a regeneration of this host waits for `server`'s probe.
    pub fn awaits(&self, server: usize) -> bool {
        self.regen.as_ref().is_some_and(|r| r.outstanding[server])
    }

    /// One probe's lag (`None` when it did not connect); the last one stores the value.
    pub fn on_probe(&mut self, now: SimTime, server: usize, lag_s: Option<f64>) {
        let Some(regen) = self.regen.as_mut().filter(|r| r.outstanding[server]) else { return };
        regen.outstanding[server] = false;
        regen.lags[server] = lag_s;
        regen.left -= 1;
        if regen.left > 0 {
            return;
        }
        let Some(regen) = self.regen.take() else { return };
        let lags: Lags = regen.lags.into();
        let mut wan = self.wan.borrow_mut();
        if !regen.needs_mutex || regen.mutex {
            wan.store(now, 0, Rc::clone(&lags), &options(regen.ttl_s, self.rule));
        }
        if regen.mutex {
            wan.release(0);
        }
        self.last = Some(lags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn a_regeneration_probes_every_replica_and_stores_when_the_last_reports() {
        let wan: SharedLags = Rc::new(RefCell::new(WanCache::new(1)));
        let replicas: Rc<[usize]> = vec![1, 2].into();
        let mut a = HostLags::new(Rc::clone(&wan), Rc::clone(&replicas), 3, RefreshRule::Quartic);
        let mut b = HostLags::new(wan, replicas, 3, RefreshRule::Quartic);
        let mut rng = Rng::new(1, Stream::Balancing);
        let mut probes = Vec::new();
        assert_eq!(a.lookup(0, &mut rng, &mut probes), None);
        assert_eq!(probes, vec![1, 2]);
        assert!(a.awaits(1) && a.awaits(2) && !a.awaits(0));
        a.on_probe(SECOND, 1, Some(7.5));
        assert!(wan_is_empty(&b, SECOND));
        a.on_probe(SECOND, 2, None);
        // The value is in the cluster key: another host reads it without probing (40 ms old: under
        // isExtremelyNewValue's 50 ms, so no refresh lottery either).
        probes.clear();
        let lags = b.lookup(SECOND + 40_000, &mut rng, &mut probes).expect("stored");
        assert!(probes.is_empty());
        assert_eq!(&lags[..], &[Some(0.0), Some(7.5), None]);
    }

    fn wan_is_empty(h: &HostLags, now: SimTime) -> bool {
        h.wan.borrow().peek(now, 0).is_none()
    }
}
