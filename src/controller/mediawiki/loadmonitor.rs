//! `mw-loadmonitor`: MediaWiki's current LoadMonitor (cache key VERSION 3).
//!
//! Source: `includes/libs/rdbms/loadmonitor/LoadMonitor.php` — `scaleLoads`, `getServerStates`,
//! `getStateFromWanCache`, `computeServerState` — and its unit test `LoadMonitorTest` (loads [0,100,100,100,100]
//! with connection counts [0,50,100,150,200] scale to [0,130,111,91,72]); REFERENCE §2; the Phabricator task in
//! seed 002 (EventSimulator runs of the rework, "peak of about 2500", "about 700 connections before LoadMonitor
//! reacts", oscillation with a period of about 12 s).
//!
//! Per server the state is `{up, conn_count, time}`. It lives in each host's local cache in front of the
//! section's cluster cache (see `cache`), is fresh for STATE_TARGET_TTL (10 s) and usable for STATE_PRESERVE_TTL
//! (60 s). Regeneration is a gauge connection (a real probe connection in the engine, with the 1 s probe connect
//! timeout) that counts PROCESSLIST, which includes waiting connects and the probe itself. Servers with load ≤ 0
//! get `{up: 1, conn_count: 0}` without a probe. `up` is whether the probe connected; `conn_count` is
//! `(previous + count) / 2`, a failure counting 0 (no previous: the count itself). Weights are `scaleLoads`:
//! T = Σ int(conn_count)·up, W = Σ w; a down or zero-load server gets 0, otherwise c = conn_count/(T + 10),
//! r = w/W, a = max(r − (c − r)/2, 0), w′ = round(W·a); the pick is weighted random over w′. The maxConnCount
//! circuit breaker is the engine's `breaker_conns`, fed by [`Controller::conn_estimate`].
//!
//! Where the model simplifies, and why:
//! - Freshness follows the intended design (a local entry older than the target TTL sends the host to the cluster
//!   cache, and a cluster entry older than it is regenerated). The indexed source's `isStateFresh` compares
//!   `now − as_of > STATE_TARGET_TTL` (reads inverted) and `getWithSetCallback` keeps the cluster value for the
//!   preserve TTL; followed literally, states would refresh about once a minute, which contradicts the seed's
//!   EventSimulator runs (reaction within seconds, 12 s oscillation). The TTLs are parameters, so either reading
//!   can be simulated.
//! - The seed's run (PS14 of change 1004792 plus 1013159, on EventSimulator) saw a period of about 12 s on
//!   `slow`, a peak of about 2500 on `connect-timeout` and about one probe per second after depooling. The
//!   defaults (local and cluster entries both exactly 10 s) give a 20 s square wave, a peak that depends on the
//!   fault's phase against the 10 s regeneration grid (890 at `fault_at=30`, 2475 at 32.5) and 0.09 probes/s.
//!   `early_refresh=1 wan_ttl_s=1` is an inferred alternative, not a fit: the LoadMonitor those patches were
//!   written against (after change 636465) checked its local (APCu) copy with `isStateRefreshDue`, refresh-due
//!   at each look with chance exp(−64·min(g, 0.1))·(age/STATE_TARGET_TTL)⁴, and read the cluster copy through
//!   `getWithSetCallback` with a 1 s logical TTL (TIME_TILL_REFRESH) and `lockTSE`. The model takes g (the
//!   regeneration's share of the TTL) as 0, since a probe here takes one round trip. At 54 looks per host per
//!   second the local copy then refreshes at a median age of about 10·(ln 2/108)^(1/5) = 3.6 s, at a random phase
//!   per host. What the patched code did exactly cannot be read from the indexed sources (the current file has
//!   no `isStateRefreshDue`, and its `isStateFresh` reads inverted), and EventSimulator's handling of simulated
//!   time inside a synchronous gauge connect is not known either. Measured (seed 1, `loadlab compare`): a period
//!   of 6 s on `slow` (seed: 12 s), peaks of 1600–2100 on `connect-timeout` for fault times 30–37.5 s (seed: about
//!   2500, and no longer dependent on the phase), and 0.5 probes/s (seed: about 1/s; theory 1/(1 s probe timeout +
//!   1 s cluster TTL)). WANObjectCache's `lowTTL` preemptive refresh (chance 1 − curTTL/lowTTL once curTTL <
//!   lowTTL) has no effect at a 1 s TTL with tens of reads per second, so it is not modelled separately.
//! - The regeneration is asynchronous (the host serves with the stale state while its probe is out) instead of
//!   blocking one web request; see `cache`.
//! - The source shuffles the order in which it regenerates several servers' keys; here every due key is probed at
//!   once, in candidate order (the order does not matter when probes are concurrent).
//! - Replication lag filtering is not modelled: the simulated section has no lag.
//! - When every weight is 0 (all servers down), `pick` declines and the request fails as "overloaded", which is
//!   what the source's circuit breaker does in that case even with maxConnCount = ∞.

