//! WANObjectCache's `getWithSetCallback` over one section-wide store (memcached; in EventSimulator one shared
//! `HashBagOStuff`), as `mw-loadmonitor` reads each server's state through it.
//!
//! Source: `WANObjectCache.php` — `fetchOrRegenerate`, `set`, `unwrap`, `isAcceptablyFreshValue`,
//! `isLotteryRefreshDue`, `worthRefreshExpiring`, `worthRefreshPopular`, `isExtremelyNewValue`,
//! `claimStampedeLock`/`yieldStampedeLock` — read in the public copies of repository `wbstack/mediawiki`
//! (`dist/includes/libs/objectcache/WANObjectCache.php` at commits `e2914900b` (MediaWiki 1.43.0) and `c60a8343e`
//! (1.43.3); `dist/includes/libs/objectcache/wancache/WANObjectCache.php` at `4d8f488b0` (1.39.5)); and
//! EventSimulator's `ClientHost` (every host has its own `WANObjectCache` over the one shared `HashBagOStuff`, all
//! on the simulated clock through `setMockTime`, no `asyncHandler`, so every refresh is synchronous). One lookup,
//! in order:
//!
//! 1. The stored value is read if physically present (stored for `ttl + staleTTL`). Its remaining logical TTL is
//!    `curTTL = max(ttl − age, 0)` (`unwrap`).
//! 2. If `curTTL > 0` it is returned unless the refresh lottery fires: `worthRefreshExpiring` ([`RefreshRule`])
//!    or `worthRefreshPopular` (once older than AGE_NEW 60 s, chance ramping over RAMPUP_TTL 30 s to
//!    1/(HOT_TTR 900 − 60 − 15) per lookup).
//! 3. A value younger than a uniform 50–100 ms is returned anyway (`isExtremelyNewValue`).
//! 4. The stampede mutex is used when the value is present with `curTTL = 0` and `lockTSE ≥ 0`, or absent with a
//!    `busyValue`. Without the mutex the caller regenerates (several callers may at once). With it, the caller that
//!    wins regenerates; the others get the stale value, else the busy value.
//! 5. The regenerated value is stored (as of the store time, after the callback) unless the caller needed the
//!    mutex and did not get it; the mutex is then released. A regeneration that takes long (a probe timing out)
//!    is stored with its full TTL: its walltime (1 s) is under MAX_READ_LAG (7 s), so no mitigation applies.
//!
//! ## The preemptive refresh rule: two versions
//! `worthRefreshExpiring($curTTL, $logicalTTL, $lowTTL)` with `$lowTTL = $opts['lowTTL'] ?? min(LOW_TTL, $ttl)`
//! and `effectiveLowTTL = min(lowTTL, logicalTTL ?: ∞)` (T264787):
//! - MediaWiki 1.43 ([`RefreshRule::Quartic`], the default): LOW_TTL = 60; with `timeOld = effectiveLowTTL −
//!   curTTL`, false unless `0 < timeOld < effectiveLowTTL`, else true with chance `(timeOld/effectiveLowTTL)⁴`.
//!   For a key stored with TTL ≤ 60 s the window is its whole life and the chance is (age/TTL)⁴.
//! - MediaWiki 1.39 ([`RefreshRule::Linear`]): LOW_TTL = 30; false unless `0 < curTTL < effectiveLowTTL`, else
//!   true with chance `1 − curTTL/effectiveLowTTL`. A 60 s key is never refreshed before it is 30 s old.
//!
//! Which one the incident's run (March 2024) had is not settled by the history reachable here: `wbstack/mediawiki`
//! jumps from 1.39.5 (commit `4d8f488b0`, October 2023: the linear rule) to 1.43.0 (`e2914900b`: the quartic one),
//! with no 1.40–1.42 in between. The `wikimedia/mediawiki` copies the search index reaches by exact string (it
//! searches a file's first 100,000 characters, which hold LOW_TTL but not `worthRefreshExpiring`) all have
//! LOW_TTL = 30, and none is dated; the one whose `worthRefreshExpiring` was read (a copy from about 1.36–1.38)
//! has the linear rule. MediaWiki 1.41.2's release notes skip a flaky `WANObjectCacheTest::testPreemptiveRefresh`
//! on PHP 8.2+ (T353180), which does not date the change either. The quartic rule is the default because it is
//! what the merged LoadMonitor runs with in every release read that has it (1.43.0 to 1.43.9); the linear rule is
//! kept as the option.
//!
//! Not modelled: tombstones, check keys and interim values (LoadMonitor never purges), the set cool-off (values
//! are tiny), process caches (`pcTTL` unused), and the `abs(curTTL) ≤ lockTSE` bound on the mutex (values here
//! leave the store at `ttl + staleTTL`, and the callers' staleTTL is at most their lockTSE in every source call).

