//! `mw-loadmonitor`'s read index: `getServerStates` and the weighted pick over the host's full replica list in
//! O(log n) per pick (plus the keys whose state changed), drawing the same distribution as the scan.
//!
//! What the scan does per pick, with the merged `isStateFresh` (`freshness=0`; the source is
//! `LoadMonitor::getServerStates`, `WANObjectCache::getWithSetCallback` and `isLotteryRefreshDue`, as the parent
//! module and `wan.rs` cite them): every key whose local copy is at most STATE_TARGET_TTL old is looked up in
//! the cluster cache, and each lookup draws WANObjectCache's preemptive-refresh lottery, one random number per
//! key per pick. A host's keys fall into four classes, which change only at known times or on known events:
//! - **local**: the copy is used with no side effect (it is "fresh", i.e. older than STATE_TARGET_TTL, or the
//!   host's scoped lock is held by its own regeneration) until the copy expires or the lock is released;
//! - **reading**: copy present and at most STATE_TARGET_TTL old, lock free, no regeneration of this host out,
//!   and the cluster value at least as new as the copy. Then the cluster value is younger than STATE_TARGET_TTL
//!   (< its TTL, and ≤ AGE_NEW, so `worthRefreshPopular` draws nothing), and a lookup is a hit unless
//!   `worthRefreshExpiring` fires. A hit stores the cluster value locally, which changes nothing unless the
//!   cluster value changed since the host's last pick (the cache tells the index which keys were stored);
//! - **exceptional**: anything else (no copy, a copy newer than the cluster value, an expired lock with a probe
//!   out): looked up literally, as the scan does (rare: a key is here for one pick after its copy expires);
//! - keys of load ≤ 0, which get the initial state with no lookup (`computeServerState`).
//!
//! ## The lottery, drawn by thinning
//! Each reading key's lookup fires independently with chance p_k = `worthRefreshExpiring` at its cluster value's
//! age, and every such age is at most STATE_TARGET_TTL, so p_k ≤ p̄ = the chance at age STATE_TARGET_TTL
//! ((10/60)⁴ = 1/1296 as merged on MediaWiki 1.43's cache; 0 on 1.39's, whose window opens at 30 s). The index
//! draws the positions (in the reading keys' order) at which a Bernoulli(p̄) trial succeeds by geometric gaps
//! (⌊ln U / ln(1 − p̄)⌋ keys skipped, U uniform on (0, 1]), and accepts each with chance p_k/p̄. A key then fires
//! with chance p̄·p_k/p̄ = p_k, independently of the others: the scan's distribution, for about 2·|reading|·p̄ + 1
//! draws per pick instead of |reading| (about 2.6 at 1024 servers as merged). A fired key then continues exactly as
//! in the scan (`WanCache::fetch_past_lottery`: the recent-set check, the regeneration).
//!
//! ## The weighted pick, by rejection
//! `scaleLoads` gives round(W·max(r − (c − r)/2, 0)) with c = conn_count/(T + 10): every weight depends on
//! T = Σ int(conn_count)·up, so one state change changes every weight, and PHP's `round` makes them no linear
//! form a Fenwick tree could sum. The index keeps T (an integer sum, exact) and W and draws by rejection: propose
//! a server by configured load from the section's load index, accept it with chance weight/(M·load), where
//! M = max over servers of weight-at-c-0/load. A server's weight at any c ≥ 0 is at most its weight at c = 0
//! (every step of `scaled_load` is monotone in c, in floating point too), so the chance is at most 1 and an
//! accepted server is drawn with probability weight/Σ weight, the scan's. The acceptance rate is Σ weight/(M·W):
//! with every server up about (1.5 − 0.5·T/(T + 10))/1.5 ≥ 2/3 for equal loads. After 64 rejections (almost
//! every server down or overloaded) the pick falls back to the scan's draw over the same weights, which is
//! still exact (whatever happened before, that draw has the target distribution) and declines when all are 0.
//!
//! Both draw other random numbers than the scan, so runs with the index differ from scanning runs draw by draw
//! but not in distribution (the chi-square tests in `tests/all/controllers_indexed.rs`). The index applies to
//! the merged freshness with the lag filter off and STATE_TARGET_TTL under the cluster TTL, AGE_NEW and
//! STATE_PRESERVE_TTL (the defaults); other settings, and picks over a filtered list (re-picks after a failed
//! connect), scan, after writing the index's deferred state back.
//!
//! Deferred state: a reading key's lookup re-sets the local copy at every pick, with the same value (unless the
//! cluster's changed) and a new expiry. The index stores the value when it changes and the expiry only when the
//! key leaves the reading class (then it is the host's last pick + STATE_PRESERVE_TTL), which cannot be
//! observed in between: the copy's stored expiry is after it turns fresh.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use super::{scaled_load, Freshness, GaugeState, LoadMonitor, Seen, Settings};
use crate::controller::load_index::LoadIndex;
use crate::controller::mediawiki::wan::AGE_NEW;
use crate::controller::{pick_weighted, HostView};
use crate::rng::Rng;
use crate::time::SimTime;