use std::cell::RefCell;
use std::rc::Rc;

use super::cache::{self, CacheTimings, ClusterCache, HostCache};
use crate::config::ServerConfig;
use crate::controller::{pick_weighted, Controller, ControllerInfo, ControllerSpec, HostView, ParamInfo, ProbeResult};
use crate::rng::Rng;
use crate::time::{from_secs_f64, SimDuration, SimTime};

/// Registry entry.
pub const MW_LOADMONITOR: ControllerInfo = ControllerInfo {
    name: "mw-loadmonitor",
    summary: "MediaWiki's LoadMonitor (VERSION 3): probed connection counts, EWMA, scaleLoads, 10 s cached state",
    params: PARAMS,
    build,
    formula: Some(formula),
    probe_timeout_ms: crate::controller::PROBE_TIMEOUT_MS,
};

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "state_ttl_s",
        unit: "s",
        default: 10.0,
        min: 0.001,
        max: 3600.0,
        help: "a server's state is regenerated (probed) once older than this (LoadMonitor::STATE_TARGET_TTL = 10)",
    },
    cache::PRESERVE_TTL_PARAM,
    cache::SHARED_CACHE_PARAM,
    ParamInfo {
        key: "ewma_alpha",
        unit: "",
        default: 0.5,
        min: 0.0,
        max: 1.0,
        help: "weight of a new probe count in conn_count (computeServerState: (previous + count)/2, i.e. 0.5)",
    },
    ParamInfo {
        key: "total_conns_adjustment",
        unit: "conns",
        default: 10.0,
        min: 0.0,
        max: 1_000_000.0,
        help: "added to the total T in scaleLoads' c = conn_count/(T + adj) (option totalConnectionsAdjustment, 10)",
    },
    cache::REGEN_LOCK_PARAM,
    ParamInfo {
        key: "early_refresh",
        unit: "0/1",
        default: 0.0,
        min: 0.0,
        max: 1.0,
        help: "1: a host's local state is refresh-due at each look with chance (age/state_ttl_s)^4 (isStateRefreshDue, inferred for the seed's run); 0: exactly at state_ttl_s",
    },
    ParamInfo {
        key: "wan_ttl_s",
        unit: "s",
        default: 0.0,
        min: 0.0,
        max: 3600.0,
        help: "the cluster (WAN) entry is fresh for this long; 0: state_ttl_s (with early_refresh the inferred run used TIME_TILL_REFRESH = 1)",
    },
];

/// One server's state as LoadMonitor caches it (the `time` field is the cache entry's `as_of`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaugeState {
    /// The last probe connected.
    pub up: bool,
    /// EWMA of the probed PROCESSLIST counts.
    pub conn_count: f64,
}

impl GaugeState {
    /// `newInitialServerState`: treated as up, with no connections.
    pub const INITIAL: GaugeState = GaugeState { up: true, conn_count: 0.0 };

    /// `computeServerState` for a probe result: `up` from the connect, `conn_count` averaged with the previous
    /// state's (a failure counts 0; without a previous state, the count itself).
    pub fn regenerate(previous: Option<GaugeState>, result: &ProbeResult, alpha: f64) -> GaugeState {
        let count = if result.connected { result.conn_count as f64 } else { 0.0 };
        let conn_count = match previous {
            Some(p) => p.conn_count + alpha * (count - p.conn_count),
            None => count,
        };
        GaugeState { up: result.connected, conn_count }
    }
}