use crate::rng::Rng;
use crate::time::{SimDuration, SimTime, MILLISECOND, SECOND};

/// WANObjectCache::LOW_TTL in MediaWiki 1.43: the default preemptive-refresh window.
pub const LOW_TTL_1_43: SimDuration = 60 * SECOND;
/// WANObjectCache::LOW_TTL in MediaWiki 1.39 (and every older stored version).
pub const LOW_TTL_1_39: SimDuration = 30 * SECOND;
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

/// Which version of `worthRefreshExpiring` (and its LOW_TTL) the cache runs; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RefreshRule {
    /// MediaWiki 1.39: LOW_TTL 30 s, chance `1 − curTTL/effectiveLowTTL`.
    Linear,
    /// MediaWiki 1.43: LOW_TTL 60 s, chance `(timeOld/effectiveLowTTL)⁴`, `timeOld = effectiveLowTTL − curTTL`.
    #[default]
    Quartic,
}

impl RefreshRule {
    /// The rules by parameter code: 0 = 1.39's, 1 = 1.43's.
    pub const ALL: [RefreshRule; 2] = [RefreshRule::Linear, RefreshRule::Quartic];

    /// The version's `LOW_TTL`.
    pub fn low_ttl(self) -> SimDuration {
        match self {
            RefreshRule::Linear => LOW_TTL_1_39,
            RefreshRule::Quartic => LOW_TTL_1_43,
        }
    }

    /// `worthRefreshExpiring($curTTL, $logicalTTL, $lowTTL)`: the chance that one lookup refreshes a value with
    /// `cur_ttl` left of its logical TTL `logical_ttl` (0: indefinite), given the call's `low_ttl`.
    pub fn expiring_chance(self, cur_ttl: SimDuration, logical_ttl: SimDuration, low_ttl: SimDuration) -> f64 {
        if low_ttl == 0 {
            return 0.0;
        }
        let effective = if logical_ttl > 0 { low_ttl.min(logical_ttl) } else { low_ttl };
        let Some(time_old) = effective.checked_sub(cur_ttl).filter(|&t| t > 0 && t < effective) else {
            return 0.0;
        };
        let ratio = time_old as f64 / effective as f64;
        match self {
            RefreshRule::Linear => ratio, // 1 − curTTL/effectiveLowTTL
            RefreshRule::Quartic => (ratio * ratio) * (ratio * ratio),
        }
    }
}

/// The options one `getWithSetCallback` call passes, and the cache's refresh rule.
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
    /// The cache's `worthRefreshExpiring` version.
    pub rule: RefreshRule,
}

impl WanOptions {
    /// `$lowTTL = $opts['lowTTL'] ?? min(self::LOW_TTL, $ttl)`.
    pub fn low_ttl(&self) -> SimDuration {
        self.rule.low_ttl().min(self.ttl)
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
    /// Per watcher (a host's read index), the keys stored since it last looked, each once.
    watchers: Vec<Watcher>,
}

/// The keys stored since a watcher last took them: each at most once, so its length is bounded by the keys.
#[derive(Debug)]
struct Watcher {
    keys: Vec<u32>,
    marked: Vec<bool>,
}

impl<S: Clone> WanCache<S> {
    /// An empty store for `servers` keys.
    pub fn new(servers: usize) -> WanCache<S> {
        WanCache { keys: vec![Key { value: None, mutex_until: 0 }; servers], watchers: Vec::new() }
    }

    /// Starts recording the keys stored from now on for a new watcher; returns its id for
    /// [`WanCache::take_stored`]. This is bookkeeping for an index, not part of WANObjectCache.
    pub fn watch(&mut self) -> usize {
        let n = self.keys.len();
        self.watchers.push(Watcher { keys: Vec::new(), marked: vec![false; n] });
        self.watchers.len() - 1
    }

    /// Moves the keys stored since the watcher last looked into `out` (each once, in order of first store).
    pub fn take_stored(&mut self, watcher: usize, out: &mut Vec<u32>) {
        let w = &mut self.watchers[watcher];
        for &k in &w.keys {
            w.marked[k as usize] = false;
        }
        out.append(&mut w.keys);
    }

    /// The stored value of `key` if still physically present.
    pub fn peek(&self, now: SimTime, key: usize) -> Option<WanValue<S>> {
        self.keys[key].value.clone().filter(|v| now < v.expires)
    }

