//! `conn-p`: Tim Starling's proposed proportional controller on connection counts.
//!
//! Source: mediawiki.org, "User:Tim Starling (WMF)/LoadBalancer connection metric", and the Phabricator task in
//! seed 002 ("LoadMonitor connection weighting reimagined"); REFERENCE §2. C_i is the adjusted connection count,
//! open connections plus connection failures over the last 10 s (see `counts`). With configured weights
//! normalised to r_i (Σ r = 1) and T = Σ C:
//!
//! ```text
//! ΔC_i = C_i − r_i·T            (positive: too many connections)
//! w′_i = r_i − s·ΔC_i/(1 + T/E)  then clamp at 0 and renormalise to Σ w′ = 1
//! ```
//!
//! S = 1/s is the discrepancy (in connections) that moves a load by 100 percentage points at low traffic, and E
//! is the total connection count at which the adjustment is halved. At high traffic (T ≫ E) the adjustment tends
//! to (E/S)·(C_i/T − r_i): a gain of E/S on the connection-ratio error, Tim's normalised form with q = E/S.
//!
//! **Defaults.** The proposal gives no values for S and E, so they are chosen from the task's objectives:
//! - S = 40 connections: "MW shouldn't completely depool a server with one connection because the other servers
//!   have zero connections". With one connection in total, on server i: ΔC_i = 1 − r_i, T = 1, and w′_i > 0 needs
//!   S > (1 − r_i)/(r_i·(1 + 1/E)). For s1's lightest replicas (load 50 of 1875, r = 0.0267) that is 35.6 with
//!   E = 40; S = 40 is the round number above it.
//! - E = 40 connections: the ratio gain E/S at high traffic is 1 (the normalised form with q = 1), so under heavy
//!   load the connection-ratio error is at least halved, while at plain-s1 rates (about 5 connections per host)
//!   the adjustment is within 12% of the simple scaled form the proposal calls "defensible and easy to
//!   understand". Exact matching of ratios under heavy load would need E/S ≫ 1, which amplifies noise; it is a
//!   setting.
//!
//! **Counts are the host's own by default** (scope 0, "host": APCu, as the proposal says); scope 1 ("section")
//! averages every host's counts through a shared aggregate refreshed every `refresh_s` (see `counts`).
//!
//! Simplifications: the failure window uses whole-second buckets; open counts cannot drift in the engine, so the
//! proposal's drift-correcting window on them is not modelled.

use std::rc::Rc;

pub(crate) use super::conn_index::Terms;
use super::conn_index::{ConnIndex, Expiring};
use super::counts::{ConnCounts, SectionCounts};
use crate::controller::Role;
use crate::controller::{pick_weighted, Controller, ControllerInfo, ControllerSpec, HostView, ParamInfo, PID_TERMS};
use crate::rng::Rng;
use crate::time::{from_secs_f64, SimDuration, SimTime};

/// Registry entry.
pub const CONN_P: ControllerInfo = ControllerInfo {
    main_params: &["full_swing_conns", "halving_conns"],
    name: "conn-p",
    summary: "Tim Starling's proposed P controller: w′ = r − ΔC/(S·(1 + T/E)) on open conns + failures in 10 s",
    rule: "a random draw, each server's chance its weight ÷ the total: its share moved down in proportion to how far its open connections and recent failures exceed its due",
    params: PARAMS,
    build,
    formula: Some(formula),
    probe_timeout_ms: crate::controller::PROBE_TIMEOUT_MS,
    charted_terms: PID_TERMS,
    bytes_per_server: 160,
};

