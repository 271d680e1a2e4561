//! `envoy-least-request`: Envoy's least_request load balancer with slow start, consecutive-5xx outlier detection
//! and the healthy panic threshold (REFERENCE §3), one instance per app host, as one Envoy sidecar per app host.
//!
//! Sources (Envoy, read at `main`):
//! - `source/extensions/load_balancing_policies/least_request/least_request_lb.cc`: `unweightedHostPickNChoices`
//!   (all weights equal: `choice_count` draws *with* replacement, the first draw kept unless a later one has
//!   strictly fewer active requests) and `hostWeight` (unequal weights: weight / (active + 1)^active_request_bias,
//!   exact division for a bias of 1, then the slow-start factor).
//! - `source/extensions/load_balancing_policies/common/load_balancer_impl.cc`: `EdfLoadBalancerBase::refresh`
//!   (the weighted path is used when weights differ *or any host is in slow start*), `applySlowStartFactor`
//!   (factor max(min_weight_percent, (max(t, 1 ms)/window)^(1/aggression)) while t < window; the docs write
//!   max(t, 1 s), the code uses 1 ms), `isHostSetInPanic` and `recalculatePerPriorityState` (panic when the healthy
//!   share is below the threshold and the overprovisioned health, 1.4 × healthy share, is below 100%).
//! - `source/common/upstream/outlier_detection_impl.cc`: `putHttpResponseCode` (the counter fires when it *equals*
//!   consecutive_5xx; a connect failure maps to 503, a connect success to 200 and resets it),
//!   `onConsecutiveErrorWorker` (already-ejected hosts are skipped, else eject and reset the counter), `ejectHost`
//!   (allowed while 100·(ejected + 1)/hosts ≤ max_ejection_percent, or for the first one with
//!   always_eject_one_host; the backoff multiplier grows while multiplier × base < max + base),
//!   `checkHostForUneject` (back in service at the first interval tick with min(base × multiplier, max) elapsed) and
//!   `onIntervalTimer` (each tick decrements the multiplier of every healthy host unejected at least one interval
//!   ago). Docs: `docs/root/intro/arch_overview/upstream/outlier.rst`, `.../load_balancing/slow_start.rst`.
//!
//! Picks over the host's full replica list with every host usable (none ejected, or panic) cost O(1) in the P2C
//! path and O(log n) in the weighted path (a Fenwick tree of weight/(active + 1)^bias kept current as counts
//! change); with ejected hosts, in slow start or over a filtered list they scan, as Envoy rebuilds its scheduler on
//! host changes. Both give the same choice for the same draws.
//!
//! Where loadlab simplifies, and why:
//! - Unequal weights: Envoy runs an EDF schedule whose entries are re-weighted when picked; loadlab draws weighted
//!   at random with every host's current effective weight. Both give each host a share proportional to its
//!   effective weight; EDF is smoother over a few picks, which the per-step metrics cannot see.
//! - Active requests are this host's in-flight connections (connecting or connected), Envoy's `rq_active` for a
//!   TCP-like upstream where a request is a connection.
//! - Outlier detection counts only connect results (refusals and timeouts are 5xx, successes are 200): loadlab's
//!   queries cannot fail. Success-rate and failure-percentage detection (off by default in Envoy) and ejection
//!   jitter (default 0) are not modelled. Host h of H sweeps at interval × (k + h/H), k = 1, 2, …, since sidecars
//!   start at different times; sweeps are processed lazily at this host's next event, in closed form.
//! - Hosts for outlier detection and the panic threshold are the section's replicas (the cluster's members); the
//!   primary is another cluster and its connections are ignored. When no healthy candidate is left for a request
//!   outside panic mode, the pick returns `None` (Envoy's "no healthy upstream"); the engine counts it as
//!   "overloaded", having no separate outcome for it.
//! - Slow start: Envoy starts a host's window when it joins the cluster (t = 0 here, for every host at once) or
//!   when an *active health check* marks it healthy again; un-ejection by outlier detection alone does not restart
//!   it. loadlab has no active health checker, so it restarts the window at un-ejection instead, the transition an
//!   operator would want ramped. `slow_start_window_s` defaults to 0 (off), as in Envoy.

use super::{pow, whole};
use crate::controller::load_index::LoadIndex;
use crate::controller::pick_index::InFlight;
use crate::controller::Role;
use crate::controller::{
    per_host, pick_weighted, Candidate, Controller, ControllerInfo, ControllerSpec, HostView, ParamInfo,
};
use crate::rng::Rng;
use crate::time::{from_secs_f64, SimDuration, SimTime, MILLISECOND};

/// Envoy's default overprovisioning factor (1.4): a priority counts as fully available from 1/1.4 ≈ 71% healthy.
const OVERPROVISIONING_FACTOR: f64 = 1.4;