/// Rejections before the pick falls back to the scan's draw over the same weights.
const MAX_REJECTIONS: usize = 64;

/// How one key is read at a pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Not classified yet (a new index).
    New,
    /// Load ≤ 0: the initial state, no lookup.
    Zero,
    /// The local copy is used, with no side effect.
    Local,
    /// Looked up in the cluster cache: a hit unless the refresh lottery fires.
    Reading,
    /// Looked up literally, as the scan does.
    Exceptional,
}

/// One host's read index over its full replica list (see the module docs).
#[derive(Debug)]
pub(super) struct ReadIndex {
    /// The load index's generation the loads were read at.
    generation: u64,
    servers: Vec<u32>,
    loads: Vec<f64>,
    /// Server → position (`u32::MAX`: not a candidate).
    pos: Vec<u32>,
    class: Vec<Class>,
    /// Reading keys, as counts per position (a Fenwick tree that finds the j-th one).
    reading: Counts,
    exceptional: BTreeSet<u32>,
    /// When a key's class may change by itself: its copy turning fresh or expiring, its lock expiring.
    events: BinaryHeap<Reverse<(SimTime, u32)>>,
    /// Keys to classify again at the next pick (stored in the cluster, probe answered, event due), each once.
    queued: Vec<bool>,
    recheck: Vec<u32>,
    /// Reading keys whose copy may differ from the cluster value: a hit this pick stores it.
    refresh: Vec<u32>,
    /// When each reading key entered the class (it has been looked up at every pick since).
    reading_since: Vec<SimTime>,
    /// The last indexed pick, at which every reading key was looked up; 0 before the first.
    last_read: SimTime,
    /// T of `scaleLoads`: Σ int(conn_count)·up over the states used at the last pick, and each position's term.
    conn_total: u64,
    conn_term: Vec<u64>,
    /// W of `scaleLoads`, summed in candidate order as the scan sums it.
    weight_total: f64,
    /// M: the largest weight-at-no-connections ÷ load over the servers, a hair over.
    bound: f64,
    /// p̄: the refresh chance of a cluster value STATE_TARGET_TTL old, and ln(1 − p̄) (portable: `libm`).
    chance_bound: f64,
    ln_miss: f64,
    scratch: Vec<u32>,
}

impl ReadIndex {
    /// Whether `settings` allow the index (see the module docs).
    pub(super) fn allowed(s: &Settings) -> bool {
        s.freshness == Freshness::Merged
            && !s.lag_times
            && s.state_ttl < s.wan.ttl
            && s.state_ttl <= AGE_NEW
            && s.state_ttl < s.preserve_ttl
    }

    fn new(view: &HostView<'_>, loads: &LoadIndex, servers: usize, settings: &Settings) -> ReadIndex {
        let n = view.candidates.len();
        let mut pos = vec![u32::MAX; servers];
        for (p, c) in view.candidates.iter().enumerate() {
            pos[c.server] = p as u32;
        }
        let loads_of: Vec<f64> = view.candidates.iter().map(|c| c.configured_load).collect();
        let weight_total: f64 = loads_of.iter().sum();
        // M: weight at c = 0 over load, the largest; a relative hair over so weight ≤ M·load survives rounding.
        let bound = (loads_of.iter())
            .filter(|&&w| w > 0.0)
            .map(|&w| scaled_load(w, &GaugeState::INITIAL, weight_total, 1.0) / w)
            .fold(0.0, f64::max)
            * (1.0 + 1e-12);
        let opts = &settings.wan;
        let chance_bound = opts.rule.expiring_chance(opts.ttl - settings.state_ttl, opts.ttl, opts.low_ttl());
        ReadIndex {
            generation: loads.generation(),
            servers: view.candidates.iter().map(|c| c.server as u32).collect(),
            loads: loads_of,
            pos,
            class: vec![Class::New; n],
            reading: Counts::new(n),
            exceptional: BTreeSet::new(),
            events: BinaryHeap::new(),
            queued: vec![true; n],
            recheck: (0..n as u32).collect(),
            refresh: Vec::new(),
            reading_since: vec![0; n],
            last_read: 0,
            conn_total: 0,
            conn_term: vec![0; n],
            weight_total,
            bound,
            chance_bound,
            // ln(1 − p̄) by log1p: for a tiny p̄ (a short STATE_TARGET_TTL), 1 − p̄ rounds to 1 and its ln to 0,
            // which would make every key a candidate (and fire them all).
            ln_miss: libm::log1p(-chance_bound.min(1.0)),
            scratch: Vec::new(),
        }
    }