/// The scope and window parameters conn-p and pid share.
pub(crate) const FULL_SWING: ParamInfo = ParamInfo {
    key: "full_swing_conns",
    label: "Connection gap for a full swing",
    unit: "conns",
    default: 40.0,
    min: 0.001,
    max: 1e9,
    choices: &[],
    help: "the gap in connections that moves a load by 100 points at low traffic (Tim Starling's S in the proposal; chosen, see the docs)",
};
pub(crate) const HALVING: ParamInfo = ParamInfo {
    key: "halving_conns",
    label: "Connections that halve the adjustment",
    unit: "conns",
    default: 40.0,
    min: 0.001,
    max: 1e9,
    choices: &[],
    help: "the total connection count at which the adjustment is halved (Tim Starling's E in the proposal; chosen so E/S = 1, see the docs)",
};
pub(crate) const FAILURE_WINDOW: ParamInfo = ParamInfo {
    key: "failure_window_s",
    label: "How long failures count",
    unit: "s",
    default: 10.0,
    min: 1.0,
    max: 600.0,
    choices: &[],
    help: "connection failures count in C for this long, in whole seconds (the proposal: the last 10 s)",
};
pub(crate) const SCOPE: ParamInfo = ParamInfo {
    key: "scope",
    label: "Whose counts are used",
    unit: "0=host 1=section",
    default: 0.0,
    min: 0.0,
    max: 1.0,
    choices: &[(0.0, "this app server's own counts"), (1.0, "every app server's counts, shared")],
    help: "0: the host's own counts (APCu, the proposal); 1: all hosts' counts averaged via shared counters",
};
pub(crate) const REFRESH: ParamInfo = ParamInfo {
    key: "refresh_s",
    label: "Shared counts reread every",
    unit: "s",
    default: 1.0,
    min: 0.0,
    max: 3600.0,
    choices: &[],
    help: "section scope: a host rereads the shared counters at most this often (an APCu copy of memcached)",
};

const PARAMS: &[ParamInfo] = &[FULL_SWING, HALVING, FAILURE_WINDOW, SCOPE, REFRESH];

/// Computes r_i (appended to `ratios`) and the error e_i = ΔC_i/(1 + T/E) (appended to `errors`); returns T.
/// With no positive load every ratio is 0.
pub(crate) fn error_signal(
    loads: &[f64],
    counts: &[f64],
    halving: f64,
    ratios: &mut Vec<f64>,
    errors: &mut Vec<f64>,
) -> f64 {
    let total_load: f64 = loads.iter().map(|w| w.max(0.0)).sum();
    let total: f64 = counts.iter().sum();
    let damping = 1.0 + total / halving;
    for (&w, &c) in loads.iter().zip(counts) {
        let r = if total_load > 0.0 { w.max(0.0) / total_load } else { 0.0 };
        ratios.push(r);
        errors.push((c - r * total) / damping);
    }
    total
}

/// Clamps negative weights to 0 and rescales them to sum to 1; returns whether any was clamped. All-zero
/// weights stay zero.
pub(crate) fn clamp_and_normalise(weights: &mut [f64]) -> bool {
    let mut clamped = false;
    for w in weights.iter_mut() {
        if *w < 0.0 || w.is_nan() {
            *w = 0.0;
            clamped = true;
        }
    }
    let sum: f64 = weights.iter().sum();
    if sum > 0.0 {
        weights.iter_mut().for_each(|w| *w /= sum);
    }
    clamped
}

/// The proposal's weights (summing to 1) from configured loads and adjusted connection counts C_i.
pub fn conn_p_weights(loads: &[f64], counts: &[f64], full_swing: f64, halving: f64) -> Vec<f64> {
    let (mut ratios, mut errors) = (Vec::with_capacity(loads.len()), Vec::with_capacity(loads.len()));
    error_signal(loads, counts, halving, &mut ratios, &mut errors);
    let s = 1.0 / full_swing;
    let mut w: Vec<f64> = ratios.iter().zip(&errors).map(|(r, e)| r - s * e).collect();
    clamp_and_normalise(&mut w);
    w
}

/// The runbook calculator: the weights in the configured loads' units (they sum to Σ loads).
fn formula(spec: &ControllerSpec, loads: &[f64], conns: &[f64]) -> Vec<f64> {
    let total_load: f64 = loads.iter().sum();
    conn_p_weights(loads, conns, spec.get("full_swing_conns"), spec.get("halving_conns"))
        .into_iter()
        .map(|w| w * total_load)
        .collect()
}

/// Builds each host's connection metric in the scope the spec asks for (shared by conn-p and pid). `scope` is a
/// number because parameters are numbers: values from 0.5 up mean section scope.
pub(crate) fn build_counts(spec: &ControllerSpec, servers: usize, hosts: usize) -> Vec<ConnCounts> {
    let window_s = spec.get("failure_window_s").round().max(1.0) as u64;
    if spec.get("scope") >= 0.5 {
        let shared = SectionCounts::shared(hosts, servers, window_s);
        let refresh: SimDuration = from_secs_f64(spec.get("refresh_s"));
        (0..hosts).map(|h| ConnCounts::section_scope(h, hosts, Rc::clone(&shared), refresh)).collect()
    } else {
        (0..hosts).map(|h| ConnCounts::host_scope(h, hosts, servers, window_s)).collect()
    }
}