/// Registry entry.
pub const INFO: ControllerInfo = ControllerInfo {
    main_params: &["choice_count", "active_request_bias"],
    name: "envoy-least-request",
    summary: "Envoy least_request: P2C on active requests, or weight/(active+1)^bias; slow start, outlier ejection, panic threshold",
    rule: "two servers drawn at random and the one with fewer active requests wins (Envoy's least request); with unequal weights, a random draw by weight ÷ (active + 1)^bias; ejected servers sit out",
    params: &[
        ParamInfo { key: "choice_count", label: "Servers drawn per pick", unit: "hosts", default: 2.0, min: 2.0, max: 64.0, choices: &[], help: "random draws (with replacement) when all weights are equal, fewest active wins; whole number (Envoy LeastRequest.choice_count: 2)" },
        ParamInfo { key: "active_request_bias", label: "Active request bias", unit: "", default: 1.0, min: 0.0, max: 100.0, choices: &[], help: "exponent in weight/(active + 1)^bias when weights differ (Envoy LeastRequest.active_request_bias: 1.0)" },
        ParamInfo { key: "slow_start_window_s", label: "Slow start length", unit: "s", default: 0.0, min: 0.0, max: 86_400.0, choices: &[], help: "ramp a host's weight for this long after it joins or is unejected; 0 is off (Envoy SlowStartConfig.slow_start_window: unset)" },
        ParamInfo { key: "slow_start_aggression", label: "Slow start shape", unit: "", default: 1.0, min: 0.01, max: 100.0, choices: &[], help: "ramp shape: weight × (t/window)^(1/aggression) (Envoy SlowStartConfig.aggression: 1.0, linear)" },
        ParamInfo { key: "slow_start_min_weight_percent", label: "Slow start floor", unit: "%", default: 10.0, min: 0.0, max: 100.0, choices: &[], help: "floor of the slow-start factor (Envoy SlowStartConfig.min_weight_percent: 10%)" },
        ParamInfo { key: "consecutive_5xx", label: "Failures in a row to eject", unit: "failures", default: 5.0, min: 1.0, max: 1_000_000.0, choices: &[], help: "consecutive connect failures that eject a host; whole number (Envoy OutlierDetection.consecutive_5xx: 5)" },
        ParamInfo { key: "outlier_interval_s", label: "Ejection check interval", unit: "s", default: 10.0, min: 0.001, max: 86_400.0, choices: &[], help: "ejection analysis sweep: unejections and backoff decay happen on it (Envoy OutlierDetection.interval: 10 s)" },
        ParamInfo { key: "base_ejection_time_s", label: "Base ejection time", unit: "s", default: 30.0, min: 0.001, max: 86_400.0, choices: &[], help: "ejection time = base × times ejected in a row (Envoy OutlierDetection.base_ejection_time: 30 s)" },
        ParamInfo { key: "max_ejection_time_s", label: "Longest ejection time", unit: "s", default: 300.0, min: 0.001, max: 86_400.0, choices: &[], help: "cap on the ejection time; raised to the base if below it (Envoy OutlierDetection.max_ejection_time: 300 s)" },
        ParamInfo { key: "max_ejection_percent", label: "Most hosts ejected at once", unit: "%", default: 10.0, min: 0.0, max: 100.0, choices: &[], help: "eject only while ejected hosts stay at or under this share of the cluster; 0 disables ejection (Envoy: 10%)" },
        ParamInfo { key: "always_eject_one_host", label: "Always eject one host", unit: "0/1", default: 0.0, min: 0.0, max: 1.0, choices: &[(0.0, "off, as Envoy ships"), (1.0, "on: the first ejection ignores the cap")], help: "1: the first ejection ignores the cap on hosts ejected at once (Envoy OutlierDetection.always_eject_one_host: false)" },
        ParamInfo { key: "healthy_panic_threshold", label: "Panic threshold", unit: "%", default: 50.0, min: 0.0, max: 100.0, choices: &[], help: "below this share of healthy hosts, balance across all hosts (Envoy CommonLbConfig.healthy_panic_threshold: 50%)" },
    ],
    build,
    formula: Some(formula),
    probe_timeout_ms: crate::controller::PROBE_TIMEOUT_MS,
    charted_terms: &[],
    bytes_per_server: 128,
};

/// Envoy's settings in engine units.
#[derive(Clone, Copy, Debug)]
struct Settings {
    choice_count: usize,
    active_request_bias: f64,
    slow_start_window: SimDuration,
    aggression: f64,
    min_weight_fraction: f64,
    consecutive_5xx: u32,
    interval: SimDuration,
    base_ejection: SimDuration,
    max_ejection: SimDuration,
    max_ejection_percent: f64,
    always_eject_one_host: bool,
    panic_threshold_percent: f64,
}

impl Settings {
    fn from_spec(spec: &ControllerSpec) -> Settings {
        let base_ejection = from_secs_f64(spec.get("base_ejection_time_s")).max(1);
        Settings {
            choice_count: whole(spec.get("choice_count")).max(1),
            active_request_bias: spec.get("active_request_bias"),
            slow_start_window: from_secs_f64(spec.get("slow_start_window_s")),
            aggression: spec.get("slow_start_aggression"),
            min_weight_fraction: spec.get("slow_start_min_weight_percent") / 100.0,
            consecutive_5xx: whole(spec.get("consecutive_5xx")).clamp(1, u32::MAX as usize) as u32,
            interval: from_secs_f64(spec.get("outlier_interval_s")).max(1),
            base_ejection,
            // Envoy rejects max < base as a config error; a builder cannot fail, so the cap is raised to the base.
            max_ejection: from_secs_f64(spec.get("max_ejection_time_s")).max(base_ejection),
            max_ejection_percent: spec.get("max_ejection_percent"),
            always_eject_one_host: whole(spec.get("always_eject_one_host")) == 1,
            panic_threshold_percent: spec.get("healthy_panic_threshold"),
        }
    }
}

fn build(spec: &ControllerSpec, servers: &[Role], hosts: usize) -> Vec<Box<dyn Controller>> {
    let settings = Settings::from_spec(spec);
    let replica: Vec<bool> = servers.iter().map(|&r| r == Role::Replica).collect();
    let hosts_u64 = hosts.max(1) as u64;
    per_host(hosts, |h| {
        // Spread the sidecars' sweep timers evenly over one interval: they did not all start at the same instant.
        let phase = settings.interval * h as u64 / hosts_u64;
        EnvoyLeastRequest::new(settings, replica.clone(), phase)
    })
}