    fn queue(&mut self, p: u32) {
        if !std::mem::replace(&mut self.queued[p as usize], true) {
            self.recheck.push(p);
        }
    }

    /// Keys skipped before the next Bernoulli(p̄) success: ⌊ln U / ln(1 − p̄)⌋, U uniform on (0, 1].
    fn skip(&self, rng: &mut Rng) -> usize {
        let k = crate::rng::ln(1.0 - rng.next_f64()) / self.ln_miss;
        if k < usize::MAX as f64 {
            k as usize
        } else {
            usize::MAX
        }
    }
}

impl LoadMonitor {
    /// The pick over the full replica list through the read index: the scan's lookups' effects and the scan's
    /// weights, drawn as the module docs say.
    pub(super) fn pick_indexed(&mut self, view: &HostView<'_>, loads: &LoadIndex, rng: &mut Rng) -> Option<usize> {
        let now = view.now;
        let mut idx = match self.index.take() {
            Some(i) if i.generation == loads.generation() && i.servers.len() == view.candidates.len() => i,
            old => {
                if let Some(old) = old {
                    self.write_back(&old);
                }
                let watcher = *self.watcher.get_or_insert_with(|| self.wan.borrow_mut().watch());
                let mut discard = Vec::new();
                self.wan.borrow_mut().take_stored(watcher, &mut discard);
                ReadIndex::new(view, loads, self.seen.len(), &self.settings)
            }
        };
        // Keys stored in the cluster since the last pick, keys whose time came, and every exceptional key.
        let mut stored = std::mem::take(&mut idx.scratch);
        if let Some(watcher) = self.watcher {
            self.wan.borrow_mut().take_stored(watcher, &mut stored);
        }
        for &s in &stored {
            if let Some(&p) = idx.pos.get(s as usize).filter(|&&p| p != u32::MAX) {
                idx.queue(p);
            }
        }
        let mut fired = stored;
        fired.clear();
        while let Some(&Reverse((at, p))) = idx.events.peek() {
            if at > now {
                break;
            }
            idx.events.pop();
            idx.queue(p);
        }
        let exceptional: Vec<u32> = idx.exceptional.iter().copied().collect();
        for p in exceptional {
            idx.queue(p);
        }
        let recheck = std::mem::take(&mut idx.recheck);
        for &p in &recheck {
            idx.queued[p as usize] = false;
            self.classify(&mut idx, p, now, true);
        }
        idx.recheck = recheck;
        idx.recheck.clear();
        // Exceptional keys: looked up literally, in position order.
        let exceptional: Vec<u32> = idx.exceptional.iter().copied().collect();
        for p in exceptional {
            let server = idx.servers[p as usize] as usize;
            let state = self.state_for(now, server, rng);
            self.use_state(&mut idx, p, state.map(|s| (s.gauge, s.as_of)));
        }
        // The refresh lottery of the reading keys, by thinning.
        if idx.chance_bound > 0.0 {
            let count = idx.reading.total();
            let mut j = idx.skip(rng);
            let wan = self.wan.borrow();
            while j < count {
                let p = idx.reading.select(j);
                let chance = wan.expiring_chance(now, idx.servers[p as usize] as usize, &self.settings.wan);
                if rng.chance(chance / idx.chance_bound) {
                    fired.push(p);
                }
                j = j.saturating_add(1).saturating_add(idx.skip(rng));
            }
        }
        for &p in &fired {
            let server = idx.servers[p as usize] as usize;
            self.write_back_one(&idx, p);
            let copy = self.local.get(now, server);
            let locked = self.local.try_lock(now, server, self.settings.lock_exptime);
            let fetch = self.wan.borrow_mut().fetch_past_lottery(now, server, &self.settings.wan, rng);
            let state = self.settle(now, server, copy, locked, fetch);
            self.use_state(&mut idx, p, state.map(|s| (s.gauge, s.as_of)));
            self.classify(&mut idx, p, now, false);
        }
        fired.clear();
        idx.scratch = fired;
        // Hits on the reading keys whose cluster value may have changed: the copy takes it.
        let refresh = std::mem::take(&mut idx.refresh);
        for &p in &refresh {
            if idx.class[p as usize] != Class::Reading {
                continue;
            }
            let server = idx.servers[p as usize] as usize;
            let value = self.wan.borrow().peek(now, server).expect("a reading key's cluster value is present");
            self.local.set(now, server, value.state, self.settings.preserve_ttl);
            self.use_state(&mut idx, p, Some((value.state.gauge, value.state.as_of)));
        }
        idx.refresh = refresh;
        idx.refresh.clear();
        idx.last_read = now;
        // Probes in candidate order, as the scan queues them.
        let pos = &idx.pos;
        self.pending.sort_by_key(|&s| pos[s]);
        let choice = self.draw(view, loads, &idx, rng);
        self.index = Some(idx);
        choice
    }