/// `LoadMonitor::scaleLoads`: appends one weight per server to `out`.
///
/// T = Σ int(conn_count)·up and W = Σ w over the given servers. A down or zero-load server gets 0; otherwise
/// c = conn_count/(T + adjustment), r = w/W, a = max(r − (c − r)/2, 0), and the weight is round(W·a) (PHP's
/// `round`, halves away from zero, as Rust's `f64::round`).
pub fn scale_loads(loads: &[f64], states: &[GaugeState], adjustment: f64, out: &mut Vec<f64>) {
    let total_conns: f64 = states.iter().map(|s| if s.up { s.conn_count.trunc() } else { 0.0 }).sum();
    let total_weight: f64 = loads.iter().sum();
    let denominator = total_conns + adjustment;
    for (&w, s) in loads.iter().zip(states) {
        if !s.up || w <= 0.0 {
            out.push(0.0);
            continue;
        }
        let conn_ratio = if denominator > 0.0 { s.conn_count / denominator } else { 0.0 };
        let weight_ratio = w / total_weight;
        let adjusted = (weight_ratio - (conn_ratio - weight_ratio) / 2.0).max(0.0);
        out.push((total_weight * adjusted).round());
    }
}

/// The runbook calculator: `scaleLoads` with every server up and the given connection counts.
fn formula(spec: &ControllerSpec, loads: &[f64], conns: &[f64]) -> Vec<f64> {
    let states: Vec<GaugeState> = conns.iter().map(|&c| GaugeState { up: true, conn_count: c }).collect();
    let mut out = Vec::with_capacity(loads.len());
    scale_loads(loads, &states, spec.get("total_conns_adjustment"), &mut out);
    out
}

/// The settings every host's instance shares.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Settings {
    state_ttl: SimDuration,
    alpha: f64,
    adjustment: f64,
    /// `isStateRefreshDue`'s random early refresh of the local entry (see the module docs).
    early_refresh: bool,
}

/// The local entry's freshness for one look: `ttl`, or with `early_refresh` the age at which this look's draw
/// makes it refresh-due. `isStateRefreshDue` refreshes when a uniform u ≤ r⁴ (r = age/ttl; its generation-delay
/// factor exp(−64·min(g, 0.1)) is taken as 1, g ≈ 0 for a fast probe), i.e. once age ≥ ttl·u^(1/4).
fn local_ttl(ttl: SimDuration, early_refresh: bool, rng: &mut Rng) -> SimDuration {
    if !early_refresh {
        return ttl;
    }
    let fourth_root = rng.next_f64().sqrt().sqrt(); // sqrt is exact in IEEE 754: portable
    (ttl as f64 * fourth_root) as SimDuration
}

fn build(spec: &ControllerSpec, servers: &[ServerConfig], hosts: usize) -> Vec<Box<dyn Controller>> {
    let settings = Settings {
        state_ttl: from_secs_f64(spec.get("state_ttl_s")),
        alpha: spec.get("ewma_alpha"),
        adjustment: spec.get("total_conns_adjustment"),
        early_refresh: spec.get("early_refresh") >= 0.5,
    };
    let wan_ttl = spec.get("wan_ttl_s");
    let cluster_ttl = if wan_ttl > 0.0 { from_secs_f64(wan_ttl) } else { settings.state_ttl };
    let timings = CacheTimings::from_spec(spec, cluster_ttl);
    (ClusterCache::for_hosts(spec, servers.len(), hosts).into_iter().enumerate())
        .map(|(h, cluster)| {
            Box::new(LoadMonitor::new(h, cluster, timings, settings, servers.len())) as Box<dyn Controller>
        })
        .collect()
}

/// What this host used for a server at its last pick.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Seen {
    state: GaugeState,
    /// When the state was generated; `None` for the initial state.
    as_of: Option<SimTime>,
    weight: f64,
}

