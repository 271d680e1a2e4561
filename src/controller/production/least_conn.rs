//! `least-conn`: HAProxy's weighted leastconn on this host's view (REFERENCE §3; issue 3: "fewest in-flight on
//! the host's view"; issue 14: "HAProxy's leastconn is always weighted").
//!
//! Source: HAProxy `src/lb_fwlc.c`, `fwlc_queue_srv` (2.x): a server's key in the ebtree is
//! `inflight ? (inflight + 1) · SRV_EWGHT_MAX / eweight : 0`, with inflight = served + queued and eweight its
//! effective weight; the pick is the first server of the tree (`fwlc_get_next_server`). The comment there: the
//! +1 "sorts by weights in case the server is picked", and "servers with no connection are always picked first so
//! that under low loads, it's not always the single server with the highest weight that gets picked". A server is
//! re-inserted (`fwlc_srv_reposition`) whenever it takes or releases a connection, and an ebtree keeps equal keys
//! in insertion order, so among equal keys (in particular among idle servers) the one whose count changed longest
//! ago comes first: FIFO, least recently used first. Initially that is config order.
//!
//! Here inflight is this host's connections open or opening to the server (which already includes what HAProxy
//! counts as queued), eweight is the configured load, and SRV_EWGHT_MAX is the candidates' largest load, so
//! key = (inflight + 1)·max_load/load: the same order as HAProxy's without its integer truncation (HAProxy's
//! weights are integers 1–256 scaled by 16; truncation only turns near-ties into ties). A server is "touched"
//! when this host picks it and when one of its connections ends (close, lost, or failed connect).
//!
//! Consequence: an idle host does NOT follow the configured loads. When every server is idle (keys 0), picks go
//! round-robin in FIFO order, so at low traffic every server gets the same share whatever its load; weights
//! matter only once servers hold connections. `weighted_leastconn = 0` keeps the plain count of issue 3 (fewest
//! in flight, ties broken at random in proportion to the configured loads, which does follow the loads when idle).
//!
//! Picks over the host's full replica list (the first pick of a request with no pins and no zero loads) read a
//! min-tree of (key, FIFO stamp) per server kept current as counts change and servers are touched: O(log n), the
//! same choice as the scan, which still serves filtered lists (re-picks after a failed connect).
//!
//! The pathology this controller is here to show: a server that refuses every connect within one round trip has
//! about zero connections in flight, so it is always among the least busy and is tried first far more often than
//! its configured share (see `tests/all/controllers_production.rs`). Nothing here notices failures; HAProxy relies
//! on health checks (`inter 2s, rise 2, fall 3`) for that, which this controller does not model.

use super::whole;
use crate::controller::load_index::LoadIndex;
use crate::controller::pick_index::{InFlight, MinTree};
use crate::controller::Role;
use crate::controller::{
    per_host, pick_weighted, Candidate, Controller, ControllerInfo, ControllerSpec, HostView, ParamInfo,
};
use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};

/// Registry entry.
pub const INFO: ControllerInfo = ControllerInfo {
    main_params: &["weighted_leastconn"],
    name: "least-conn",
    summary: "HAProxy's weighted leastconn on this host's view: key (in-flight + 1)·max/load, idle first, ties FIFO",
    rule: "no draw: the server with the fewest open connections for its load (HAProxy's weighted leastconn: lowest (open + 1) × largest load ÷ its load, an idle server first, ties to the one picked longest ago), so it gets the whole chance",
    params: &[ParamInfo {
        key: "weighted_leastconn",
        label: "Weigh by configured load",
        unit: "0/1",
        default: 1.0,
        min: 0.0,
        max: 1.0,
        choices: &[(1.0, "HAProxy's weighted key"), (0.0, "plain fewest in flight")],
        help: "1: fewest in flight for its configured load, idle servers first, as HAProxy weighs them; 0: plain fewest in flight, ties by load (HAProxy's fwlc key (in-flight + 1)·max/weight, ties first in first out, lb_fwlc.c)",
    }],
    build,
    formula: Some(formula),
    probe_timeout_ms: crate::controller::PROBE_TIMEOUT_MS,
    charted_terms: &[],
    bytes_per_server: 128,
};

fn build(spec: &ControllerSpec, servers: &[Role], hosts: usize) -> Vec<Box<dyn Controller>> {
    let weighted = whole(spec.get("weighted_leastconn")) == 1;
    per_host(hosts, |_| LeastConn::new(weighted, servers.len()))
}

