//! `mw-legacy`: MediaWiki's LoadMonitor as it ran from 2017 to 2021 (cache key VERSION 1), modelled on the
//! MediaWiki 1.35 code.
//!
//! Source: `includes/libs/rdbms/loadmonitor/LoadMonitor.php` as of MediaWiki 1.35 — `scaleLoads`
//! (`(int)ceil($weight * $scale)`), `getServerStates` (local logical TTL `mt_rand(1, POLL_PERIOD_MS)/1e3` with
//! POLL_PERIOD_MS = 500, then `getWithSetCallback` with a 1 s logical TTL (TIME_TILL_REFRESH), `lockTSE` and
//! `staleTTL` of STATE_PRESERVE_TTL = 60 s), `computeServerStates` and `getNewScaleViaMovingAve`
//! (`movingAveRatio·naive + (1 − movingAveRatio)·last`, movingAveRatio 0.1, last defaulting to 1.0, naive = 1 if
//! the gauge connection opened else 0; and `$lagTimes[$i] = $conn->getLag()` on the same gauge connection,
//! `false` when it did not open or `getLag` failed); and `includes/libs/rdbms/loadbalancer/LoadBalancer.php`'s
//! `getRandomNonLagged` and `pickReaderIndex` (the 1.35 form: `$this->servers[$i]['max lag'] ?? $this->maxLag`,
//! MAX_LAG_DEFAULT = 6). REFERENCE §2 ("Legacy"), seed 002 (the task: "It's unclear if LoadMonitor weight has ever
//! declined sufficiently during an incident to make a difference"; the DBA: "LM uses replication lag as the only
//! metric for the load on a replica").
//!
//! Per server the state is `{scale, reachable, lag}`, all from one gauge at the last regeneration. The pick is
//! `getReaderIndex`'s: `scaleLoads` gives ceil(load·scale); `getRandomNonLagged` reads the lag times from the
//! same cached state (`LoadMonitor::getLagTimes` returns `getServerStates(...)['lagTimes']`, so the lag is as old
//! as the state: up to the 1 s WAN TTL plus the local 1–500 ms, more while a regeneration is out) and unsets
//! every replica whose lag is `false` (when its max lag is finite) or `> max lag` (strictly greater); if the
//! loads left sum to 0 it returns false and `pickReaderIndex` picks from all the scaled loads by weight
//! ("All replica DBs lagged. Switch to read-only mode", lagged replica mode). Nothing reacts to slowness: a
//! slow server that still accepts connections and replicates keeps its full weight, and a healthy one applying
//! a large write is dropped.
//!
//! Lag in the weight scale: neither VERSION 1 (here) nor VERSION 2 (2021–2024, `movingAverage` of
//! `getWeightScale`, which is `$conn ? 1.0 : 0.0` in the base class and the moving average of `up` in its later
//! form) puts lag into the scale; both only record `lagTimes` for the LoadBalancer's filter. So lag acts only
//! through the filter, as here.
//!
//! The filter lives in LoadBalancer, so it applies to every MediaWiki controller. In the rework (VERSION 3,
//! `mw-loadmonitor`) LoadMonitor no longer gauges lag; `LoadBalancer::getLagTimes` reads it from its own WAN key
//! `rdbms-lags` (TTL 10 + mt_rand(1, 10) s, `lockTSE` 30, one gauge connection per streaming replica) and
//! `getRandomNonLagged` is unchanged (`array_sum($loads) == 0` → lagged replica mode). That second cache is not
//! modelled yet: `mw-loadmonitor` ignores lag (its module is being reworked in parallel; [`lag_filter`] is the
//! shared rule it can call).
//!
//! Where the model simplifies, and why:
//! - States are cached per server (the `cache` machinery shared with `mw-loadmonitor`), not as one key for the
//!   whole server list; with every key on the same TTLs the regenerations line up the same way.
//! - The gauge connection is an ordinary connection, as in 1.35 (`computeServerStates` calls
//!   `LoadBalancer::getServerConnection` with the normal connect timeout): its probes wait the 3 s connect
//!   timeout of EventSimulator's normal connections ([`LEGACY_PROBE_TIMEOUT_MS`]; the scenario key
//!   `probe_timeout_ms` still overrides it).
//! - The 2017 variant (scale floored at 0.1, a 4–5 s TTL, no ceil) differs in detail; its TTL is reachable
//!   through `state_ttl_s`.
//! - Every server shares the one `max_lag_s` (no per-server `max lag`), and the session's `$maxLag` (from
//!   `waitForPos`, ChronologyProtector) is not modelled: requests carry no session.
//!
//! Picks over the host's full replica list look up only the keys that may change anything (see `LookupIndex`):
//! a settled key returns the same state, with no effect, whatever the local TTL drawn, so skipping it changes
//! nothing; the probes queued, the weights and the choice are the scan's, in O(log n) plus the unsettled keys.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::rc::Rc;