fn build(spec: &ControllerSpec, servers: &[Role], hosts: usize) -> Vec<Box<dyn Controller>> {
    let (full_swing, halving) = (spec.get("full_swing_conns"), spec.get("halving_conns"));
    build_counts(spec, servers.len(), hosts)
        .into_iter()
        .map(|counts| {
            Box::new(ConnP {
                window_s: counts.host_window_s(),
                counts,
                gain: 1.0 / full_swing,
                halving,
                terms: vec![None; servers.len()],
                scratch: Scratch::default(),
                index: None,
                expiring: Expiring::default(),
                indexed_last: false,
            }) as Box<dyn Controller>
        })
        .collect()
}

/// Reused buffers, so picks do not allocate.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    pub loads: Vec<f64>,
    pub counts: Vec<f64>,
    pub ratios: Vec<f64>,
    pub errors: Vec<f64>,
    pub weights: Vec<f64>,
}

impl Scratch {
    /// Fills loads, counts, ratios and errors for `view`; returns T.
    pub(crate) fn fill(&mut self, view: &HostView<'_>, counts: &mut ConnCounts, halving: f64, live: bool) -> f64 {
        self.loads.clear();
        self.counts.clear();
        self.ratios.clear();
        self.errors.clear();
        self.weights.clear();
        self.loads.extend(view.candidates.iter().map(|c| c.configured_load));
        if live {
            counts.measure(view, &mut self.counts);
        } else {
            counts.measure_now(view, &mut self.counts);
        }
        error_signal(&self.loads, &self.counts, halving, &mut self.ratios, &mut self.errors)
    }
}

/// One app host's conn-p controller.
#[derive(Debug)]
pub struct ConnP {
    counts: ConnCounts,
    /// s = 1/S, weight fraction per connection of error.
    gain: f64,
    halving: f64,
    terms: Vec<Option<Terms>>,
    scratch: Scratch,
    /// The failure window in host scope, where picks over the full replica list go through `index`.
    window_s: Option<u64>,
    /// The weights kept current change by change (host scope; built at the first pick over the full list).
    index: Option<ConnIndex>,
    /// This host's failures still in the window, to take each out of the index when it leaves.
    expiring: Expiring,
    /// The last pick went through the index: `terms` is then derived from it when asked.
    indexed_last: bool,
}

impl ConnP {
    fn weights_into(&self, sc: &mut Scratch) -> bool {
        sc.weights.extend(sc.ratios.iter().zip(&sc.errors).map(|(r, e)| r - self.gain * e));
        clamp_and_normalise(&mut sc.weights)
    }
}

