//! WANObjectCache's `getWithSetCallback` over one section-wide store (memcached; in EventSimulator one shared
//! `HashBagOStuff`), as `mw-loadmonitor` reads each server's state through it.
//!
//! Source: `includes/libs/objectcache/wancache/WANObjectCache.php` (MediaWiki 1.42–1.43): `fetchOrRegenerate`,
//! `set`, `unwrap`, `isAcceptablyFreshValue`, `isLotteryRefreshDue`, `worthRefreshExpiring`,
//! `worthRefreshPopular`, `isExtremelyNewValue`, `claimStampedeLock`/`yieldStampedeLock`; and EventSimulator's
//! `ClientHost` (every host has its own `WANObjectCache` over the one shared `HashBagOStuff`, all on the simulated
//! clock through `setMockTime`, no `asyncHandler`, so every refresh is synchronous). One lookup, in order:
//!
//! 1. The stored value is read if physically present (stored for `ttl + staleTTL`). Its remaining logical TTL is
//!    `curTTL = max(ttl − age, 0)` (`unwrap`).
//! 2. If `curTTL > 0` it is returned unless the refresh lottery fires: `worthRefreshExpiring` (once `curTTL` is
//!    under `lowTTL` = min(LOW_TTL 30 s, ttl, logical TTL), chance `1 − curTTL/lowTTL` per lookup) or
//!    `worthRefreshPopular` (once older than AGE_NEW 60 s, chance ramping over RAMPUP_TTL 30 s to
//!    1/(HOT_TTR 900 − 60 − 15) per lookup).
//! 3. A value younger than a uniform 50–100 ms is returned anyway (`isExtremelyNewValue`).
//! 4. The stampede mutex is used when the value is present with `curTTL = 0` and `lockTSE ≥ 0`, or absent with a
//!    `busyValue`. Without the mutex the caller regenerates (several callers may at once). With it, the caller that
//!    wins regenerates; the others get the stale value, else the busy value.
//! 5. The regenerated value is stored (as of the store time, after the callback) unless the caller needed the
//!    mutex and did not get it; the mutex is then released. A regeneration that takes long (a probe timing out)
//!    is stored with its full TTL: its walltime (1 s) is under MAX_READ_LAG (7 s), so no mitigation applies.
//!
//! Not modelled: tombstones, check keys and interim values (LoadMonitor never purges), the set cool-off (values
//! are tiny), process caches (`pcTTL` unused).

use crate::rng::Rng;
use crate::time::{SimDuration, SimTime, MILLISECOND, SECOND};

/// WANObjectCache::LOW_TTL: the default preemptive-refresh window.
pub const LOW_TTL: SimDuration = 30 * SECOND;
/// WANObjectCache::AGE_NEW: a value younger than this is never refreshed for popularity.
pub const AGE_NEW: SimDuration = 60 * SECOND;
/// WANObjectCache::HOT_TTR: a popular key is refreshed about this often.
pub const HOT_TTR: SimDuration = 900 * SECOND;
/// WANObjectCache::RAMPUP_TTL: the popularity refresh chance ramps up over this.
pub const RAMPUP_TTL: SimDuration = 30 * SECOND;
/// WANObjectCache::LOCK_TTL: the stampede mutex expires after this if never released.
pub const LOCK_TTL: SimDuration = 10 * SECOND;
/// WANObjectCache::RECENT_SET_LOW_MS and RECENT_SET_HIGH_MS: a value this new is always reused.
pub const RECENT_SET_MS: (u64, u64) = (50, 100);

/// The options one `getWithSetCallback` call passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WanOptions {
    /// The logical TTL (`$ttl`), µs.
    pub ttl: SimDuration,
    /// `lockTSE`: seconds after expiry during which one caller regenerates and the rest use the stale value;
    /// `None` is TSE_NONE (−1).
    pub lock_tse: Option<SimDuration>,
    /// `staleTTL`: how long past its TTL the value is still stored, µs.
    pub stale_ttl: SimDuration,
    /// Whether a `busyValue` is given (the caller then supplies it).
    pub busy_value: bool,
}