/// The closed form, scaled to the sum of the loads: weighted, the first least-key server in config order (the
/// initial FIFO order) takes everything; plain, the least-count servers share it in proportion to their loads.
fn formula(spec: &ControllerSpec, loads: &[f64], conns: &[f64]) -> Vec<f64> {
    let weighted = whole(spec.get("weighted_leastconn")) == 1;
    let max_load = largest(loads.iter().copied());
    let keys: Vec<f64> = loads.iter().zip(conns).map(|(&l, &c)| key(weighted, l, c, max_load)).collect();
    if weighted {
        let order: Vec<u64> = (0..loads.len() as u64).collect();
        return first_scaled(loads, &keys, &order);
    }
    probabilities_scaled(loads, &keys)
}

/// The largest positive value (HAProxy's SRV_EWGHT_MAX stand-in), 0 if none.
fn largest(loads: impl Iterator<Item = f64>) -> f64 {
    loads.filter(|l| *l > 0.0).fold(0.0, f64::max)
}

/// The sorting key. Weighted (`fwlc_queue_srv`): 0 for an idle server, else (in-flight + 1)·max_load/load.
/// Plain: the in-flight count. Servers with no positive load never win (∞).
pub fn key(weighted: bool, load: f64, in_flight: f64, max_load: f64) -> f64 {
    if load.is_nan() || load <= 0.0 {
        f64::INFINITY
    } else if !weighted {
        in_flight
    } else if in_flight <= 0.0 {
        0.0
    } else {
        (in_flight + 1.0) * max_load / load
    }
}

/// Index of the least key, ties to the smallest `order` (FIFO); `None` if every key is ∞.
fn first_in_order(keys: &[f64], order: &[u64]) -> Option<usize> {
    (0..keys.len())
        .filter(|&i| keys[i].is_finite())
        .min_by(|&a, &b| keys[a].total_cmp(&keys[b]).then(order[a].cmp(&order[b])))
}

/// Σ loads on the FIFO-first least-key server, 0 elsewhere.
fn first_scaled(loads: &[f64], keys: &[f64], order: &[u64]) -> Vec<f64> {
    let total: f64 = loads.iter().map(|l| l.max(0.0)).sum();
    let first = first_in_order(keys, order);
    (0..loads.len()).map(|i| if Some(i) == first { total } else { 0.0 }).collect()
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
    /// Per server, when its in-flight count last changed on this host (a sequence number): the FIFO order of
    /// equal keys. Starts as config order.
    touched: Vec<u64>,
    /// The next sequence number.
    clock: u64,
    /// This host's in-flight counts, now and at its last pick (for diagnostics).
    in_flight: InFlight,
    /// How many candidates shared the least key at the last pick, when it scanned; `None` after an indexed pick
    /// (then `diagnostics` counts them from `index`).
    last_tied: Option<usize>,
    /// The least key at the last indexed pick.
    last_least: f64,
    /// The full replica list's keys, kept current as counts change: the O(log n) pick.
    index: Option<Index>,
}

/// The key of every position of the host's full replica list, with FIFO order as the tie-break.
#[derive(Clone, Debug)]
struct Index {
    /// The load index's generation the loads below were read at.
    generation: u64,
    /// Server at each position, and each server's position.
    servers: Vec<usize>,
    pos: Vec<Option<u32>>,
    loads: Vec<f64>,
    max_load: f64,
    /// (key bits, FIFO stamp) per position; weighted by load for the plain mode's draw among ties.
    tree: MinTree<(u64, u64)>,
    /// Servers whose entry changed since the last pick, each once: a pick and the count change that follows it,
    /// or a close and its count change, update the tree once.
    dirty: Vec<usize>,
    is_dirty: Vec<bool>,
}

impl LeastConn {
    /// A balancer for a section of `servers` servers; `weighted` selects HAProxy's weighted key and FIFO ties.
    pub fn new(weighted: bool, servers: usize) -> LeastConn {
        LeastConn {
            weighted,
            touched: (0..servers as u64).collect(),
            clock: servers as u64,
            in_flight: InFlight::new(servers),
            last_tied: Some(0),
            last_least: 0.0,
            index: None,
        }
    }