    /// One `getWithSetCallback` lookup of `key` at `now` (steps 1–4 of the module docs).
    pub fn fetch(&mut self, now: SimTime, key: usize, opts: &WanOptions, rng: &mut Rng) -> Fetch<S> {
        if let Some(v) = &self.keys[key].value.as_ref().filter(|v| now < v.expires) {
            let age = now.saturating_sub(v.as_of);
            let cur_ttl = v.ttl.saturating_sub(age);
            if cur_ttl > 0 && !lottery_refresh_due(v, cur_ttl, age, opts, rng) {
                return Fetch::Hit((*v).clone());
            }
        }
        self.fetch_past_lottery(now, key, opts, rng)
    }

    /// The chance that one lookup of `key` at `now` finds its value due by `worthRefreshExpiring`: 0 when the
    /// value is absent or expired. For a value younger than AGE_NEW this is the whole lottery (the popularity
    /// lottery never fires before AGE_NEW), which is what lets `mw-loadmonitor`'s read index draw it by thinning.
    pub fn expiring_chance(&self, now: SimTime, key: usize, opts: &WanOptions) -> f64 {
        let Some(v) = self.keys[key].value.as_ref().filter(|v| now < v.expires) else { return 0.0 };
        let cur_ttl = v.ttl.saturating_sub(now.saturating_sub(v.as_of));
        if cur_ttl == 0 {
            return 0.0;
        }
        opts.rule.expiring_chance(cur_ttl, v.ttl, opts.low_ttl())
    }