impl WanOptions {
    /// `$lowTTL = $opts['lowTTL'] ?? min(self::LOW_TTL, $ttl)`.
    fn low_ttl(&self) -> SimDuration {
        LOW_TTL.min(self.ttl)
    }
}

/// A stored value with its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct WanValue<S> {
    /// The cached state.
    pub state: S,
    /// When it was stored (FLD_TIME), µs.
    pub as_of: SimTime,
    /// Its logical TTL (FLD_TTL), µs.
    pub ttl: SimDuration,
    /// When the store drops it (`ttl + staleTTL` after `as_of`), µs.
    pub expires: SimTime,
}

/// What one lookup tells the caller to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Fetch<S> {
    /// Use this value (fresh, or new enough).
    Hit(WanValue<S>),
    /// Another caller holds the mutex: use this stale value.
    Stale(WanValue<S>),
    /// Another caller holds the mutex and there is no value: use the busy value.
    Busy,
    /// Regenerate, starting from `previous` (the stored value, even if expired); `mutex` tells whether this
    /// caller took the stampede mutex (and must release it with [`WanCache::release`]).
    Regenerate {
        /// The stored value's state, if any (`$oldValue` of the callback).
        previous: Option<S>,
        /// This caller holds the key's mutex.
        mutex: bool,
        /// The store must happen only if this caller holds the mutex.
        needs_mutex: bool,
    },
}

#[derive(Clone, Debug)]
struct Key<S> {
    value: Option<WanValue<S>>,
    /// The mutex (a `cache->add` of the sister key with LOCK_TTL) is held until this time; 0 when free.
    mutex_until: SimTime,
}

/// The section-wide store: one key per server.
#[derive(Debug)]
pub struct WanCache<S> {
    keys: Vec<Key<S>>,
}

impl<S: Clone> WanCache<S> {
    /// An empty store for `servers` keys.
    pub fn new(servers: usize) -> WanCache<S> {
        WanCache { keys: vec![Key { value: None, mutex_until: 0 }; servers] }
    }

    /// The stored value of `key` if still physically present.
    pub fn peek(&self, now: SimTime, key: usize) -> Option<WanValue<S>> {
        self.keys[key].value.clone().filter(|v| now < v.expires)
    }

    /// One `getWithSetCallback` lookup of `key` at `now` (steps 1–4 of the module docs).
    pub fn fetch(&mut self, now: SimTime, key: usize, opts: &WanOptions, rng: &mut Rng) -> Fetch<S> {
        let current = self.peek(now, key);
        let mut cur_ttl_zero = false;
        if let Some(v) = &current {
            let age = now.saturating_sub(v.as_of);
            let cur_ttl = v.ttl.saturating_sub(age);
            if cur_ttl > 0 && !lottery_refresh_due(v, cur_ttl, age, opts, rng) {
                return Fetch::Hit(v.clone());
            }
            let recent = MILLISECOND * (RECENT_SET_MS.0 + rng.below(RECENT_SET_MS.1 - RECENT_SET_MS.0 + 1));
            if age < recent {
                return Fetch::Hit(v.clone());
            }
            cur_ttl_zero = cur_ttl == 0;
        }
        let needs_mutex =
            (current.is_some() && cur_ttl_zero && opts.lock_tse.is_some()) || (current.is_none() && opts.busy_value);
        let mutex = needs_mutex && self.claim(now, key);
        if needs_mutex && !mutex {
            return current.map_or(Fetch::Busy, Fetch::Stale);
        }
        Fetch::Regenerate { previous: current.map(|v| v.state), mutex, needs_mutex }
    }

    /// `claimStampedeLock`: `add` of the mutex key with LOCK_TTL.
    fn claim(&mut self, now: SimTime, key: usize) -> bool {
        let k = &mut self.keys[key];
        if now < k.mutex_until {
            return false;
        }
        k.mutex_until = now.saturating_add(LOCK_TTL);
        true
    }