/// Envoy's effective weight of a host with this configured weight and these active requests (no slow start).
fn effective_weight(weight: f64, active: f64, bias: f64) -> f64 {
    if bias == 1.0 {
        weight / (active + 1.0)
    } else if bias == 0.0 {
        weight
    } else {
        weight / pow(active + 1.0, bias)
    }
}

/// Exact probability that the host with `active` requests wins Envoy's `choices` draws with replacement among
/// `n` equal-weight hosts, `fewer` of which have fewer active requests and `more` of which have more: the first
/// draw that reaches the sample's minimum wins, so draws 1..j−1 come from the busier hosts, draw j is this host and
/// the later ones avoid the less busy ones: Σ_j (more/n)^(j−1) · (1/n) · ((n − fewer)/n)^(k−j).
fn p2c_with_replacement_probability(n: usize, fewer: usize, more: usize, choices: usize) -> f64 {
    let n_f = n as f64;
    let (p_more, p_not_fewer) = (more as f64 / n_f, (n - fewer) as f64 / n_f);
    let mut total = 0.0;
    for j in 1..=choices {
        total += p_more.powi(j as i32 - 1) / n_f * p_not_fewer.powi((choices - j) as i32);
    }
    total
}

/// P2C probabilities scaled to the sum of the weights, for equal-weight hosts with these active counts.
fn p2c_scaled(weights: &[f64], actives: &[f64], usable: &[bool], choices: usize) -> Vec<f64> {
    let n = usable.iter().filter(|&&u| u).count();
    let total: f64 = weights.iter().zip(usable).filter(|(_, &u)| u).map(|(w, _)| *w).sum();
    (0..weights.len())
        .map(|i| {
            if !usable[i] {
                return 0.0;
            }
            let fewer = (0..weights.len()).filter(|&j| usable[j] && actives[j] < actives[i]).count();
            let more = (0..weights.len()).filter(|&j| usable[j] && actives[j] > actives[i]).count();
            p2c_with_replacement_probability(n, fewer, more, choices) * total
        })
        .collect()
}

/// True when every usable host has the same weight (Envoy's `hostWeightsAreEqual`).
fn weights_equal(weights: &[f64], usable: &[bool]) -> bool {
    let mut first = None;
    weights.iter().zip(usable).filter(|(_, &u)| u).all(|(&w, _)| *first.get_or_insert(w) == w)
}

/// The closed form for `loadlab weights`, with every host healthy and none in slow start: equal positive loads
/// give the exact P2C pick probabilities (scaled to the sum of the loads); unequal loads give Envoy's effective
/// weights load/(conns + 1)^active_request_bias. Servers with load ≤ 0 are not in the cluster (0).
fn formula(spec: &ControllerSpec, loads: &[f64], conns: &[f64]) -> Vec<f64> {
    let s = Settings::from_spec(spec);
    let usable: Vec<bool> = loads.iter().map(|&l| l > 0.0).collect();
    if weights_equal(loads, &usable) {
        p2c_scaled(loads, conns, &usable, s.choice_count)
    } else {
        (loads.iter().zip(conns).zip(&usable))
            .map(|((&l, &c), &u)| if u { effective_weight(l, c, s.active_request_bias) } else { 0.0 })
            .collect()
    }
}

/// Outlier-detection and slow-start state of one upstream host, as one sidecar sees it.
#[derive(Clone, Copy, Debug, Default)]
struct HostState {
    consecutive_5xx: u32,
    ejected: bool,
    last_ejection: SimTime,
    last_unejection: Option<SimTime>,
    /// Envoy's `ejectTimeBackoff`: the multiplier of the base ejection time.
    backoff: u32,
    /// Ejections so far (Envoy's `num_ejections`), for diagnostics.
    times_ejected: u32,
    /// Start of the current slow-start window: cluster join (0) or the last unejection.
    healthy_since: SimTime,
}

/// One app host's Envoy: least_request with slow start, outlier detection and the panic threshold.
#[derive(Clone, Debug)]
pub struct EnvoyLeastRequest {
    s: Settings,
    hosts: Vec<HostState>,
    /// True for the section's replicas: the cluster this Envoy balances over.
    member: Vec<bool>,
    members: usize,
    ejected: usize,
    /// Time of the next outlier sweep not yet processed.
    next_tick: SimTime,
    /// Latest time this instance was told about (for diagnostics, which carry no time).
    last_now: SimTime,
    /// This host's in-flight counts, now and at its last pick (for diagnostics).
    in_flight: InFlight,
    /// No host is in its slow-start window from this time on (the latest window end of any member, ejected or
    /// not, so it may be later than the exact answer, never earlier): a pick after it skips the scan.
    slow_start_over: SimTime,
    /// Envoy's effective weights of the full replica list with every host usable and none in slow start, kept
    /// current as counts change, for the weighted path's O(log n) draw; built on first use.
    weights: Option<WeightIndex>,
}

/// The effective weights by position of the host's full replica list.
#[derive(Clone, Debug)]
struct WeightIndex {
    /// The load index's generation the loads were read at.
    generation: u64,
    pos: Vec<Option<u32>>,
    loads: Vec<f64>,
    tree: LoadIndex,
}

impl EnvoyLeastRequest {
    fn new(s: Settings, member: Vec<bool>, phase: SimDuration) -> EnvoyLeastRequest {
        let hosts_len = member.len();
        let members = member.iter().filter(|&&m| m).count();
        EnvoyLeastRequest {
            s,
            hosts: vec![HostState::default(); member.len()],
            member,
            members,
            ejected: 0,
            next_tick: phase + s.interval,
            last_now: 0,
            in_flight: InFlight::new(hosts_len),
            slow_start_over: s.slow_start_window,
            weights: None,
        }
    }

