//! `least-conn`: the fewest in-flight connections on this host's view (REFERENCE §3, "HAProxy leastconn: fewest
//! connections incl. queued"; issue 3: "fewest in-flight on the host's view").
//!
//! Each pick takes the candidate with the fewest connections this host has open or opening to it. That count
//! already includes what HAProxy adds as "queued": connects still waiting and queries waiting for a server slot.
//! Ties (very common: an app host holds about 5 connections across 11 replicas at production rates) are broken at
//! random in proportion to the configured loads, so an idle host follows the configured loads exactly.
//!
//! HAProxy's own key is weighted (`src/lb_fwlc.c`, `fwlc_queue_srv`): key = (inflight + 1) · SRV_EWGHT_MAX /
//! eweight, and 0 for a server with nothing in flight, "so that under low loads it's not always the single server
//! with the highest weight that gets picked". `weighted_leastconn = 1` uses that key; the default 0 is the plain
//! count the issue names. HAProxy breaks ties in tree order (servers with equal keys rotate); loadlab breaks them
//! by configured load at random, which gives the same long-run shares without a per-host rotation state.
//!
//! The pathology this controller is here to show: a server that refuses every connect within one round trip has
//! about zero connections in flight, so it is always among the least busy and is tried first far more often than
//! its configured share (see `tests/all/controllers_production.rs`). Nothing here notices failures; HAProxy relies
//! on health checks (`inter 2s, rise 2, fall 3`) for that, which this controller does not model.

use super::whole;
use crate::config::ServerConfig;
use crate::controller::{
    per_host, pick_weighted, Candidate, Controller, ControllerInfo, ControllerSpec, HostView, ParamInfo,
};
use crate::rng::Rng;

/// Registry entry.
pub const INFO: ControllerInfo = ControllerInfo {
    name: "least-conn",
    summary: "fewest in-flight connections on this host's view (HAProxy leastconn); ties by configured load",
    params: &[ParamInfo {
        key: "weighted_leastconn",
        unit: "0/1",
        default: 0.0,
        min: 0.0,
        max: 1.0,
        help: "0: fewest in-flight (issue 3); 1: HAProxy's fwlc key (in-flight + 1)/weight with idle servers first (lb_fwlc.c)",
    }],
    build,
    formula: Some(formula),
    probe_timeout_ms: crate::controller::PROBE_TIMEOUT_MS,
};

fn build(spec: &ControllerSpec, servers: &[ServerConfig], hosts: usize) -> Vec<Box<dyn Controller>> {
    let weighted = whole(spec.get("weighted_leastconn")) == 1;
    per_host(hosts, |_| LeastConn::new(weighted, servers.len()))
}

/// The closed form: each server's exact pick probability (the least-key servers share it by configured load),
/// scaled to the sum of the loads.
fn formula(spec: &ControllerSpec, loads: &[f64], conns: &[f64]) -> Vec<f64> {
    let weighted = whole(spec.get("weighted_leastconn")) == 1;
    let keys: Vec<f64> = loads.iter().zip(conns).map(|(&l, &c)| key(weighted, l, c)).collect();
    probabilities_scaled(loads, &keys)
}

/// The sorting key: in-flight count, or HAProxy's (in-flight + 1)/weight with 0 for an idle server. Servers with
/// no positive load never win (∞).
fn key(weighted: bool, load: f64, in_flight: f64) -> f64 {
    if load.is_nan() || load <= 0.0 {
        f64::INFINITY
    } else if !weighted {
        in_flight
    } else if in_flight <= 0.0 {
        0.0
    } else {
        (in_flight + 1.0) / load
    }
}

/// Pick probability × Σ loads: the servers at the least key share it in proportion to their loads.
fn probabilities_scaled(loads: &[f64], keys: &[f64]) -> Vec<f64> {
    let least = keys.iter().copied().fold(f64::INFINITY, f64::min);
    let total: f64 = loads.iter().map(|l| l.max(0.0)).sum();
    let tied: f64 = loads.iter().zip(keys).filter(|(_, &k)| k == least).map(|(l, _)| l.max(0.0)).sum();
    loads
        .iter()
        .zip(keys)
        .map(|(&l, &k)| if k == least && tied > 0.0 { l.max(0.0) / tied * total } else { 0.0 })
        .collect()
}

/// One host's least-connections balancer.
#[derive(Clone, Debug)]
pub struct LeastConn {
    weighted: bool,
    /// In-flight count per server at this host's last pick (for diagnostics).
    last_in_flight: Vec<u32>,
    /// How many candidates shared the least key at the last pick.
    last_tied: usize,
}

impl LeastConn {
    /// A balancer for a section of `servers` servers; `weighted` selects HAProxy's weighted key.
    pub fn new(weighted: bool, servers: usize) -> LeastConn {
        LeastConn { weighted, last_in_flight: vec![0; servers], last_tied: 0 }
    }