    /// Stores a regenerated value as of `now` (`set`; the merge keeps the newest).
    pub fn store(&mut self, now: SimTime, key: usize, state: S, opts: &WanOptions) {
        let expires = now.saturating_add(opts.ttl).saturating_add(opts.stale_ttl);
        self.keys[key].value = Some(WanValue { state, as_of: now, ttl: opts.ttl, expires });
    }

    /// `yieldStampedeLock`.
    pub fn release(&mut self, key: usize) {
        self.keys[key].mutex_until = 0;
    }
}

/// `isLotteryRefreshDue`: `worthRefreshExpiring || worthRefreshPopular`.
fn lottery_refresh_due<S>(
    v: &WanValue<S>,
    cur_ttl: SimDuration,
    age: SimDuration,
    opts: &WanOptions,
    rng: &mut Rng,
) -> bool {
    let low = opts.low_ttl().min(v.ttl);
    let expiring = low > 0 && cur_ttl < low && rng.chance(1.0 - cur_ttl as f64 / low as f64);
    expiring || popular_refresh_due(age, rng)
}

/// `worthRefreshPopular` with the default AGE_NEW and HOT_TTR.
fn popular_refresh_due(age: SimDuration, rng: &mut Rng) -> bool {
    let Some(time_old) = age.checked_sub(AGE_NEW).filter(|&t| t > 0) else { return false };
    let window_s = ((HOT_TTR - AGE_NEW) as f64 / 1e6 - RAMPUP_TTL as f64 / 2e6).max(1.0);
    let ramp = if time_old <= RAMPUP_TTL { time_old as f64 / RAMPUP_TTL as f64 } else { 1.0 };
    rng.chance(ramp / window_s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    /// The merged LoadMonitor's call: ttl STATE_PRESERVE_TTL = 60 s, lockTSE 30 s, no staleTTL, no busyValue.
    const MERGED: WanOptions =
        WanOptions { ttl: 60 * SECOND, lock_tse: Some(30 * SECOND), stale_ttl: 0, busy_value: false };

    #[test]
    fn a_miss_regenerates_without_the_mutex_so_every_caller_regenerates() {
        let mut wan: WanCache<u32> = WanCache::new(1);
        let mut rng = Rng::new(1, Stream::Balancing);
        let first = wan.fetch(0, 0, &MERGED, &mut rng);
        assert_eq!(first, Fetch::Regenerate { previous: None, mutex: false, needs_mutex: false });
        // No busyValue: a second caller during the first's regeneration regenerates too (a stampede).
        assert_eq!(wan.fetch(SECOND / 2, 0, &MERGED, &mut rng), first);
    }

    #[test]
    fn a_fresh_value_is_a_hit_until_the_low_ttl_window() {
        let mut wan: WanCache<u32> = WanCache::new(1);
        let mut rng = Rng::new(2, Stream::Balancing);
        wan.store(0, 0, 7, &MERGED);
        // curTTL ≥ lowTTL (30 s) until age 30 s: never refreshed.
        for t in [1, 10, 29] {
            assert!(matches!(wan.fetch(t * SECOND, 0, &MERGED, &mut rng), Fetch::Hit(v) if v.state == 7));
        }
    }

    #[test]
    fn preemptive_refresh_chance_is_one_minus_cur_ttl_over_low_ttl() {
        // At age 45 s, curTTL = 15 s, lowTTL = 30 s: chance 1/2 per lookup. 20 000 lookups: σ = 0.0035.
        let mut wan: WanCache<u32> = WanCache::new(1);
        let seed = 3;
        let mut rng = Rng::new(seed, Stream::Balancing);
        wan.store(0, 0, 7, &MERGED);
        let n = 20_000;
        let refreshes = (0..n)
            .filter(|_| matches!(wan.fetch(45 * SECOND, 0, &MERGED, &mut rng), Fetch::Regenerate { mutex: false, .. }))
            .count();
        let share = refreshes as f64 / n as f64;
        assert!((share - 0.5).abs() < 0.02, "share {share}; seed={seed}");
    }

    #[test]
    fn an_expired_value_within_lock_tse_goes_to_one_caller_and_the_rest_get_it_stale() {
        let opts = WanOptions { ttl: SECOND, lock_tse: Some(60 * SECOND), stale_ttl: 60 * SECOND, busy_value: true };
        let mut wan: WanCache<u32> = WanCache::new(1);
        let mut rng = Rng::new(4, Stream::Balancing);
        wan.store(0, 0, 7, &opts);
        let t = 2 * SECOND;
        assert_eq!(
            wan.fetch(t, 0, &opts, &mut rng),
            Fetch::Regenerate { previous: Some(7), mutex: true, needs_mutex: true }
        );
        assert!(matches!(wan.fetch(t, 0, &opts, &mut rng), Fetch::Stale(v) if v.state == 7));
        // The mutex expires after LOCK_TTL even if never released; releasing frees it at once.
        assert!(matches!(wan.fetch(t + LOCK_TTL, 0, &opts, &mut rng), Fetch::Regenerate { mutex: true, .. }));
        wan.release(0);
        wan.store(t + LOCK_TTL, 0, 8, &opts);
        assert!(matches!(wan.fetch(t + LOCK_TTL + MILLISECOND, 0, &opts, &mut rng), Fetch::Hit(v) if v.state == 8));
    }

    #[test]
    fn without_a_value_the_busy_value_is_served_while_one_caller_regenerates() {
        let opts = WanOptions { ttl: SECOND, lock_tse: Some(60 * SECOND), stale_ttl: 0, busy_value: true };
        let mut wan: WanCache<u32> = WanCache::new(1);
        let mut rng = Rng::new(5, Stream::Balancing);
        assert!(matches!(wan.fetch(0, 0, &opts, &mut rng), Fetch::Regenerate { mutex: true, .. }));
        assert_eq!(wan.fetch(1, 0, &opts, &mut rng), Fetch::Busy);
    }

    #[test]
    fn a_value_is_dropped_after_ttl_plus_stale_ttl_and_a_just_stored_one_is_reused() {
        let mut wan: WanCache<u32> = WanCache::new(1);
        let mut rng = Rng::new(6, Stream::Balancing);
        wan.store(0, 0, 7, &MERGED);
        assert!(wan.peek(60 * SECOND - 1, 0).is_some());
        assert!(wan.peek(60 * SECOND, 0).is_none());
        // A 1 s TTL value 40 ms old is expired by the lottery's standards only after 50 ms at the least.
        let short = WanOptions { ttl: 20 * MILLISECOND, lock_tse: None, stale_ttl: SECOND, busy_value: false };
        wan.store(0, 0, 9, &short);
        assert!(matches!(wan.fetch(40 * MILLISECOND, 0, &short, &mut rng), Fetch::Hit(v) if v.state == 9));
        assert!(matches!(wan.fetch(101 * MILLISECOND, 0, &short, &mut rng), Fetch::Regenerate { .. }));
    }

    #[test]
    fn popularity_refresh_starts_after_age_new_and_ramps_up() {
        let mut rng = Rng::new(7, Stream::Balancing);
        assert!(!(0..10_000).any(|_| popular_refresh_due(AGE_NEW, &mut rng)));
        // Fully ramped: chance 1/(900 − 60 − 15) = 1/825 per lookup. 825 000 lookups: mean 1000, σ ≈ 32.
        let n = 825_000;
        let hits = (0..n).filter(|_| popular_refresh_due(AGE_NEW + RAMPUP_TTL + SECOND, &mut rng)).count();
        assert!((hits as f64 - 1000.0).abs() < 130.0, "{hits}; seed=7");
    }
}