use super::cache::{self, CacheTimings, ClusterCache, HostCache};
use crate::controller::load_index::LoadIndex;
use crate::controller::Role;
use crate::controller::{
    pick_weighted, Candidate, Controller, ControllerInfo, ControllerSpec, HostView, ParamInfo, ProbeResult,
};
use crate::rng::Rng;
use crate::time::{from_secs_f64, SimDuration, SimTime, MILLISECOND};

/// Registry entry.
pub const MW_LEGACY: ControllerInfo = ControllerInfo {
    main_params: &["moving_ave_ratio", "max_lag_s"],
    name: "mw-legacy",
    summary: "MediaWiki's 2017–2021 LoadMonitor: load × EWMA(0.1) of probe connect success, LoadBalancer's 6 s max-lag filter; no reaction to slowness",
    rule: "a random draw, each server's chance its weight ÷ the total: its load scaled by how often its probes connected, replicas lagging past the limit left out",
    params: PARAMS,
    build,
    formula: None,
    probe_timeout_ms: LEGACY_PROBE_TIMEOUT_MS,
    charted_terms: &[],
    bytes_per_server: 240,
};

/// The legacy gauge's connect timeout, ms: an ordinary connection's 3 s (REFERENCE §1), not the 1 s of the
/// rework's dedicated probe connections.
pub const LEGACY_PROBE_TIMEOUT_MS: f64 = 3000.0;

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "moving_ave_ratio",
        label: "Weight of the newest probe",
        unit: "",
        default: 0.1,
        min: 0.0,
        max: 1.0,
        choices: &[],
        help: "weight of the newest probe in scale = ratio·naive + (1 − ratio)·last (movingAveRatio, MW 1.35: 0.1)",
    },
    ParamInfo {
        key: "state_ttl_s",
        label: "State refresh age",
        unit: "s",
        default: 1.0,
        min: 0.001,
        max: 3600.0,
        choices: &[],
        help: "the cluster (WAN) state is regenerated once older than this (TIME_TILL_REFRESH = 1)",
    },
    ParamInfo {
        key: "local_ttl_ms",
        label: "Local copy reread time",
        unit: "ms",
        default: 500.0,
        min: 1.0,
        max: 3_600_000.0,
        choices: &[],
        help: "a host rereads the cluster state once its local copy is older than uniform 1..this ms (POLL_PERIOD_MS)",
    },
    ParamInfo {
        key: "max_lag_s",
        label: "Most replication lag allowed",
        unit: "s",
        default: 6.0,
        min: 0.0,
        max: 1e6,
        choices: &[],
        help: "getRandomNonLagged drops a replica whose cached lag is > this, or false (LoadBalancer::MAX_LAG_DEFAULT = 6)",
    },
    cache::PRESERVE_TTL_PARAM,
    cache::SHARED_CACHE_PARAM,
    cache::REGEN_LOCK_PARAM,
];