    /// Ejection time of a host with this backoff multiplier.
    fn ejection_time(&self, backoff: u32) -> SimDuration {
        self.s.base_ejection.saturating_mul(u64::from(backoff)).min(self.s.max_ejection)
    }

    /// Runs every outlier sweep due by `now`, in closed form per host (so a quiet host that wakes after an hour
    /// does constant work): at the first due tick an ejected host whose time is served is unejected; at each tick
    /// at least one interval after its unejection a healthy host's multiplier drops by one.
    fn advance(&mut self, now: SimTime) {
        self.last_now = self.last_now.max(now);
        if now < self.next_tick {
            return;
        }
        let interval = self.s.interval;
        let ticks = (now - self.next_tick) / interval + 1;
        let first_tick = self.next_tick;
        // Index of the first tick at or after `t`.
        let first_at_or_after = |t: SimTime| if t <= first_tick { 0 } else { (t - first_tick).div_ceil(interval) };
        for i in 0..self.hosts.len() {
            if !self.member[i] {
                continue;
            }
            let h = self.hosts[i];
            let mut next = h;
            if h.ejected {
                let due = h.last_ejection.saturating_add(self.ejection_time(h.backoff));
                let j = first_at_or_after(due);
                if j < ticks {
                    let at = first_tick + j * interval;
                    next.ejected = false;
                    next.consecutive_5xx = 0;
                    next.last_unejection = Some(at);
                    next.healthy_since = at;
                    self.slow_start_over = self.slow_start_over.max(at.saturating_add(self.s.slow_start_window));
                    next.backoff -= h.backoff.min(u32::try_from(ticks - 1 - j).unwrap_or(u32::MAX));
                    self.ejected -= 1;
                }
            } else if let Some(at) = h.last_unejection {
                let j = first_at_or_after(at.saturating_add(interval));
                if j < ticks {
                    next.backoff -= h.backoff.min(u32::try_from(ticks - j).unwrap_or(u32::MAX));
                }
            }
            self.hosts[i] = next;
        }
        self.next_tick = first_tick + ticks * interval;
    }

    /// One more consecutive 5xx from `server`; ejects it when the count reaches the threshold (Envoy's
    /// `putHttpResponseCode` → `onConsecutive5xx`), after which the count starts again.
    fn count_5xx(&mut self, server: usize, now: SimTime) {
        let h = &mut self.hosts[server];
        h.consecutive_5xx = h.consecutive_5xx.saturating_add(1);
        if h.consecutive_5xx == self.s.consecutive_5xx && !h.ejected {
            self.try_eject(server, now);
            self.hosts[server].consecutive_5xx = 0;
        }
    }

    /// Envoy's `ejectHost` for a consecutive-5xx outlier.
    fn try_eject(&mut self, server: usize, now: SimTime) {
        let share = 100.0 * (self.ejected + 1) as f64 / self.members.max(1) as f64;
        let allowed = share <= self.s.max_ejection_percent || (self.s.always_eject_one_host && self.ejected == 0);
        if !allowed {
            return;
        }
        let max_plus_base = self.s.max_ejection.saturating_add(self.s.base_ejection);
        let h = &mut self.hosts[server];
        h.ejected = true;
        h.times_ejected += 1;
        h.last_ejection = now;
        if self.s.base_ejection.saturating_mul(u64::from(h.backoff)) < max_plus_base {
            h.backoff += 1;
        }
        self.ejected += 1;
    }

    /// Panic mode: the healthy share of the cluster is under the threshold and the cluster is not fully available
    /// through overprovisioning.
    fn in_panic(&self) -> bool {
        if self.members == 0 {
            return false;
        }
        let healthy_percent = 100.0 * (self.members - self.ejected) as f64 / self.members as f64;
        healthy_percent < self.s.panic_threshold_percent && OVERPROVISIONING_FACTOR * healthy_percent < 100.0
    }

    /// True while some healthy host is inside its slow-start window (Envoy's `!noHostsAreInSlowStart()`).
    fn any_in_slow_start(&self, now: SimTime) -> bool {
        self.s.slow_start_window > 0
            && now < self.slow_start_over
            && (self.hosts.iter().zip(&self.member))
                .any(|(h, &m)| m && !h.ejected && now.saturating_sub(h.healthy_since) < self.s.slow_start_window)
    }

    /// The slow-start factor of a host now (1 outside its window or for an ejected host).
    fn slow_start_factor(&self, server: usize, now: SimTime) -> f64 {
        let h = &self.hosts[server];
        let window = self.s.slow_start_window;
        let in_window = now.saturating_sub(h.healthy_since);
        if window == 0 || h.ejected || in_window >= window {
            return 1.0;
        }
        let time_factor = in_window.max(MILLISECOND) as f64 / window as f64;
        pow(time_factor, 1.0 / self.s.aggression).max(self.s.min_weight_fraction)
    }

    fn host_weight(&self, c: &Candidate, now: SimTime) -> f64 {
        effective_weight(c.configured_load, f64::from(c.in_flight), self.s.active_request_bias)
            * self.slow_start_factor(c.server, now)
    }

    fn usable(&self, c: &Candidate, panic: bool) -> bool {
        c.configured_load > 0.0 && (panic || !self.hosts.get(c.server).is_some_and(|h| h.ejected))
    }