/// One app host's LoadMonitor.
#[derive(Debug)]
pub struct LoadMonitor {
    cache: HostCache<GaugeState>,
    settings: Settings,
    seen: Vec<Option<Seen>>,
    last_pick: SimTime,
    /// Servers this host took the regeneration lock for and must probe; at most one entry per server.
    pending: Vec<usize>,
    loads: Vec<f64>,
    states: Vec<GaugeState>,
    weights: Vec<f64>,
}

impl LoadMonitor {
    fn new(
        host: usize,
        cluster: Rc<RefCell<ClusterCache<GaugeState>>>,
        timings: CacheTimings,
        settings: Settings,
        servers: usize,
    ) -> LoadMonitor {
        LoadMonitor {
            cache: HostCache::new(host, cluster, timings),
            settings,
            seen: vec![None; servers],
            last_pick: 0,
            pending: Vec::with_capacity(servers),
            loads: Vec::with_capacity(servers),
            states: Vec::with_capacity(servers),
            weights: Vec::with_capacity(servers),
        }
    }

    /// `getServerStates` for the candidates: fills `loads` and `states`, queueing probes for due keys.
    fn read_states(&mut self, view: &HostView<'_>, rng: &mut Rng) {
        self.loads.clear();
        self.states.clear();
        for c in view.candidates {
            let (state, as_of) = if c.configured_load <= 0.0 {
                (GaugeState::INITIAL, Some(view.now)) // computeServerState: no probe for load ≤ 0
            } else {
                let ttl = local_ttl(self.settings.state_ttl, self.settings.early_refresh, rng);
                let look = self.cache.lookup(view.now, c.server, ttl);
                if look.regenerate && !self.pending.contains(&c.server) {
                    self.pending.push(c.server);
                }
                look.entry.map_or((GaugeState::INITIAL, None), |e| (e.state, Some(e.as_of)))
            };
            self.loads.push(c.configured_load);
            self.states.push(state);
            self.seen[c.server] = Some(Seen { state, as_of, weight: 0.0 });
        }
    }
}