    fn keys(&self, cands: &[Candidate]) -> Vec<f64> {
        let max_load = largest(cands.iter().map(|c| c.configured_load));
        cands.iter().map(|c| key(self.weighted, c.configured_load, f64::from(c.in_flight), max_load)).collect()
    }

    fn order(&self, cands: &[Candidate]) -> Vec<u64> {
        cands.iter().map(|c| self.touched.get(c.server).copied().unwrap_or(u64::MAX)).collect()
    }

    /// `fwlc_srv_reposition`: the server's count changed, so it goes behind every other server with its key.
    fn touch(&mut self, server: usize) {
        if let Some(t) = self.touched.get_mut(server) {
            *t = self.clock;
            self.clock += 1;
        }
        self.reindex(server);
    }

    /// The index entry of a position (see `entry_of`).
    fn entry(&self, index: &Index, pos: usize, in_flight: u32) -> ((u64, u64), f64) {
        entry_of(self.weighted, &self.touched, index.loads[pos], index.max_load, index.servers[pos], in_flight)
    }

    /// Marks the server's entry for update at the next indexed pick.
    fn reindex(&mut self, server: usize) {
        let Some(index) = &mut self.index else { return };
        if index.pos.get(server).copied().flatten().is_some() && !index.is_dirty[server] {
            index.is_dirty[server] = true;
            index.dirty.push(server);
        }
    }

    /// Brings the tree up to date with every marked server.
    fn flush(&mut self) {
        let Some(index) = &mut self.index else { return };
        for server in index.dirty.drain(..) {
            index.is_dirty[server] = false;
            if let Some(pos) = index.pos[server] {
                let p = pos as usize;
                let n = self.in_flight.get(server);
                let (k, w) = entry_of(self.weighted, &self.touched, index.loads[p], index.max_load, server, n);
                index.tree.set(p, k, w);
            }
        }
    }

    /// Builds the index from a full replica list (O(n)) unless it is current.
    fn ensure_index(&mut self, view: &HostView<'_>, loads: &LoadIndex) {
        let cands = view.candidates;
        if self.index.as_ref().is_some_and(|i| i.generation == loads.generation() && i.servers.len() == cands.len()) {
            return;
        }
        let mut pos = vec![None; self.touched.len()];
        for (p, c) in cands.iter().enumerate() {
            if let Some(slot) = pos.get_mut(c.server) {
                *slot = Some(p as u32);
            }
            self.in_flight.set(c.server, c.in_flight);
        }
        let mut index = Index {
            generation: loads.generation(),
            servers: cands.iter().map(|c| c.server).collect(),
            pos,
            loads: cands.iter().map(|c| c.configured_load).collect(),
            max_load: largest(cands.iter().map(|c| c.configured_load)),
            tree: MinTree::new(cands.len(), (u64::MAX, u64::MAX)),
            dirty: Vec::new(),
            is_dirty: vec![false; self.touched.len()],
        };
        let entries: Vec<_> = (0..cands.len()).map(|p| self.entry(&index, p, cands[p].in_flight)).collect();
        index.tree.rebuild(entries);
        self.index = Some(index);
    }

    /// The O(log n) pick over the full replica list: the same choice as the scan for the same draw.
    fn pick_indexed(&mut self, view: &HostView<'_>, loads: &LoadIndex, rng: &mut Rng) -> Option<usize> {
        self.ensure_index(view, loads);
        self.flush();
        let index = self.index.as_ref()?;
        let ((bits, _), first) = index.tree.first()?;
        let least = f64::from_bits(bits);
        if !least.is_finite() {
            return None;
        }
        let chosen =
            if self.weighted { first } else { index.tree.find_least(rng.next_f64() * index.tree.least_weight())? };
        self.last_tied = None;
        self.last_least = least;
        Some(chosen)
    }

    /// The full scan over any candidate list.
    fn pick_scan(&mut self, cands: &[Candidate], rng: &mut Rng) -> Option<usize> {
        let keys = self.keys(cands);
        let least = keys.iter().copied().fold(f64::INFINITY, f64::min);
        if !least.is_finite() {
            return None;
        }
        let chosen = if self.weighted {
            first_in_order(&keys, &self.order(cands))?
        } else {
            pick_weighted(cands, rng, |i, c| if keys[i] == least { c.configured_load } else { 0.0 })?
        };
        self.last_tied = Some(keys.iter().filter(|&&k| k == least).count());
        for c in cands {
            self.in_flight.set(c.server, c.in_flight);
        }
        Some(chosen)
    }
}