    /// The weighted draw over the scan's weights, by rejection from the load index (module docs).
    fn draw(&self, view: &HostView<'_>, loads: &LoadIndex, idx: &ReadIndex, rng: &mut Rng) -> Option<usize> {
        let denominator = idx.conn_total as f64 + self.settings.adjustment;
        let state = |p: usize| self.seen[idx.servers[p] as usize].map_or(GaugeState::INITIAL, |s| s.state);
        if idx.bound > 0.0 {
            for _ in 0..MAX_REJECTIONS {
                let p = loads.sample(rng)?;
                let w = idx.loads[p];
                let weight = scaled_load(w, &state(p), idx.weight_total, denominator);
                if rng.next_f64() * idx.bound * w < weight {
                    return Some(p);
                }
            }
        }
        let weights: Vec<f64> =
            (0..idx.loads.len()).map(|p| scaled_load(idx.loads[p], &state(p), idx.weight_total, denominator)).collect();
        pick_weighted(view.candidates, rng, |i, _| weights[i])
    }

    /// Classifies key `p` at `now` (writing back a reading key's deferred expiry first when `write_back`), and
    /// files it: the reading counts, the exceptional set, its next event, its state if it is used as it stands.
    fn classify(&mut self, idx: &mut ReadIndex, p: u32, now: SimTime, write_back: bool) {
        let i = p as usize;
        let server = idx.servers[i] as usize;
        match idx.class[i] {
            Class::Reading => {
                if write_back {
                    self.write_back_one(idx, p);
                }
                idx.reading.add(i, -1);
            }
            Class::Exceptional => {
                idx.exceptional.remove(&p);
            }
            Class::Zero | Class::Local | Class::New => {}
        }
        if idx.loads[i] <= 0.0 {
            idx.class[i] = Class::Zero;
            self.use_state(idx, p, Some((GaugeState::INITIAL, now))); // computeServerState: no probe
            return;
        }
        let s = &self.settings;
        let Some((copy, expires)) = self.local.entry(server).filter(|&(_, e)| now < e) else {
            idx.class[i] = Class::Exceptional;
            idx.exceptional.insert(p);
            return;
        };
        let locked_until = self.local.locked_until(server);
        let fresh = now.saturating_sub(copy.as_of) > s.state_ttl;
        if fresh || now < locked_until {
            idx.class[i] = Class::Local;
            let until = if fresh { expires } else { expires.min(locked_until) };
            idx.events.push(Reverse((until, p)));
            self.use_state(idx, p, Some((copy.gauge, copy.as_of)));
            return;
        }
        let cluster_as_of = self.wan.borrow().peek(now, server).map(|v| v.as_of);
        if self.regens[server].is_some() || cluster_as_of.is_none_or(|t| t < copy.as_of) {
            idx.class[i] = Class::Exceptional;
            idx.exceptional.insert(p);
            return;
        }
        idx.class[i] = Class::Reading;
        idx.reading.add(i, 1);
        idx.reading_since[i] = now;
        idx.refresh.push(p);
        idx.events.push(Reverse((copy.as_of + s.state_ttl + 1, p)));
    }