impl Controller for LoadMonitor {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        self.last_pick = view.now;
        self.read_states(view, rng);
        self.weights.clear();
        scale_loads(&self.loads, &self.states, self.settings.adjustment, &mut self.weights);
        for (c, &w) in view.candidates.iter().zip(&self.weights) {
            if let Some(seen) = &mut self.seen[c.server] {
                seen.weight = w;
            }
        }
        let weights = &self.weights;
        pick_weighted(view.candidates, rng, |i, _| weights[i])
    }

    fn take_probes(&mut self, _now: SimTime, out: &mut Vec<usize>) {
        out.append(&mut self.pending);
    }

    fn on_probe(&mut self, now: SimTime, server: usize, result: ProbeResult) {
        let previous = self.cache.previous(now, server);
        let state = GaugeState::regenerate(previous, &result, self.settings.alpha);
        self.cache.store(now, server, state);
    }

    /// The state's conn_count, or +∞ for a server whose last probe failed: the source's breaker stays closed
    /// only while some server is up, has load and has conn_count < maxConnCount.
    fn conn_estimate(&self, server: usize) -> Option<f64> {
        let seen = self.seen.get(server).copied().flatten()?;
        Some(if seen.state.up { seen.state.conn_count } else { f64::INFINITY })
    }

    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        let loads: Vec<f64> = view.candidates.iter().map(|c| c.configured_load).collect();
        let states: Vec<GaugeState> =
            (view.candidates.iter()).map(|c| self.seen[c.server].map_or(GaugeState::INITIAL, |s| s.state)).collect();
        scale_loads(&loads, &states, self.settings.adjustment, out);
    }

    fn diagnostics(&self, server: usize, out: &mut Vec<(&'static str, f64)>) {
        let Some(seen) = self.seen.get(server).copied().flatten() else { return };
        let age_s = seen.as_of.map_or(f64::NAN, |t| self.last_pick.saturating_sub(t) as f64 / 1e6);
        out.push(("up", if seen.state.up { 1.0 } else { 0.0 }));
        out.push(("conn_count", seen.state.conn_count));
        out.push(("age_s", age_s));
        out.push(("weight", seen.weight));
        if let Some(local) = self.cache.local_entry(server) {
            out.push(("local_as_of_s", local.as_of as f64 / 1e6));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Candidate;
    use crate::rng::Stream;
    use crate::time::{MILLISECOND, SECOND};

    #[test]
    fn early_refresh_makes_a_look_due_with_chance_age_ratio_to_the_fourth() {
        // isStateRefreshDue: P(due at age a) = (a/T)^4, so P(this look's threshold < T/2) = 1/16 and
        // P(< 0.9 T) = 0.6561. 100 000 draws: σ ≤ 0.0016; allow 0.006. Off, the threshold is T itself.
        let ttl = 10 * SECOND;
        let seed = 17;
        let mut rng = Rng::new(seed, Stream::Balancing);
        let draws: Vec<SimDuration> = (0..100_000).map(|_| local_ttl(ttl, true, &mut rng)).collect();
        let below = |x: SimDuration| draws.iter().filter(|&&d| d < x).count() as f64 / draws.len() as f64;
        assert!((below(ttl / 2) - 0.0625).abs() < 0.006, "{}; seed={seed}", below(ttl / 2));
        assert!((below(9 * ttl / 10) - 0.6561).abs() < 0.006, "{}; seed={seed}", below(9 * ttl / 10));
        assert!(draws.iter().all(|&d| d <= ttl));
        assert_eq!(local_ttl(ttl, false, &mut rng), ttl);
    }

    #[test]
    fn scale_loads_matches_load_monitors_own_unit_test() {
        // T = 50+100+150+200 = 500, W = 400, T + 10 = 510, r = 0.25 for each loaded server:
        //   50/510 = 0.09804 → a = 0.25 − (0.09804 − 0.25)/2 = 0.32598 → 400a = 130.39 → 130
        //  100/510 = 0.19608 → a = 0.27696 → 110.78 → 111
        //  150/510 = 0.29412 → a = 0.22794 →  91.18 →  91
        //  200/510 = 0.39216 → a = 0.17892 →  71.57 →  72
        let spec = ControllerSpec::new("mw-loadmonitor").unwrap();
        let got = formula(&spec, &[0.0, 100.0, 100.0, 100.0, 100.0], &[0.0, 50.0, 100.0, 150.0, 200.0]);
        assert_eq!(got, vec![0.0, 130.0, 111.0, 91.0, 72.0]);
    }

    #[test]
    fn scale_loads_drops_down_servers_and_truncates_counts_in_the_total() {
        // Server 1 is down: it gets 0 and its count leaves T. T = int(9.9) + int(20.5) = 9 + 20 = 29, W = 300.
        // Server 0: c = 9.9/39 = 0.25385, r = 1/3 → a = 0.33333 + 0.03974 = 0.37308 → 111.92 → 112.
        // Server 2: c = 20.5/39 = 0.52564 → a = 0.33333 − 0.09615 = 0.23718 → 71.15 → 71.
        let states = [
            GaugeState { up: true, conn_count: 9.9 },
            GaugeState { up: false, conn_count: 500.0 },
            GaugeState { up: true, conn_count: 20.5 },
        ];
        let mut out = Vec::new();
        scale_loads(&[100.0, 100.0, 100.0], &states, 10.0, &mut out);
        assert_eq!(out, vec![112.0, 0.0, 71.0]);
    }

    #[test]
    fn with_no_connections_the_weights_are_one_and_a_half_times_the_loads() {
        // c = 0 → a = r + r/2: proportional to the loads, so the pick follows the configured loads.
        // Loads 64:128:320 (W = 512, exact in binary): 1.5·w = 96, 192, 480.
        let mut out = Vec::new();
        scale_loads(&[64.0, 128.0, 320.0], &[GaugeState::INITIAL; 3], 10.0, &mut out);
        assert_eq!(out, vec![96.0, 192.0, 480.0]);
        // Loads 1:1:2: 1.5·w = 1.5, 1.5, 3; PHP's round takes halves away from zero → 2, 2, 3.
        out.clear();
        scale_loads(&[1.0, 1.0, 2.0], &[GaugeState::INITIAL; 3], 10.0, &mut out);
        assert_eq!(out, vec![2.0, 2.0, 3.0]);
    }

    #[test]
    fn the_ewma_halves_towards_each_probe_count() {
        let ok = |n| ProbeResult { connected: true, conn_count: n, elapsed: MILLISECOND };
        let failed = ProbeResult { connected: false, conn_count: 0, elapsed: SECOND };
        let first = GaugeState::regenerate(None, &ok(40), 0.5);
        assert_eq!(first, GaugeState { up: true, conn_count: 40.0 });
        let second = GaugeState::regenerate(Some(first), &ok(100), 0.5);
        assert_eq!(second.conn_count, 70.0); // (40 + 100)/2
        let down = GaugeState::regenerate(Some(second), &failed, 0.5);
        assert_eq!(down, GaugeState { up: false, conn_count: 35.0 }); // (70 + 0)/2
        assert_eq!(GaugeState::regenerate(None, &failed, 0.5), GaugeState { up: false, conn_count: 0.0 });
    }

    fn view<'a>(now: SimTime, host: usize, candidates: &'a [Candidate]) -> HostView<'a> {
        HostView { now, host, hosts: 2, candidates, load_index: None }
    }

    #[test]
    fn hosts_share_one_probe_per_server_per_ttl_and_react_to_its_result() {
        let spec = ControllerSpec::new("mw-loadmonitor").unwrap();
        let servers: Vec<ServerConfig> = (0..2)
            .map(|i| ServerConfig {
                name: format!("s{i}"),
                role: crate::config::Role::Replica,
                load: 100.0,
                latency: MILLISECOND,
                capacity: crate::config::Capacity::Unlimited,
                max_connections: None,
            })
            .collect();
        let mut hosts = build(&spec, &servers, 2);
        let c = |server| Candidate { server, configured_load: 100.0, in_flight: 0 };
        let cands = [c(0), c(1)];
        let mut rng = Rng::new(1, Stream::Balancing);
        let mut probes = Vec::new();
        hosts[0].pick(&view(0, 0, &cands), &mut rng);
        hosts[0].take_probes(0, &mut probes);
        assert_eq!(probes, vec![0, 1], "the first look regenerates both keys");
        probes.clear();
        hosts[1].pick(&view(1, 1, &cands), &mut rng);
        hosts[1].take_probes(1, &mut probes);
        assert!(probes.is_empty(), "host 1 waits for host 0's probes");
        // Server 0's probe fails, server 1's finds 30 connections.
        let failed = ProbeResult { connected: false, conn_count: 0, elapsed: SECOND };
        hosts[0].on_probe(SECOND, 0, failed);
        hosts[0].on_probe(2 * MILLISECOND, 1, ProbeResult { connected: true, conn_count: 30, elapsed: MILLISECOND });
        // Host 1 copies both fresh states from the cluster cache: server 0 is down and gets no weight.
        for _ in 0..100 {
            assert_eq!(hosts[1].pick(&view(2 * SECOND, 1, &cands), &mut rng), Some(1));
        }
        let mut w = Vec::new();
        hosts[1].weights(&view(2 * SECOND, 1, &cands), &mut w);
        // T = 30, W = 200: c = 30/40 = 0.75, r = 0.5 → a = 0.375 → 75.
        assert_eq!(w, vec![0.0, 75.0]);
        assert_eq!(hosts[1].conn_estimate(0), Some(f64::INFINITY));
        assert_eq!(hosts[1].conn_estimate(1), Some(30.0));
        let mut d = Vec::new();
        hosts[1].diagnostics(1, &mut d);
        assert!(d.contains(&("conn_count", 30.0)) && d.contains(&("up", 1.0)), "{d:?}");
        // Ten seconds after the results both keys are due again; host 1 is first to look and probes them.
        probes.clear();
        hosts[1].pick(&view(12 * SECOND, 1, &cands), &mut rng);
        hosts[1].take_probes(12 * SECOND, &mut probes);
        assert_eq!(probes, vec![0, 1]);
        // All servers down: the pick declines (the source's breaker: no server is up).
        hosts[1].on_probe(13 * SECOND, 0, failed);
        hosts[1].on_probe(13 * SECOND, 1, failed);
        assert_eq!(hosts[1].pick(&view(13 * SECOND, 1, &cands), &mut rng), None);
    }
}