/// One server's state as the legacy LoadMonitor cached it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleState {
    /// Moving average of probe connect success, multiplying the configured load.
    pub scale: f64,
    /// The last probe connected.
    pub reachable: bool,
    /// The lag the last gauge read (pt-heartbeat), s; `None` is MediaWiki's `false` (unreachable).
    pub lag_s: Option<f64>,
}

impl ScaleState {
    /// `getPlaceholderServerStates`: full scale, lag 0.
    pub const INITIAL: ScaleState = ScaleState { scale: 1.0, reachable: true, lag_s: Some(0.0) };

    /// `computeServerStates` for one probe: `scale = ratio·naive + (1 − ratio)·last`, last defaulting to 1.0,
    /// floored at 0 ("Scale from 0% to 100% of nominal weight"); the lag as the gauge read it (`None` when
    /// it did not connect).
    pub fn regenerate(previous: Option<ScaleState>, connected: bool, lag_s: Option<f64>, ratio: f64) -> ScaleState {
        let last = previous.map_or(1.0, |p| p.scale);
        let naive = if connected { 1.0 } else { 0.0 };
        let lag_s = if connected { lag_s } else { None };
        ScaleState { scale: (ratio * naive + (1.0 - ratio) * last).max(0.0), reachable: connected, lag_s }
    }
}

/// `getRandomNonLagged`'s test for one replica: kept unless its lag is `false` (and `max_lag_s` is finite) or
/// greater than `max_lag_s`. The rule is LoadBalancer's, so every MediaWiki controller shares it.
pub fn lag_filter(lag_s: Option<f64>, max_lag_s: f64) -> bool {
    match lag_s {
        None => max_lag_s.is_infinite(),
        // PHP's `$lag > $maxServerLag`: a NaN lag is not greater, so it is kept.
        Some(lag) => lag.partial_cmp(&max_lag_s) != Some(std::cmp::Ordering::Greater),
    }
}