/// A position's index entry: its key's bits (keys are ≥ 0, so bits order as numbers) and, weighted, the server's
/// FIFO stamp (plain mode ties are drawn by load instead), with its load as the draw weight.
fn entry_of(weighted: bool, touched: &[u64], load: f64, max_load: f64, server: usize, n: u32) -> ((u64, u64), f64) {
    let k = key(weighted, load, f64::from(n), max_load);
    let stamp = if weighted { touched.get(server).copied().unwrap_or(u64::MAX) } else { 0 };
    ((k.to_bits(), stamp), load)
}

impl Controller for LeastConn {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        let chosen = match view.load_index {
            Some(loads) => self.pick_indexed(view, loads, rng),
            None => self.pick_scan(view.candidates, rng),
        }?;
        self.in_flight.mark_pick();
        self.touch(view.candidates[chosen].server);
        Some(chosen)
    }

    fn on_in_flight(&mut self, server: usize, in_flight: u32) {
        self.in_flight.set(server, in_flight);
        self.reindex(server);
    }

    fn on_connect(&mut self, _now: SimTime, server: usize, ok: bool, _elapsed: SimDuration) {
        if !ok {
            self.touch(server); // the failed attempt is no longer in flight
        }
    }

    fn on_close(&mut self, _now: SimTime, server: usize, _held: SimDuration) {
        self.touch(server);
    }

    /// The probability of picking each candidate now, scaled to the sum of their configured loads (weighted:
    /// the FIFO-first least-key server takes it all).
    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        let loads: Vec<f64> = view.candidates.iter().map(|c| c.configured_load).collect();
        let keys = self.keys(view.candidates);
        if self.weighted {
            out.extend(first_scaled(&loads, &keys, &self.order(view.candidates)));
        } else {
            out.extend(probabilities_scaled(&loads, &keys));
        }
    }

    /// The server's in-flight count at this host's last pick and how many candidates shared the least key then
    /// (after an indexed pick, counted here from the counts as they stood at that pick: O(n), per read-out only).
    fn diagnostics(&self, server: usize, out: &mut Vec<(&'static str, f64)>) {
        if server >= self.touched.len() {
            return;
        }
        let tied = match (self.last_tied, &self.index) {
            (Some(tied), _) => tied,
            (None, Some(index)) => (0..index.servers.len())
                .filter(|&p| {
                    let n = f64::from(self.in_flight.at_last_pick(index.servers[p]));
                    key(self.weighted, index.loads[p], n, index.max_load) == self.last_least
                })
                .count(),
            (None, None) => 0,
        };
        out.push(("in_flight", f64::from(self.in_flight.at_last_pick(server))));
        out.push(("tied_at_least", tied as f64));
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
        let mut spec = ControllerSpec::new("least-conn").unwrap();
        spec.set("weighted_leastconn", 0.0).unwrap();
        assert_eq!(formula(&spec, &[50.0, 500.0, 150.0], &[1.0, 2.0, 1.0]), vec![175.0, 0.0, 525.0]);
    }

    #[test]
    fn haproxy_key_weighs_by_load_and_puts_idle_servers_first() {
        // Keys (n + 1)/w: server 0: 3/50 = 0.06, server 1: 5/200 = 0.025, server 2: idle → 0.
        let spec = ControllerSpec::new("least-conn").unwrap(); // weighted is the default
        assert_eq!(formula(&spec, &[50.0, 200.0, 100.0], &[2.0, 4.0, 0.0]), vec![0.0, 0.0, 350.0]);
        // Without the idle one, the lower key wins although it has more in flight (4 > 2).
        assert_eq!(formula(&spec, &[50.0, 200.0], &[2.0, 4.0]), vec![0.0, 250.0]);
        // The plain count would take server 0 instead.
        let mut plain = ControllerSpec::new("least-conn").unwrap();
        plain.set("weighted_leastconn", 0.0).unwrap();
        assert_eq!(formula(&plain, &[50.0, 200.0], &[2.0, 4.0]), vec![250.0, 0.0]);
    }

    /// HAProxy's own key (`fwlc_queue_srv`): eweight = weight × BE_WEIGHT_SCALE (16), SRV_EWGHT_MAX = 256 × 16,
    /// unsigned integer division.
    fn haproxy_key(weight: u64, inflight: u64) -> u64 {
        if inflight == 0 {
            0
        } else {
            (inflight + 1) * 4096 / (weight * 16)
        }
    }

    #[test]
    fn the_key_is_haproxys_on_hand_computed_cases() {
        // max load 200: (2 + 1)·200/50 = 12, (4 + 1)·200/200 = 5, (1 + 1)·200/100 = 4, idle 0.
        assert_eq!(key(true, 50.0, 2.0, 200.0), 12.0);
        assert_eq!(key(true, 200.0, 4.0, 200.0), 5.0);
        assert_eq!(key(true, 100.0, 1.0, 200.0), 4.0);
        assert_eq!(key(true, 100.0, 0.0, 200.0), 0.0);
        assert_eq!(key(true, 0.0, 0.0, 200.0), f64::INFINITY);
        // HAProxy's integers for the same cases (max weight 256): 3·4096/800 = 15, 5·4096/3200 = 6,
        // 2·4096/1600 = 5, 0: the same order. With max weight 256 the key is HAProxy's before truncation.
        assert_eq!([haproxy_key(50, 2), haproxy_key(200, 4), haproxy_key(100, 1)], [15, 6, 5]);
        assert!((key(true, 50.0, 2.0, 256.0) - 15.36).abs() < 1e-12);
        // Every pair HAProxy orders strictly is ordered the same way here (weights 1..=256, in flight 0..=8).
        let cases: Vec<(u64, u64)> = (1..=256).step_by(17).flat_map(|w| (0..=8).map(move |n| (w, n))).collect();
        for &(wa, na) in &cases {
            for &(wb, nb) in &cases {
                let (ha, hb) = (haproxy_key(wa, na), haproxy_key(wb, nb));
                let (ka, kb) = (key(true, wa as f64, na as f64, 256.0), key(true, wb as f64, nb as f64, 256.0));
                if ha < hb {
                    assert!(ka < kb, "({wa},{na}) vs ({wb},{nb}): haproxy {ha} < {hb}, here {ka} ≥ {kb}");
                }
            }
        }
    }

    #[test]
    fn idle_servers_are_taken_in_fifo_order_least_recently_used_first() {
        // All idle (keys 0): the first pick is config order's first; each pick or release sends the server to the
        // back of its key's line, so idle picks go round-robin whatever the loads.
        let mut lc = LeastConn::new(true, 3);
        let mut rng = Rng::new(7, Stream::Balancing);
        let idle = [cand(0, 325.0, 0), cand(1, 50.0, 0), cand(2, 200.0, 0)];
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &idle, load_index: None };
        let order: Vec<usize> = (0..6).map(|_| lc.pick(&view, &mut rng).unwrap()).collect();
        assert_eq!(order, vec![0, 1, 2, 0, 1, 2]);
        // Server 0's connection closes: it was used longest ago but now goes behind 1 and 2.
        lc.on_close(0, 0, 0);
        assert_eq!(lc.pick(&view, &mut rng), Some(1));
        assert_eq!(lc.pick(&view, &mut rng), Some(2));
        assert_eq!(lc.pick(&view, &mut rng), Some(0));
        // A failed connect repositions too (2 goes behind 0); a successful one does not (still in flight).
        lc.on_connect(0, 2, false, 0);
        lc.on_connect(0, 0, true, 0);
        let next: Vec<usize> = (0..3).map(|_| lc.pick(&view, &mut rng).unwrap()).collect();
        assert_eq!(next, vec![1, 0, 2]);
        // Equal non-zero keys are FIFO as well: (1 + 1)·325/325 = 2 = (1 + 1)·325/325.
        let busy = [cand(0, 325.0, 1), cand(1, 325.0, 1)];
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &busy, load_index: None };
        let mut lc = LeastConn::new(true, 2);
        lc.on_close(0, 0, 0);
        assert_eq!(lc.pick(&view, &mut rng), Some(1));
        assert_eq!(lc.pick(&view, &mut rng), Some(0));
    }

    impl LeastConn {
        fn diagnostics_vec(&self, server: usize) -> Vec<(&'static str, f64)> {
            let mut out = Vec::new();
            self.diagnostics(server, &mut out);
            out
        }
    }
}