    /// The pick over the full replica list with every candidate usable, in O(1) (P2C) or O(log n) (weighted):
    /// the same draws and the same choice as `pick_scan` on the same list.
    fn pick_indexed(&mut self, view: &HostView<'_>, loads: &LoadIndex, rng: &mut Rng) -> Option<usize> {
        let cands = view.candidates;
        if self.any_in_slow_start(view.now) {
            return self.pick_scan(view, self.in_panic(), rng); // slow-start factors move with time
        }
        if loads.all_equal() {
            return Some(self.p2c(cands, cands.len(), |r| r, rng));
        }
        if self.weights.as_ref().is_none_or(|w| w.generation != loads.generation() || w.loads.len() != cands.len()) {
            let mut pos = vec![None; self.hosts.len()];
            for (p, c) in cands.iter().enumerate() {
                if let Some(slot) = pos.get_mut(c.server) {
                    *slot = Some(p as u32);
                }
            }
            let bias = self.s.active_request_bias;
            let weights: Vec<f64> =
                cands.iter().map(|c| effective_weight(c.configured_load, f64::from(c.in_flight), bias)).collect();
            self.weights = Some(WeightIndex {
                generation: loads.generation(),
                pos,
                loads: cands.iter().map(|c| c.configured_load).collect(),
                tree: LoadIndex::new(&weights),
            });
        }
        self.weights.as_ref()?.tree.sample(rng)
    }

    /// unweightedHostPickNChoices: `choice_count` draws with replacement among `usable` hosts (`nth` maps a draw to
    /// its candidate); a later draw replaces the best only if strictly less busy.
    fn p2c(&self, cands: &[Candidate], usable: usize, nth: impl Fn(usize) -> usize, rng: &mut Rng) -> usize {
        let mut best: Option<usize> = None;
        for _ in 0..self.s.choice_count {
            let k = nth(rng.below(usable as u64) as usize);
            if best.is_none_or(|b| cands[k].in_flight < cands[b].in_flight) {
                best = Some(k);
            }
        }
        best.unwrap_or(0)
    }

    /// The pick over any candidate list, scanning it.
    fn pick_scan(&mut self, view: &HostView<'_>, panic: bool, rng: &mut Rng) -> Option<usize> {
        let cands = view.candidates;
        for c in cands {
            self.in_flight.set(c.server, c.in_flight);
        }
        let usable_count = cands.iter().filter(|c| self.usable(c, panic)).count();
        if usable_count == 0 {
            return None; // "no healthy upstream"
        }
        let mut first_weight = None;
        let equal = cands
            .iter()
            .filter(|c| self.usable(c, panic))
            .all(|c| *first_weight.get_or_insert(c.configured_load) == c.configured_load);
        if equal && !self.any_in_slow_start(view.now) {
            let nth = |r: usize| {
                if usable_count == cands.len() {
                    return r;
                }
                let mut usable = (0..cands.len()).filter(|&i| self.usable(&cands[i], panic));
                usable.nth(r).unwrap_or(0)
            };
            return Some(self.p2c(cands, usable_count, nth, rng));
        }
        let now = view.now;
        pick_weighted(cands, rng, |_, c| if self.usable(c, panic) { self.host_weight(c, now) } else { 0.0 })
    }
}