/// Legacy `scaleLoads` then `getRandomNonLagged` and `pickReaderIndex`: appends ceil(load·scale) for the
/// replicas the lag filter keeps and 0 for the others; if the kept weights sum to 0, every replica's
/// ceil(load·scale) ("lagged replica mode").
pub fn legacy_weights(loads: &[f64], states: &[ScaleState], max_lag_s: f64, out: &mut Vec<f64>) {
    let start = out.len();
    let scaled = |(&w, s): (&f64, &ScaleState)| (w * s.scale).ceil().max(0.0);
    out.extend(loads.iter().zip(states).map(|p| if lag_filter(p.1.lag_s, max_lag_s) { scaled(p) } else { 0.0 }));
    if out[start..].iter().all(|&w| w <= 0.0) {
        out.truncate(start);
        out.extend(loads.iter().zip(states).map(scaled));
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Settings {
    ratio: f64,
    local_ttl_ms: u64,
    max_lag_s: f64,
}

fn build(spec: &ControllerSpec, servers: &[Role], hosts: usize) -> Vec<Box<dyn Controller>> {
    let settings = Settings {
        ratio: spec.get("moving_ave_ratio"),
        local_ttl_ms: (spec.get("local_ttl_ms").round() as u64).max(1),
        max_lag_s: spec.get("max_lag_s"),
    };
    let timings = CacheTimings::from_spec(spec, from_secs_f64(spec.get("state_ttl_s")));
    (ClusterCache::for_hosts(spec, servers.len(), hosts).into_iter().enumerate())
        .map(|(h, cluster)| {
            Box::new(LegacyMonitor::new(h, cluster, timings, settings, servers.len())) as Box<dyn Controller>
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Seen {
    state: ScaleState,
    as_of: Option<SimTime>,
    weight: f64,
}

/// One app host's legacy LoadMonitor.
#[derive(Debug)]
pub struct LegacyMonitor {
    cache: HostCache<ScaleState>,
    settings: Settings,
    seen: Vec<Option<Seen>>,
    last_pick: SimTime,
    pending: Vec<usize>,
    loads: Vec<f64>,
    states: Vec<ScaleState>,
    weights: Vec<f64>,
    /// The lookups of the host's full replica list, kept so a pick redoes only those that may change anything.
    index: Option<LookupIndex>,
    /// A pick scanned a filtered list since the last indexed pick: `seen`'s weights are that list's.
    scanned: bool,
}

/// `getServerStates` over the host's full replica list, incrementally: a key whose local copy is the cluster's
/// fresh entry ("settled") returns it unchanged at every lookup whatever the local TTL drawn, until the entry
/// ages past the cluster TTL or a store changes it; only the other keys are looked up at a pick. Their weights
/// (whole numbers, so every sum is exact) sit in a Fenwick tree, and the draw is the scan's.
#[derive(Debug)]
struct LookupIndex {
    /// The load index's generation the loads were read at.
    generation: u64,
    servers: Vec<usize>,
    pos: Vec<Option<u32>>,
    /// The last pick was in lagged replica mode.
    lagged: bool,
    /// The weight before the lag filter (ceil(load·scale)) and whether the filter keeps the server, per position.
    scaled: Vec<f64>,
    kept: Vec<bool>,
    /// Positions whose filtered weight is positive: none means "lagged replica mode" (every scaled weight).
    kept_positive: usize,
    /// The filtered weights.
    tree: LoadIndex,
    /// Positions to look up at the next pick (not settled), in position order, as the scan meets them.
    active: BTreeSet<u32>,
    /// Settled positions and when they stop being settled (entries for positions looked up since are harmless).
    expiry: BinaryHeap<Reverse<(SimTime, u32)>>,
    /// This host's place in the cluster's store log.
    cursor: u64,
}

impl LegacyMonitor {
    fn new(
        host: usize,
        cluster: Rc<RefCell<ClusterCache<ScaleState>>>,
        timings: CacheTimings,
        settings: Settings,
        servers: usize,
    ) -> LegacyMonitor {
        LegacyMonitor {
            cache: HostCache::new(host, cluster, timings),
            settings,
            seen: vec![None; servers],
            last_pick: 0,
            pending: Vec::with_capacity(servers),
            loads: Vec::with_capacity(servers),
            states: Vec::with_capacity(servers),
            weights: Vec::with_capacity(servers),
            index: None,
            scanned: false,
        }
    }

    /// The state to use for one candidate (a lookup, queueing a probe when it took the regeneration lock), with
    /// when it was generated; recorded in `seen` with its weight left at 0.
    fn look(&mut self, now: SimTime, c: &Candidate, local_ttl: SimDuration) -> ScaleState {
        let (state, as_of) = if c.configured_load <= 0.0 {
            (ScaleState::INITIAL, Some(now)) // a zero-load primary is not probed
        } else {
            let look = self.cache.lookup(now, c.server, local_ttl);
            if look.regenerate && !self.pending.contains(&c.server) {
                self.pending.push(c.server);
            }
            look.entry.map_or((ScaleState::INITIAL, None), |e| (e.state, Some(e.as_of)))
        };
        self.seen[c.server] = Some(Seen { state, as_of, weight: 0.0 });
        state
    }

    /// The pick over any candidate list: every key looked up.
    fn pick_scan(&mut self, view: &HostView<'_>, local_ttl: SimDuration, rng: &mut Rng) -> Option<usize> {
        self.loads.clear();
        self.states.clear();
        for c in view.candidates {
            let state = self.look(view.now, c, local_ttl);
            self.loads.push(c.configured_load);
            self.states.push(state);
        }
        self.weights.clear();
        legacy_weights(&self.loads, &self.states, self.settings.max_lag_s, &mut self.weights);
        for (c, &w) in view.candidates.iter().zip(&self.weights) {
            if let Some(seen) = &mut self.seen[c.server] {
                seen.weight = w;
            }
        }
        let weights = &self.weights;
        pick_weighted(view.candidates, rng, |i, _| weights[i])
    }

    /// The pick over the full replica list, looking up only the keys that are not settled: the same lookups'
    /// effects (probes queued in the same order), the same weights and the same choice as `pick_scan`.
    fn pick_indexed(
        &mut self,
        view: &HostView<'_>,
        loads: &LoadIndex,
        local_ttl: SimDuration,
        rng: &mut Rng,
    ) -> Option<usize> {
        let (now, cands) = (view.now, view.candidates);
        let mut index = match self.index.take() {
            Some(i) if i.generation == loads.generation() && i.servers.len() == cands.len() => i,
            _ => {
                let n = cands.len();
                let mut pos = vec![None; self.seen.len()];
                for (p, c) in cands.iter().enumerate() {
                    pos[c.server] = Some(p as u32);
                }
                LookupIndex {
                    generation: loads.generation(),
                    servers: cands.iter().map(|c| c.server).collect(),
                    pos,
                    lagged: false,
                    scaled: vec![0.0; n],
                    kept: vec![false; n],
                    kept_positive: 0,
                    tree: LoadIndex::new(&vec![0.0; n]),
                    active: (0..n as u32).collect(),
                    expiry: BinaryHeap::new(),
                    cursor: 0,
                }
            }
        };
        let mut cursor = index.cursor;
        let complete = self.cache.stores_since(&mut cursor, |s| {
            if let Some(p) = index.pos.get(s).copied().flatten() {
                index.active.insert(p);
            }
        });
        index.cursor = cursor;
        if !complete {
            index.active.extend(0..cands.len() as u32);
        }
        while let Some(&Reverse((t, p))) = index.expiry.peek() {
            if t > now {
                break;
            }
            index.expiry.pop();
            index.active.insert(p);
        }
        let looked: Vec<u32> = index.active.iter().copied().collect();
        for &p in &looked {
            let c = &cands[p as usize];
            let state = self.look(now, c, local_ttl);
            let scaled = (c.configured_load * state.scale).ceil().max(0.0);
            let kept = lag_filter(state.lag_s, self.settings.max_lag_s);
            let was_positive = index.kept[p as usize] && index.scaled[p as usize] > 0.0;
            let positive = kept && scaled > 0.0;
            index.kept_positive = index.kept_positive + usize::from(positive) - usize::from(was_positive);
            index.scaled[p as usize] = scaled;
            index.kept[p as usize] = kept;
            index.tree.set(p as usize, if kept { scaled } else { 0.0 });
            if let Some(until) = self.cache.settled_until(now, c.server) {
                index.active.remove(&p);
                index.expiry.push(Reverse((until, p)));
            }
        }
        // `seen`'s weights: every one after a scan or in or out of lagged replica mode (O(n), as the scan), else
        // the looked-up ones (the others are unchanged).
        let lagged = index.kept_positive == 0;
        let weight = |i: &LookupIndex, p: usize| if lagged || i.kept[p] { i.scaled[p] } else { 0.0 };
        if self.scanned || lagged || index.lagged {
            for p in 0..cands.len() {
                if let Some(seen) = &mut self.seen[index.servers[p]] {
                    seen.weight = weight(&index, p);
                }
            }
            self.scanned = false;
        } else {
            for &p in &looked {
                if let Some(seen) = &mut self.seen[index.servers[p as usize]] {
                    seen.weight = weight(&index, p as usize);
                }
            }
        }
        index.lagged = lagged;
        let chosen = if lagged { pick_weighted(cands, rng, |p, _| index.scaled[p]) } else { index.tree.sample(rng) };
        self.index = Some(index);
        chosen
    }
}

impl Controller for LegacyMonitor {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        self.last_pick = view.now;
        // `$ageStaleSec = mt_rand(1, POLL_PERIOD_MS) / 1e3`, drawn once per call.
        let local_ttl: SimDuration = (1 + rng.below(self.settings.local_ttl_ms)) * MILLISECOND;
        match view.load_index {
            Some(loads) => self.pick_indexed(view, loads, local_ttl, rng),
            None => {
                self.scanned = true;
                self.pick_scan(view, local_ttl, rng)
            }
        }
    }

    fn take_probes(&mut self, _now: SimTime, out: &mut Vec<usize>) {
        out.append(&mut self.pending);
    }

    fn on_probe(&mut self, now: SimTime, server: usize, result: ProbeResult) {
        self.on_probe_lag(now, server, result, result.connected.then_some(0.0));
    }

    fn on_probe_lag(&mut self, now: SimTime, server: usize, result: ProbeResult, lag_s: Option<f64>) {
        let previous = self.cache.previous(now, server);
        let state = ScaleState::regenerate(previous, result.connected, lag_s, self.settings.ratio);
        self.cache.store(now, server, state);
    }

    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        let loads: Vec<f64> = view.candidates.iter().map(|c| c.configured_load).collect();
        let states: Vec<ScaleState> =
            (view.candidates.iter()).map(|c| self.seen[c.server].map_or(ScaleState::INITIAL, |s| s.state)).collect();
        legacy_weights(&loads, &states, self.settings.max_lag_s, out);
    }

    fn diagnostics(&self, server: usize, out: &mut Vec<(&'static str, f64)>) {
        let Some(seen) = self.seen.get(server).copied().flatten() else { return };
        out.push(("scale", seen.state.scale));
        out.push(("up", if seen.state.reachable { 1.0 } else { 0.0 }));
        out.push(("lag_s", seen.state.lag_s.unwrap_or(f64::NAN)));
        out.push(("age_s", seen.as_of.map_or(f64::NAN, |t| self.last_pick.saturating_sub(t) as f64 / 1e6)));
        out.push(("weight", seen.weight));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Candidate;
    use crate::rng::Stream;
    use crate::time::SECOND;

    #[test]
    fn the_scale_is_a_ten_percent_moving_average_of_connect_success() {
        // From the default 1.0: two failures → 0.9, 0.81; a success → 0.1 + 0.9·0.81 = 0.829.
        let a = ScaleState::regenerate(None, false, Some(0.3), 0.1);
        assert_eq!(a, ScaleState { scale: 0.9, reachable: false, lag_s: None });
        let b = ScaleState::regenerate(Some(a), false, None, 0.1);
        assert!((b.scale - 0.81).abs() < 1e-12);
        let c = ScaleState::regenerate(Some(b), true, Some(0.3), 0.1);
        assert!((c.scale - 0.829).abs() < 1e-12 && c.reachable);
        // Twenty-two failures from 1.0 leave 0.9^22 = 0.0985: the "1% in ~44 probes" of getNewScaleViaMovingAve.
        let mut s = ScaleState::INITIAL;
        for _ in 0..22 {
            s = ScaleState::regenerate(Some(s), false, None, 0.1);
        }
        assert!((s.scale - 0.9f64.powi(22)).abs() < 1e-12);
    }

    #[test]
    fn weights_are_ceiled_and_unreachable_servers_skipped_unless_all_are() {
        let st = |scale, reachable| ScaleState { scale, reachable, lag_s: reachable.then_some(0.5) };
        let mut out = Vec::new();
        // ceil(200·0.5) = 100; ceil(50·0.001) = 1 (a tiny scale keeps weight 1); the unreachable server gets 0.
        legacy_weights(&[200.0, 50.0, 200.0], &[st(0.5, true), st(0.001, true), st(1.0, false)], 6.0, &mut out);
        assert_eq!(out, vec![100.0, 1.0, 0.0]);
        // Every server unreachable: lagged replica mode picks by ceil(load·scale) anyway.
        out.clear();
        legacy_weights(&[200.0, 50.0], &[st(0.81, false), st(0.9, false)], 6.0, &mut out);
        assert_eq!(out, vec![162.0, 45.0]);
        // With an infinite max lag, `false` is kept (`$lag === false && !is_infinite($maxServerLag)`).
        out.clear();
        legacy_weights(&[200.0, 50.0], &[st(1.0, false), st(1.0, true)], f64::INFINITY, &mut out);
        assert_eq!(out, vec![200.0, 50.0]);
    }

    #[test]
    fn the_lag_filter_drops_lag_strictly_above_max_lag_and_falls_back_when_all_lag() {
        let lag = |lag_s| ScaleState { scale: 1.0, reachable: true, lag_s: Some(lag_s) };
        let mut out = Vec::new();
        // `$lag > $maxServerLag`: 6.0 is kept, 6.0001 dropped.
        legacy_weights(&[200.0, 325.0, 50.0], &[lag(6.0), lag(6.0001), lag(0.6)], 6.0, &mut out);
        assert_eq!(out, vec![200.0, 0.0, 50.0]);
        // Every replica lagged: lagged replica mode, all by weight.
        out.clear();
        legacy_weights(&[200.0, 325.0], &[lag(9.0), lag(12.0)], 6.0, &mut out);
        assert_eq!(out, vec![200.0, 325.0]);
        // A lagged replica beside a zero-weight one still falls back (the kept loads sum to 0).
        out.clear();
        legacy_weights(&[200.0, 0.0], &[lag(9.0), lag(0.1)], 6.0, &mut out);
        assert_eq!(out, vec![200.0, 0.0]);
        assert!(lag_filter(None, f64::INFINITY) && !lag_filter(None, 6.0) && !lag_filter(Some(f64::INFINITY), 6.0));
    }

    #[test]
    fn a_failed_probe_depools_until_a_successful_one_and_slowness_changes_nothing() {
        let spec = ControllerSpec::new("mw-legacy").unwrap();
        let servers = vec![Role::Replica; 2];
        let mut hosts = build(&spec, &servers, 2);
        let c = |server, in_flight| Candidate { server, configured_load: 100.0, in_flight };
        let cands = [c(0, 0), c(1, 0)];
        let view = |now, host, cands| HostView { now, host, hosts: 2, candidates: cands, load_index: None };
        let mut rng = Rng::new(2, Stream::Balancing);
        let mut probes = Vec::new();
        hosts[0].pick(&view(0, 0, &cands), &mut rng);
        hosts[0].take_probes(0, &mut probes);
        assert_eq!(probes, vec![0, 1]);
        hosts[0].on_probe(SECOND, 0, ProbeResult { connected: false, conn_count: 0, elapsed: SECOND });
        hosts[0].on_probe(SECOND, 1, ProbeResult { connected: true, conn_count: 900, elapsed: 0 });
        // Host 1 reads the fresh cluster states: server 0 skipped, server 1 at full weight despite 900 conns.
        let busy = [c(0, 0), c(1, 50)];
        for _ in 0..50 {
            assert_eq!(hosts[1].pick(&view(SECOND + 1, 1, &busy), &mut rng), Some(1));
        }
        let mut w = Vec::new();
        hosts[1].weights(&view(SECOND + 1, 1, &busy), &mut w);
        assert_eq!(w, vec![0.0, 100.0]);
        // One second later the states are due; whoever looks first re-probes server 0, which is back up.
        probes.clear();
        hosts[1].pick(&view(2 * SECOND, 1, &cands), &mut rng);
        hosts[1].take_probes(2 * SECOND, &mut probes);
        assert_eq!(probes, vec![0, 1]);
        hosts[1].on_probe(2 * SECOND, 0, ProbeResult { connected: true, conn_count: 1, elapsed: 0 });
        w.clear();
        hosts[1].pick(&view(2 * SECOND, 1, &cands), &mut rng);
        hosts[1].weights(&view(2 * SECOND, 1, &cands), &mut w);
        // scale = 0.1·1 + 0.9·0.9 = 0.91 (from the cluster's 0.9) → ceil(100·0.91) = 91.
        assert_eq!(w, vec![91.0, 100.0]);
    }
}