impl Controller for ConnP {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        let index = &mut self.index;
        self.expiring.expire(view.now, |server| {
            if let Some(index) = index {
                index.change(server, None, -1);
            }
        });
        if let (Some(loads), Some(_)) = (view.load_index, self.window_s) {
            if !self.index.as_ref().is_some_and(|i| i.fits(loads.generation(), view.candidates)) {
                let mut counts = Vec::with_capacity(view.candidates.len());
                self.counts.measure_now(view, &mut counts);
                self.index = Some(ConnIndex::new(loads.generation(), view.candidates, &counts, self.terms.len()));
            }
            self.indexed_last = true;
            return self.index.as_mut().and_then(|i| i.pick(self.gain, self.halving, rng));
        }
        if std::mem::take(&mut self.indexed_last) {
            if let Some(index) = &self.index {
                index.write_terms(self.gain, &mut self.terms);
            }
        }
        let mut sc = std::mem::take(&mut self.scratch);
        sc.fill(view, &mut self.counts, self.halving, true);
        self.weights_into(&mut sc);
        for (k, c) in view.candidates.iter().enumerate() {
            let p = self.gain * sc.errors[k];
            self.terms[c.server] = Some(Terms {
                conns: sc.counts[k],
                error: sc.errors[k],
                p,
                i: 0.0,
                d: 0.0,
                clamped: sc.ratios[k] - p < 0.0,
                weight: sc.weights[k],
            });
        }
        let weights = &sc.weights;
        let chosen = pick_weighted(view.candidates, rng, |i, _| weights[i]);
        self.scratch = sc;
        if let Some(k) = chosen {
            self.counts.on_pick(view.candidates[k].server);
        }
        chosen
    }

    fn on_in_flight(&mut self, server: usize, in_flight: u32) {
        if let Some(index) = &mut self.index {
            index.change(server, Some(in_flight), 0);
        }
    }

    fn on_connect(&mut self, now: SimTime, server: usize, ok: bool, _elapsed: SimDuration) {
        self.counts.on_connect(now, server, ok);
        if let (false, Some(window_s)) = (ok, self.window_s) {
            self.expiring.push(now, server, window_s);
            if let Some(index) = &mut self.index {
                index.change(server, None, 1);
            }
        }
    }

    fn on_close(&mut self, _now: SimTime, server: usize, _held: SimDuration) {
        self.counts.on_close(server);
    }

    /// In section scope, the section's open connections to the server in the last snapshot; in host scope
    /// none (the breaker then uses the host's own in-flight count, which is what conn-p sees).
    fn conn_estimate(&self, server: usize) -> Option<f64> {
        self.counts.section_open(server)
    }

    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        let mut sc = Scratch::default();
        let mut counts_view = Vec::new();
        self.counts.measure_now(view, &mut counts_view);
        sc.loads.extend(view.candidates.iter().map(|c| c.configured_load));
        error_signal(&sc.loads, &counts_view, self.halving, &mut sc.ratios, &mut sc.errors);
        self.weights_into(&mut sc);
        out.extend_from_slice(&sc.weights);
    }

    fn diagnostics(&self, server: usize, out: &mut Vec<(&'static str, f64)>) {
        let indexed = self.indexed_last.then(|| self.index.as_ref().and_then(|i| i.terms(server, self.gain)));
        if let Some(t) = indexed.unwrap_or_else(|| self.terms.get(server).copied().flatten()) {
            t.push(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn hand_computed_weights() {
        // Loads 1:1:2 → r = (0.25, 0.25, 0.5). C = (6, 0, 2) → T = 8, r·T = (2, 2, 4), ΔC = (4, −2, −2).
        // S = 10 (s = 0.1), E = 8 → 1 + T/E = 2 → s·ΔC/2 = (0.2, −0.1, −0.1) → w′ = (0.05, 0.35, 0.6), Σ = 1.
        let w = conn_p_weights(&[1.0, 1.0, 2.0], &[6.0, 0.0, 2.0], 10.0, 8.0);
        assert!(close(&w, &[0.05, 0.35, 0.6]), "{w:?}");
        // C = (20, 0, 0) → T = 20, r·T = (5, 5, 10), ΔC = (15, −5, −10); E = 20 → factor 2; s = 0.1:
        // adjustment (0.75, −0.25, −0.5) → w′ = (−0.5, 0.5, 1.0) → clamp (0, 0.5, 1.0) → renormalise (0, ⅓, ⅔).
        let w = conn_p_weights(&[1.0, 1.0, 2.0], &[20.0, 0.0, 0.0], 10.0, 20.0);
        assert!(close(&w, &[0.0, 1.0 / 3.0, 2.0 / 3.0]), "{w:?}");
    }

    #[test]
    fn with_no_connections_the_weights_are_the_configured_loads() {
        let spec = ControllerSpec::new("conn-p").unwrap();
        assert_eq!(formula(&spec, &[50.0, 200.0, 325.0], &[0.0; 3]), vec![50.0, 200.0, 325.0]);
        // Connections in exact proportion to the loads: ΔC = 0, so nothing moves either.
        let w = formula(&spec, &[50.0, 200.0, 250.0], &[10.0, 40.0, 50.0]);
        assert!(close(&w, &[50.0, 200.0, 250.0]), "{w:?}");
    }

    /// s1's replica loads (REFERENCE §1).
    const S1: [f64; 11] = [50.0, 50.0, 50.0, 200.0, 200.0, 200.0, 200.0, 325.0, 200.0, 200.0, 200.0];

    #[test]
    fn one_connection_gets_a_small_response_and_depools_nothing() {
        // One connection in total, on the lightest replica (r = 50/1875): ΔC = 1 − r = 0.97333, T = 1, and the
        // adjustment is s·ΔC/(1 + 1/40) = 0.97333/40/1.025 = 0.02374 < r = 0.02667: it keeps 11% of its weight
        // (before renormalising); every other server gains r_j·s·T/(1+T/E) = r_j·0.0244, i.e. 2.4% of its own.
        for lightest in [true, false] {
            let i = if lightest { 0 } else { 7 };
            let mut counts = [0.0; 11];
            counts[i] = 1.0;
            let w = conn_p_weights(&S1, &counts, 40.0, 40.0);
            assert!(w.iter().all(|&x| x > 0.0), "a single connection depooled a server: {w:?}");
            let r = S1[i] / 1875.0;
            let expected = r - (1.0 - r) / 40.0 / 1.025;
            // No clamping happened, so Σ w′ = 1 and there is nothing to renormalise.
            assert!((w[i] - expected).abs() < 1e-12, "{} vs {expected}", w[i]);
            let j = if lightest { 3 } else { 0 };
            let rj = S1[j] / 1875.0;
            assert!((w[j] - rj * (1.0 + 1.0 / 40.0 / 1.025)).abs() < 1e-12);
        }
    }

    /// Mean-field closed loop: server i holds C_i = λ·x_i·L_i connections (Little's law) when it gets the share
    /// x_i of λ requests/s. Iterates x ← x + 0.02·(w′(C(x)) − x) to the fixed point (the small step keeps the
    /// iteration stable where the loop gain is high) and returns the connection ratios.
    fn closed_loop_conn_ratios(loads: &[f64], latencies: &[f64], rate: f64, s: f64, e: f64) -> Vec<f64> {
        let total: f64 = loads.iter().sum();
        let mut x: Vec<f64> = loads.iter().map(|l| l / total).collect();
        for _ in 0..20_000 {
            let c: Vec<f64> = x.iter().zip(latencies).map(|(x, l)| rate * x * l).collect();
            let w = conn_p_weights(loads, &c, s, e);
            x = x.iter().zip(&w).map(|(a, b)| a + 0.02 * (b - a)).collect();
        }
        let c: Vec<f64> = x.iter().zip(latencies).map(|(x, l)| rate * x * l).collect();
        let t: f64 = c.iter().sum();
        c.iter().map(|c| c / t).collect()
    }

    #[test]
    fn under_heavy_load_connection_ratios_approach_the_loads() {
        // Two equal loads, one server 10× slower. Open loop (static) the slow one holds 10/11 = 0.909 of the
        // connections, 0.409 above its load share. At high traffic the adjustment tends to (E/S)(c − r) with
        // E/S = 1, so the fixed point solves x = 1 − c, c = 10x/(9x + 1): 9x² + 2x − 1 = 0, x = (√40 − 2)/18 =
        // 0.2403, c = 0.7597 (error 0.26). The error must shrink monotonically with traffic towards that limit.
        let loads = [1.0, 1.0];
        let latencies = [1.0, 0.1];
        let mut last_error = 10.0 / 11.0 - 0.5;
        for rate in [1.0, 10.0, 100.0, 1_000.0, 100_000.0] {
            let c = closed_loop_conn_ratios(&loads, &latencies, rate, 40.0, 40.0);
            let error = c[0] - 0.5;
            assert!(error < last_error, "rate {rate}: error {error} did not shrink from {last_error}");
            last_error = error;
        }
        let x = (40f64.sqrt() - 2.0) / 18.0;
        assert!((last_error - (10.0 * x / (9.0 * x + 1.0) - 0.5)).abs() < 0.002, "{last_error}");
        // A larger E/S tightens it further: E = 400 leaves less than half that error at the same traffic.
        let tight = closed_loop_conn_ratios(&loads, &latencies, 100_000.0, 40.0, 400.0)[0] - 0.5;
        assert!(tight < last_error / 2.0, "{tight} vs {last_error}");
    }

    #[test]
    fn a_server_failing_fast_does_not_attract_the_traffic() {
        // A refusing server holds no open connections, but its failures count: with 50 failures in the window
        // on the first of three equal servers and 2 open on each other, T = 54, ΔC = (50 − 18, 2 − 18, 2 − 18),
        // 1 + T/E = 2.35, s = 1/40: adjustment (0.340, −0.170, −0.170) → w′ = (−0.007, 0.503, 0.503) → clamped to 0.
        let w = conn_p_weights(&[1.0, 1.0, 1.0], &[50.0, 2.0, 2.0], 40.0, 40.0);
        assert_eq!(w[0], 0.0);
        assert!((w[1] - 0.5).abs() < 1e-12);
        // Without counting failures it would look idle and be favoured: C = (0, 2, 2), T = 4, ΔC = (−4/3, ⅔, ⅔).
        let blind = conn_p_weights(&[1.0, 1.0, 1.0], &[0.0, 2.0, 2.0], 40.0, 40.0);
        assert!(blind[0] > 1.0 / 3.0 && blind[0] < 0.4, "{blind:?}");
    }
}