    /// The rest of a lookup once the refresh lottery has fired (or the value is expired or absent): steps 3–4
    /// of the module docs. [`WanCache::fetch`] is the lottery followed by this.
    pub fn fetch_past_lottery(&mut self, now: SimTime, key: usize, opts: &WanOptions, rng: &mut Rng) -> Fetch<S> {
        let current = self.peek(now, key);
        let mut cur_ttl_zero = false;
        if let Some(v) = &current {
            let age = now.saturating_sub(v.as_of);
            let cur_ttl = v.ttl.saturating_sub(age);
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
        for w in &mut self.watchers {
            if !w.marked[key] {
                w.marked[key] = true;
                w.keys.push(key as u32);
            }
        }
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
    let chance = opts.rule.expiring_chance(cur_ttl, v.ttl, opts.low_ttl());
    let expiring = chance > 0.0 && rng.chance(chance);
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

    /// The merged LoadMonitor's call: ttl STATE_PRESERVE_TTL = 60 s, lockTSE 30 s, no staleTTL, no busyValue; on
    /// MediaWiki 1.43's cache.
    const MERGED: WanOptions = WanOptions {
        ttl: 60 * SECOND,
        lock_tse: Some(30 * SECOND),
        stale_ttl: 0,
        busy_value: false,
        rule: RefreshRule::Quartic,
    };
    /// The same call on MediaWiki 1.39's cache.
    const MERGED_1_39: WanOptions = WanOptions { rule: RefreshRule::Linear, ..MERGED };

    /// The share of `n` lookups at `age` of a value stored at 0 that regenerate.
    fn refresh_share(opts: &WanOptions, age: SimDuration, n: usize, seed: u64) -> f64 {
        let mut wan: WanCache<u32> = WanCache::new(1);
        let mut rng = Rng::new(seed, Stream::Balancing);
        wan.store(0, 0, 7, opts);
        let refreshes =
            (0..n).filter(|_| matches!(wan.fetch(age, 0, opts, &mut rng), Fetch::Regenerate { .. })).count();
        refreshes as f64 / n as f64
    }

    #[test]
    fn the_1_43_rule_is_time_old_over_the_effective_low_ttl_to_the_fourth() {
        // (curTTL, logicalTTL, lowTTL) in seconds → (timeOld/effectiveLowTTL)⁴, effectiveLowTTL = min(lowTTL,
        // logicalTTL or ∞), timeOld = effectiveLowTTL − curTTL; 0 unless 0 < timeOld < effectiveLowTTL.
        let cases: [(u64, u64, u64, f64); 9] = [
            (15, 60, 60, (45.0f64 / 60.0).powi(4)),  // age 45 of the merged 60 s key: 0.3164
            (50, 60, 60, (10.0f64 / 60.0).powi(4)),  // age 10 of it: 1/1296
            (5, 10, 10, (5.0f64 / 10.0).powi(4)),    // a 10 s key (lowTTL = min(60, 10)) at age 5: 1/16
            (30, 300, 60, (30.0f64 / 60.0).powi(4)), // a 300 s key 30 s before expiry
            (100, 300, 60, 0.0),                     // … 100 s before: timeOld = −40
            (45, 20, 60, 0.0),                       // curTTL above a 20 s logical TTL: timeOld < 0
            (8, 20, 60, (12.0f64 / 20.0).powi(4)),   // effectiveLowTTL = the logical TTL, 20
            (30, 0, 60, (30.0f64 / 60.0).powi(4)),   // logical TTL 0 ("indefinite"): effectiveLowTTL = lowTTL
            (0, 60, 60, 0.0),                        // expired: timeOld = effectiveLowTTL, not below it
        ];
        for (cur, logical, low, expected) in cases {
            let got = RefreshRule::Quartic.expiring_chance(cur * SECOND, logical * SECOND, low * SECOND);
            assert!((got - expected).abs() < 1e-12, "curTTL {cur}, ttl {logical}, lowTTL {low}: {got} ≠ {expected}");
        }
        assert_eq!(RefreshRule::Quartic.expiring_chance(SECOND, 60 * SECOND, 0), 0.0, "lowTTL 0: never");
        assert_eq!(RefreshRule::Quartic.low_ttl(), 60 * SECOND);
    }

    #[test]
    fn the_1_39_rule_is_one_minus_cur_ttl_over_the_effective_low_ttl() {
        let cases: [(u64, u64, u64, f64); 4] = [
            (15, 60, 30, 1.0 - 15.0 / 30.0), // age 45 of a 60 s key: ½
            (31, 60, 30, 0.0),               // age 29: curTTL above lowTTL
            (5, 10, 10, 1.0 - 5.0 / 10.0),   // a 10 s key at age 5: ½ (the 1.43 rule: 1/16)
            (0, 60, 30, 0.0),                // expired
        ];
        for (cur, logical, low, expected) in cases {
            let got = RefreshRule::Linear.expiring_chance(cur * SECOND, logical * SECOND, low * SECOND);
            assert!((got - expected).abs() < 1e-12, "curTTL {cur}, ttl {logical}, lowTTL {low}: {got} ≠ {expected}");
        }
        assert_eq!(RefreshRule::Linear.low_ttl(), 30 * SECOND);
    }

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
    fn on_1_39_a_fresh_value_is_a_hit_until_the_low_ttl_window() {
        let mut wan: WanCache<u32> = WanCache::new(1);
        let mut rng = Rng::new(2, Stream::Balancing);
        wan.store(0, 0, 7, &MERGED_1_39);
        // curTTL ≥ lowTTL (30 s) until age 30 s: never refreshed.
        for t in [1, 10, 29] {
            for _ in 0..1000 {
                assert!(matches!(wan.fetch(t * SECOND, 0, &MERGED_1_39, &mut rng), Fetch::Hit(v) if v.state == 7));
            }
        }
    }

    #[test]
    fn lookups_refresh_with_the_rules_chance() {
        // Age 45 s of the merged 60 s key: 1.43: (45/60)⁴ = 0.3164; 1.39: 1 − 15/30 = ½. 20 000 lookups each:
        // σ ≤ √(¼/20 000) = 0.0035, tolerance 0.02 (over 5σ).
        let quartic = refresh_share(&MERGED, 45 * SECOND, 20_000, 3);
        assert!((quartic - (45.0f64 / 60.0).powi(4)).abs() < 0.02, "share {quartic}; seed=3");
        let linear = refresh_share(&MERGED_1_39, 45 * SECOND, 20_000, 3);
        assert!((linear - (1.0 - 15.0 / 30.0)).abs() < 0.02, "share {linear}; seed=3");
        // Age 10 s: 1.43 refreshes with chance (10/60)⁴ = 1/1296, 1.39 never. 200 000 lookups: mean 154.3,
        // σ = 12.4; tolerance 5σ.
        let n = 200_000;
        let early = refresh_share(&MERGED, 10 * SECOND, n, 4) * n as f64;
        let mean = n as f64 * (10.0f64 / 60.0).powi(4);
        assert!((early - mean).abs() < 5.0 * mean.sqrt(), "{early} refreshes, expected {mean:.1}; seed=4");
        assert_eq!(refresh_share(&MERGED_1_39, 10 * SECOND, 10_000, 4), 0.0);
    }

    #[test]
    fn an_expired_value_within_lock_tse_goes_to_one_caller_and_the_rest_get_it_stale() {
        let opts = WanOptions {
            ttl: SECOND,
            lock_tse: Some(60 * SECOND),
            stale_ttl: 60 * SECOND,
            busy_value: true,
            rule: RefreshRule::Quartic,
        };
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
        let opts = WanOptions {
            ttl: SECOND,
            lock_tse: Some(60 * SECOND),
            stale_ttl: 0,
            busy_value: true,
            rule: RefreshRule::Quartic,
        };
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
        // A 20 ms TTL value 40 ms old is expired, but a value younger than 50 ms is always reused; at 101 ms
        // (past the 100 ms upper bound) it is regenerated.
        let short = WanOptions {
            ttl: 20 * MILLISECOND,
            lock_tse: None,
            stale_ttl: SECOND,
            busy_value: false,
            rule: RefreshRule::Quartic,
        };
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