    /// Records the state key `p` is used with (and its T term).
    fn use_state(&mut self, idx: &mut ReadIndex, p: u32, state: Option<(GaugeState, SimTime)>) {
        let i = p as usize;
        let (state, as_of) = state.map_or((GaugeState::INITIAL, None), |(g, t)| (g, Some(t)));
        let term = if state.up { state.conn_count.trunc().max(0.0) as u64 } else { 0 };
        idx.conn_total = idx.conn_total - idx.conn_term[i] + term;
        idx.conn_term[i] = term;
        self.seen[idx.servers[i] as usize] = Some(Seen { state, as_of, weight: 0.0 });
    }

    /// A reading key's deferred expiry: it was looked up (a hit) at every pick since it entered the class, so its
    /// copy expires STATE_PRESERVE_TTL after the last one.
    fn write_back_one(&mut self, idx: &ReadIndex, p: u32) {
        let i = p as usize;
        if idx.class[i] != Class::Reading || idx.reading_since[i] > idx.last_read {
            return;
        }
        let server = idx.servers[i] as usize;
        if let Some((copy, _)) = self.local.entry(server) {
            self.local.set(idx.last_read, server, copy, self.settings.preserve_ttl);
        }
    }

    /// Writes every deferred expiry back, before a scan reads the local cache.
    fn write_back(&mut self, idx: &ReadIndex) {
        for p in 0..idx.servers.len() as u32 {
            self.write_back_one(idx, p);
        }
    }

    /// Drops the index before a scan, writing its deferred state back.
    pub(super) fn drop_index(&mut self) {
        if let Some(idx) = self.index.take() {
            self.write_back(&idx);
        }
    }

    /// The cluster stored `server`'s state from this host's probe, or its lock was released: classify it again.
    pub(super) fn recheck(&mut self, server: usize) {
        if let Some(idx) = &mut self.index {
            if let Some(&p) = idx.pos.get(server).filter(|&&p| p != u32::MAX) {
                idx.queue(p);
            }
        }
    }

    /// The weight `server` had at the last pick, when that pick was indexed (the index keeps no weights).
    pub(super) fn index_weight(&self, server: usize) -> Option<f64> {
        let idx = self.index.as_ref()?;
        let p = *idx.pos.get(server).filter(|&&p| p != u32::MAX)? as usize;
        let state = self.seen[server]?.state;
        let denominator = idx.conn_total as f64 + self.settings.adjustment;
        Some(scaled_load(idx.loads[p], &state, idx.weight_total, denominator))
    }
}

/// Counts per position in a Fenwick tree, with the position of the j-th counted one.
///
/// Not [`crate::controller::load_index::LoadIndex`]: that one keeps `f64` loads with weight classes, a periodic
/// re-sum against rounding and a division shortcut, all for weighted draws. Here the entries are whole counts of
/// members (a set with rank-select), so `u32` sums are exact and need none of that; the select is the same
/// descent, on integers.
#[derive(Debug)]
struct Counts {
    tree: Vec<u32>,
    total: usize,
}

impl Counts {
    fn new(n: usize) -> Counts {
        Counts { tree: vec![0; n + 1], total: 0 }
    }

    fn total(&self) -> usize {
        self.total
    }

    fn add(&mut self, p: usize, delta: i32) {
        self.total = (self.total as i64 + delta as i64) as usize;
        let mut k = p + 1;
        while k < self.tree.len() {
            self.tree[k] = self.tree[k].wrapping_add_signed(delta);
            k += k & k.wrapping_neg();
        }
    }

    /// The position of the `j`-th (from 0) counted position; `j` < total.
    fn select(&self, mut j: usize) -> u32 {
        let n = self.tree.len() - 1;
        let mut pos = 0;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n && (self.tree[next] as usize) <= j {
                j -= self.tree[next] as usize;
                pos = next;
            }
            step >>= 1;
        }
        pos as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_select_the_j_th_member_in_position_order() {
        let mut c = Counts::new(10);
        for p in [1, 4, 5, 9] {
            c.add(p, 1);
        }
        assert_eq!((0..4).map(|j| c.select(j)).collect::<Vec<_>>(), vec![1, 4, 5, 9]);
        c.add(4, -1);
        assert_eq!((0..3).map(|j| c.select(j)).collect::<Vec<_>>(), vec![1, 5, 9]);
        assert_eq!(c.total(), 3);
    }
}