    fn key_of(&self, c: &Candidate) -> f64 {
        key(self.weighted, c.configured_load, f64::from(c.in_flight))
    }
}

impl Controller for LeastConn {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        let cands = view.candidates;
        let least = cands.iter().map(|c| self.key_of(c)).fold(f64::INFINITY, f64::min);
        if !least.is_finite() {
            return None;
        }
        let chosen = pick_weighted(cands, rng, |_, c| if self.key_of(c) == least { c.configured_load } else { 0.0 })?;
        self.last_tied = cands.iter().filter(|c| self.key_of(c) == least).count();
        for c in cands {
            if let Some(slot) = self.last_in_flight.get_mut(c.server) {
                *slot = c.in_flight;
            }
        }
        Some(chosen)
    }

    /// The exact probability of picking each candidate now, scaled to the sum of their configured loads.
    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        let loads: Vec<f64> = view.candidates.iter().map(|c| c.configured_load).collect();
        let keys: Vec<f64> = view.candidates.iter().map(|c| self.key_of(c)).collect();
        out.extend(probabilities_scaled(&loads, &keys));
    }

    fn diagnostics(&self, server: usize, out: &mut Vec<(&'static str, f64)>) {
        if let Some(&n) = self.last_in_flight.get(server) {
            out.push(("in_flight", f64::from(n)));
            out.push(("tied_at_least", self.last_tied as f64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn cand(server: usize, load: f64, in_flight: u32) -> Candidate {
        Candidate { server, configured_load: load, in_flight }
    }

    fn frequencies(lc: &mut LeastConn, cands: &[Candidate], picks: u32, seed: u64) -> Vec<f64> {
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: cands, load_index: None };
        let mut rng = Rng::new(seed, Stream::Balancing);
        let mut counts = vec![0u32; cands.len()];
        for _ in 0..picks {
            counts[lc.pick(&view, &mut rng).unwrap()] += 1;
        }
        counts.iter().map(|&c| f64::from(c) / f64::from(picks)).collect()
    }

    #[test]
    fn the_least_busy_always_wins() {
        let cands = [cand(0, 325.0, 3), cand(1, 50.0, 1), cand(2, 200.0, 2)];
        let mut rng = Rng::new(5, Stream::Balancing);
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &cands, load_index: None };
        let mut lc = LeastConn::new(false, 3);
        for _ in 0..1000 {
            assert_eq!(lc.pick(&view, &mut rng), Some(1));
        }
        assert_eq!(lc.diagnostics_vec(1), vec![("in_flight", 1.0), ("tied_at_least", 1.0)]);
    }

    #[test]
    fn ties_split_by_configured_load() {
        // Servers 0 and 2 tie at 1 in flight with loads 50 and 150: shares ¼ and ¾; server 1 (2 in flight) none.
        // 200k picks: σ = √(3/16/200k) = 0.001; allow 0.005.
        let cands = [cand(0, 50.0, 1), cand(1, 500.0, 2), cand(2, 150.0, 1)];
        let seed = 31;
        let freq = frequencies(&mut LeastConn::new(false, 3), &cands, 200_000, seed);
        assert!((freq[0] - 0.25).abs() < 0.005 && freq[1] == 0.0, "{freq:?}; seed={seed}");
        let spec = ControllerSpec::new("least-conn").unwrap();
        assert_eq!(formula(&spec, &[50.0, 500.0, 150.0], &[1.0, 2.0, 1.0]), vec![175.0, 0.0, 525.0]);
    }

    #[test]
    fn haproxy_key_weighs_by_load_and_puts_idle_servers_first() {
        // Keys (n + 1)/w: server 0: 3/50 = 0.06, server 1: 5/200 = 0.025, server 2: idle → 0.
        let mut spec = ControllerSpec::new("least-conn").unwrap();
        spec.set("weighted_leastconn", 1.0).unwrap();
        assert_eq!(formula(&spec, &[50.0, 200.0, 100.0], &[2.0, 4.0, 0.0]), vec![0.0, 0.0, 350.0]);
        // Without the idle one, the lower key wins although it has more in flight (4 > 2).
        assert_eq!(formula(&spec, &[50.0, 200.0], &[2.0, 4.0]), vec![0.0, 250.0]);
        // The plain count would take server 0 instead.
        let plain = ControllerSpec::new("least-conn").unwrap();
        assert_eq!(formula(&plain, &[50.0, 200.0], &[2.0, 4.0]), vec![250.0, 0.0]);
    }

    impl LeastConn {
        fn diagnostics_vec(&self, server: usize) -> Vec<(&'static str, f64)> {
            let mut out = Vec::new();
            self.diagnostics(server, &mut out);
            out
        }
    }
}