impl Controller for EnvoyLeastRequest {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        self.advance(view.now);
        let panic = self.in_panic();
        let chosen = match view.load_index {
            // Every member usable (none ejected, or panic): the candidates are the whole cluster, unfiltered.
            Some(loads) if panic || self.ejected == 0 => self.pick_indexed(view, loads, rng),
            _ => self.pick_scan(view, panic, rng),
        };
        self.in_flight.mark_pick();
        chosen
    }

    fn on_in_flight(&mut self, server: usize, in_flight: u32) {
        self.in_flight.set(server, in_flight);
        if let Some(w) = &mut self.weights {
            if let Some(pos) = w.pos.get(server).copied().flatten() {
                let weight = effective_weight(w.loads[pos as usize], f64::from(in_flight), self.s.active_request_bias);
                w.tree.set(pos as usize, weight);
            }
        }
    }

    fn on_connect(&mut self, now: SimTime, server: usize, ok: bool, _elapsed: SimDuration) {
        self.advance(now);
        if !self.member.get(server).copied().unwrap_or(false) {
            return;
        }
        if ok {
            self.hosts[server].consecutive_5xx = 0;
            return;
        }
        self.count_5xx(server, now);
    }

    fn on_close(&mut self, now: SimTime, _server: usize, _held: SimDuration) {
        self.advance(now);
    }

    /// A query lost in a crash is a failed request: a 5xx for outlier detection, like a failed connect.
    fn on_lost(&mut self, now: SimTime, server: usize, _held: SimDuration) {
        self.advance(now);
        if self.member.get(server).copied().unwrap_or(false) {
            self.count_5xx(server, now);
        }
    }

    /// Proportional to the pick probability: in the P2C path (equal weights, no slow start) the exact probability
    /// scaled to the sum of the usable weights; otherwise Envoy's effective weight weight/(active + 1)^bias × the
    /// slow-start factor. Ejected hosts get 0 unless the cluster is in panic.
    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        let mut me = self.clone();
        me.advance(view.now);
        let panic = me.in_panic();
        let cands = view.candidates;
        let usable: Vec<bool> = cands.iter().map(|c| me.usable(c, panic)).collect();
        let loads: Vec<f64> = cands.iter().map(|c| c.configured_load).collect();
        if weights_equal(&loads, &usable) && !me.any_in_slow_start(view.now) {
            let actives: Vec<f64> = cands.iter().map(|c| f64::from(c.in_flight)).collect();
            out.extend(p2c_scaled(&loads, &actives, &usable, me.s.choice_count));
        } else {
            out.extend(cands.iter().zip(&usable).map(|(c, &u)| if u { me.host_weight(c, view.now) } else { 0.0 }));
        }
    }

    /// As of this host's latest event: in-flight at the last pick, the ejection state (remaining time until the
    /// sweep that will uneject it), the backoff multiplier, the consecutive-failure count, the slow-start factor
    /// and whether the cluster is in panic.
    fn diagnostics(&self, server: usize, out: &mut Vec<(&'static str, f64)>) {
        let Some(h) = self.hosts.get(server) else { return };
        let now = self.last_now;
        let remaining = if h.ejected {
            let due = h.last_ejection.saturating_add(self.ejection_time(h.backoff));
            let tick = if due <= self.next_tick {
                self.next_tick
            } else {
                self.next_tick + (due - self.next_tick).div_ceil(self.s.interval) * self.s.interval
            };
            tick.saturating_sub(now) as f64 / 1e6
        } else {
            0.0
        };
        out.push(("in_flight", f64::from(self.in_flight.at_last_pick(server))));
        out.push(("ejected", if h.ejected { 1.0 } else { 0.0 }));
        out.push(("ejection_remaining_s", remaining));
        out.push(("times_ejected", f64::from(h.times_ejected)));
        out.push(("ejection_backoff", f64::from(h.backoff)));
        out.push(("consecutive_5xx", f64::from(h.consecutive_5xx)));
        out.push(("slow_start_factor", self.slow_start_factor(server, now)));
        out.push(("panic", if self.in_panic() { 1.0 } else { 0.0 }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::time::SECOND;

    fn cand(server: usize, load: f64, in_flight: u32) -> Candidate {
        Candidate { server, configured_load: load, in_flight }
    }

    /// One sidecar (sweeps at 10 s, 20 s, …) over `n` replicas, with the given parameter overrides.
    fn envoy(n: usize, sets: &[(&str, f64)]) -> EnvoyLeastRequest {
        let mut spec = ControllerSpec::new("envoy-least-request").unwrap();
        for &(k, v) in sets {
            spec.set(k, v).unwrap();
        }
        EnvoyLeastRequest::new(Settings::from_spec(&spec), vec![true; n], 0)
    }

    fn fail(e: &mut EnvoyLeastRequest, server: usize, times: u32, at: SimTime) {
        for _ in 0..times {
            e.on_connect(at, server, false, 500);
        }
    }

    fn diag(e: &EnvoyLeastRequest, server: usize, name: &str) -> f64 {
        let mut out = Vec::new();
        e.diagnostics(server, &mut out);
        out.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).unwrap()
    }

    #[test]
    fn effective_weight_on_hand_numbers() {
        // weight 200 with 3 active: bias 1 → 200/4 = 50; bias 2 → 200/16 = 12.5; bias 0.5 → 200/2 = 100;
        // bias 0 → 200 (round robin by weight).
        assert_eq!(effective_weight(200.0, 3.0, 1.0), 50.0);
        assert!((effective_weight(200.0, 3.0, 2.0) - 12.5).abs() < 1e-12);
        assert!((effective_weight(200.0, 3.0, 0.5) - 100.0).abs() < 1e-12);
        assert_eq!(effective_weight(200.0, 3.0, 0.0), 200.0);
        // The closed form on unequal loads is exactly that; on equal loads it is the P2C probability.
        let spec = ControllerSpec::new("envoy-least-request").unwrap();
        assert_eq!(formula(&spec, &[50.0, 200.0, 325.0], &[0.0, 3.0, 12.0]), vec![50.0, 50.0, 25.0]);
    }

    #[test]
    fn p2c_with_replacement_gives_the_rank_formula() {
        // Two draws with replacement from n equal hosts with distinct active counts: the r-th least busy wins if
        // drawn first and the second is not less busy ((1/n)·(n−r+1)/n), or drawn second after a busier one
        // (((n−r)/n)·(1/n)): P(r) = (2(n − r) + 1)/n². n = 4: 7/16, 5/16, 3/16, 1/16 (the busiest still wins when
        // drawn twice, unlike distinct draws).
        let spec = ControllerSpec::new("envoy-least-request").unwrap();
        let got = formula(&spec, &[1.0; 4], &[0.0, 1.0, 2.0, 3.0]);
        for (g, e) in got.iter().zip([7.0, 5.0, 3.0, 1.0]) {
            assert!((g / 4.0 - e / 16.0).abs() < 1e-15, "{got:?}");
        }
        // And the picks follow it: 200k picks, σ ≤ 0.0011, allow 0.005.
        let cands: Vec<Candidate> = (0..4).map(|i| cand(i, 100.0, i as u32)).collect();
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &cands, load_index: None };
        let seed = 41;
        let mut rng = Rng::new(seed, Stream::Balancing);
        let mut e = envoy(4, &[]);
        let mut counts = [0u32; 4];
        for _ in 0..200_000 {
            counts[e.pick(&view, &mut rng).unwrap()] += 1;
        }
        for (c, p) in counts.iter().zip([7.0, 5.0, 3.0, 1.0]) {
            assert!((f64::from(*c) / 200_000.0 - p / 16.0).abs() < 0.005, "{counts:?}; seed={seed}");
        }
    }

    #[test]
    fn unequal_weights_pick_in_proportion_to_effective_weight() {
        // Weights 100 and 300 with 1 and 2 active: effective 50 and 100, so shares ⅓ and ⅔ (σ = 0.001; 0.005).
        let cands = [cand(0, 100.0, 1), cand(1, 300.0, 2)];
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &cands, load_index: None };
        let seed = 42;
        let mut rng = Rng::new(seed, Stream::Balancing);
        let mut e = envoy(2, &[]);
        let picks = 200_000;
        let zeros = (0..picks).filter(|_| e.pick(&view, &mut rng) == Some(0)).count();
        assert!((zeros as f64 / picks as f64 - 1.0 / 3.0).abs() < 0.005, "{zeros}; seed={seed}");
        let mut w = Vec::new();
        e.weights(&view, &mut w);
        assert_eq!(w, vec![50.0, 100.0]);
    }

    #[test]
    fn slow_start_factor_at_a_quarter_of_the_window() {
        // t/window = 0.25: aggression 1 → 0.25; aggression 2 → 0.25^(1/2) = 0.5. At t/window = 0.05 the 10% floor
        // holds (0.05 < 0.1); at and after the window the factor is 1.
        let window = 40.0;
        let mut e = envoy(2, &[("slow_start_window_s", window)]);
        let quarter = from_secs_f64(window / 4.0);
        assert_eq!(e.slow_start_factor(0, quarter), 0.25);
        assert_eq!(e.slow_start_factor(0, from_secs_f64(2.0)), 0.1);
        assert_eq!(e.slow_start_factor(0, from_secs_f64(window)), 1.0);
        let e2 = envoy(2, &[("slow_start_window_s", window), ("slow_start_aggression", 2.0)]);
        assert!((e2.slow_start_factor(0, quarter) - 0.5).abs() < 1e-15);
        // At t = 0 Envoy uses 1 ms: 0.001/40 is under the floor.
        assert_eq!(e2.slow_start_factor(0, 0), 0.1);
        // While a host is in slow start even equal weights take the weighted path: weight × factor.
        let cands = [cand(0, 100.0, 0), cand(1, 100.0, 3)];
        let mut w = Vec::new();
        e.advance(quarter);
        e.weights(&HostView { now: quarter, host: 0, hosts: 1, candidates: &cands, load_index: None }, &mut w);
        assert_eq!(w, vec![25.0, 6.25]);
    }

    #[test]
    fn slow_start_restarts_at_unejection() {
        // Ejected at 1 s for 30 s: back at the 40 s sweep, then ramps over the 60 s window: at 55 s, 15/60 = 0.25.
        let mut e = envoy(11, &[("slow_start_window_s", 60.0)]);
        fail(&mut e, 3, 5, SECOND);
        assert_eq!(diag(&e, 3, "ejected"), 1.0);
        e.on_close(55 * SECOND, 0, 0);
        assert_eq!(diag(&e, 3, "ejected"), 0.0);
        assert_eq!(diag(&e, 3, "slow_start_factor"), 0.25);
    }

    #[test]
    fn ejection_time_grows_with_each_ejection_and_caps() {
        // Each time the host is unejected at a sweep it fails 5 more connects at once and is ejected again, so the
        // multiplier never decays: ejection k lasts min(30 k, 300) s, exactly, since ejections fall on sweeps.
        let mut e = envoy(11, &[]);
        let mut at = 10 * SECOND; // a sweep time of this sidecar
        let mut durations = Vec::new();
        for _ in 0..12 {
            fail(&mut e, 0, 5, at);
            assert_eq!(diag(&e, 0, "ejected"), 1.0, "ejected at {at}");
            let mut t = at;
            while diag(&e, 0, "ejected") == 1.0 {
                t += 10 * SECOND;
                e.on_close(t, 1, 0);
            }
            durations.push((t - at) / SECOND);
            at = t;
        }
        assert_eq!(durations, vec![30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300]);
        assert_eq!(diag(&e, 0, "ejection_backoff"), 11.0, "grows while backoff × 30 < 300 + 30");
    }

    #[test]
    fn the_multiplier_decays_while_the_host_stays_healthy() {
        // Three ejections in a row (multiplier 3), unejected at the 190 s sweep. Every sweep from 200 s on
        // decrements it: by 215 s it is 1 (sweeps at 200 and 210). A fresh ejection then lasts 2 × 30 = 60 s.
        let mut e = envoy(11, &[]);
        fail(&mut e, 0, 5, 10 * SECOND); // out until the 40 s sweep
        fail(&mut e, 0, 5, 40 * SECOND); // 60 s: until 100 s
        fail(&mut e, 0, 5, 100 * SECOND); // 90 s: until 190 s
        e.on_close(191 * SECOND, 1, 0);
        assert_eq!((diag(&e, 0, "ejected"), diag(&e, 0, "ejection_backoff")), (0.0, 3.0));
        e.on_close(215 * SECOND, 1, 0);
        assert_eq!(diag(&e, 0, "ejection_backoff"), 1.0);
        fail(&mut e, 0, 5, 215 * SECOND);
        assert_eq!(diag(&e, 0, "ejection_remaining_s"), 65.0, "due at 275 s, the next sweep is 280 s");
        // A long quiet spell decays it to 0 in closed form.
        e.on_close(10_000 * SECOND, 1, 0);
        assert_eq!(diag(&e, 0, "ejection_backoff"), 0.0);
    }

    #[test]
    fn queries_lost_in_a_crash_count_as_5xx() {
        // Five established connections lost mid-query are five consecutive failures: the host is ejected.
        let mut e = envoy(11, &[]);
        for _ in 0..4 {
            e.on_lost(SECOND, 3, 1_000);
        }
        assert_eq!((diag(&e, 3, "consecutive_5xx"), diag(&e, 3, "ejected")), (4.0, 0.0));
        e.on_lost(SECOND, 3, 1_000);
        assert_eq!(diag(&e, 3, "ejected"), 1.0);
    }

    #[test]
    fn a_success_resets_the_consecutive_count() {
        let mut e = envoy(11, &[]);
        fail(&mut e, 2, 4, SECOND);
        e.on_connect(SECOND, 2, true, 500);
        fail(&mut e, 2, 4, SECOND);
        assert_eq!(diag(&e, 2, "ejected"), 0.0);
        fail(&mut e, 2, 1, SECOND);
        assert_eq!(diag(&e, 2, "ejected"), 1.0);
    }

    #[test]
    fn max_ejection_percent_limits_ejections() {
        // 11 replicas at 10%: one ejection is 9.1% (allowed), a second would be 18.2% (refused).
        let mut e = envoy(11, &[]);
        fail(&mut e, 0, 5, SECOND);
        fail(&mut e, 1, 5, SECOND);
        assert_eq!((diag(&e, 0, "ejected"), diag(&e, 1, "ejected")), (1.0, 0.0));
        // The refused attempt reset the counter: five more failures try again (and are refused again).
        assert_eq!(diag(&e, 1, "consecutive_5xx"), 0.0);
        // 20 replicas at 10%: two fit exactly (10% ≤ 10%), a third does not.
        let mut e = envoy(20, &[]);
        for s in 0..3 {
            fail(&mut e, s, 5, SECOND);
        }
        assert_eq!((0..3).map(|s| diag(&e, s, "ejected")).collect::<Vec<_>>(), vec![1.0, 1.0, 0.0]);
        // 5 replicas at 10%: even one is 20%, so nothing is ejected unless always_eject_one_host.
        let mut e = envoy(5, &[]);
        fail(&mut e, 0, 5, SECOND);
        assert_eq!(diag(&e, 0, "ejected"), 0.0);
        let mut e = envoy(5, &[("always_eject_one_host", 1.0)]);
        fail(&mut e, 0, 5, SECOND);
        fail(&mut e, 1, 5, SECOND);
        assert_eq!((diag(&e, 0, "ejected"), diag(&e, 1, "ejected")), (1.0, 0.0));
    }

    #[test]
    fn ejected_hosts_get_no_picks_until_panic() {
        // 4 replicas, ejections unlimited. Two ejected: 50% healthy is not below the 50% threshold, so only the
        // two healthy ones are picked. Three ejected: 25% < 50% (and 1.4 × 25% < 100%): panic, all four are used.
        let cands: Vec<Candidate> = (0..4).map(|i| cand(i, 100.0, 0)).collect();
        let view = HostView { now: 2 * SECOND, host: 0, hosts: 1, candidates: &cands, load_index: None };
        let seed = 43;
        let mut rng = Rng::new(seed, Stream::Balancing);
        let mut e = envoy(4, &[("max_ejection_percent", 100.0)]);
        fail(&mut e, 0, 5, SECOND);
        fail(&mut e, 1, 5, SECOND);
        let mut seen = [0u32; 4];
        for _ in 0..10_000 {
            seen[e.pick(&view, &mut rng).unwrap()] += 1;
        }
        assert_eq!((seen[0], seen[1]), (0, 0), "{seen:?}");
        assert!(seen[2] > 4_000 && seen[3] > 4_000, "{seen:?}; seed={seed}");
        fail(&mut e, 2, 5, SECOND);
        assert_eq!(diag(&e, 2, "panic"), 1.0);
        let mut seen = [0u32; 4];
        for _ in 0..10_000 {
            seen[e.pick(&view, &mut rng).unwrap()] += 1;
        }
        // All idle and equal: the first draw wins, uniform over four: 2500 each, σ = 43.
        assert!(seen.iter().all(|&s| (2_300..2_700).contains(&s)), "{seen:?}; seed={seed}");
        // Without panic (threshold 0) and no healthy candidate left: no healthy upstream.
        let mut e = envoy(4, &[("max_ejection_percent", 100.0), ("healthy_panic_threshold", 0.0)]);
        for s in 0..4 {
            fail(&mut e, s, 5, SECOND);
        }
        assert_eq!(e.pick(&view, &mut rng), None);
    }

    #[test]
    fn panic_needs_the_overprovisioned_health_under_100_percent() {
        // Threshold 80%, 10 hosts, 2 ejected: 80% healthy is not below 80%. 3 ejected: 70% < 80% and
        // 1.4 × 70% = 98% < 100%: panic. With threshold 90% and 2 ejected: 80% < 90%, but 1.4 × 80% = 112% ≥ 100%,
        // so Envoy still does not panic.
        let mut e = envoy(10, &[("max_ejection_percent", 100.0), ("healthy_panic_threshold", 80.0)]);
        fail(&mut e, 0, 5, SECOND);
        fail(&mut e, 1, 5, SECOND);
        assert!(!e.in_panic());
        fail(&mut e, 2, 5, SECOND);
        assert!(e.in_panic());
        let mut e = envoy(10, &[("max_ejection_percent", 100.0), ("healthy_panic_threshold", 90.0)]);
        fail(&mut e, 0, 5, SECOND);
        fail(&mut e, 1, 5, SECOND);
        assert!(!e.in_panic());
    }

    #[test]
    fn non_members_are_ignored() {
        // The primary (not a replica) never counts toward ejections.
        let mut spec = ControllerSpec::new("envoy-least-request").unwrap();
        spec.set("always_eject_one_host", 1.0).unwrap();
        let mut e = EnvoyLeastRequest::new(Settings::from_spec(&spec), vec![false, true, true], 0);
        fail(&mut e, 0, 50, SECOND);
        assert_eq!(diag(&e, 0, "ejected"), 0.0);
        assert_eq!(e.ejected, 0);
    }
}
