//! conn-p's pick in O(log n): its weights over the host's full replica list, kept current change by change.
//!
//! conn-p's weight for server i (times the total load W, before renormalising) is
//! `W·w′_i = L_i·(1 + s·T/D) − (s·W/D)·C_i = a·L_i − b·C_i`, with D = 1 + T/E: one affine form of the configured
//! load L_i and the count C_i with coefficients common to every server. So two Fenwick trees (the crate's one,
//! [`LoadIndex`]), one of the loads and one of the counts, give every prefix sum of the weights at once, and the
//! draw is one descent of both ([`LoadIndex::find_linear`]). A weight clamped at 0 (w′_i < 0, i.e.
//! C_i/L_i > a/b) is left out of both trees; which servers are out changes only when the threshold a/b moves past
//! their ratio ([`Split`]), so a pick that moves nobody checks two numbers. Each change of a count (the host's in-flight count through
//! [`crate::controller::Controller::on_in_flight`], a failure counted or leaving the window) is one point update.
//!
//! Host scope only: in section scope C_i is a snapshot of the shared counters, rebuilt every `refresh_s`, and the
//! pick publishes the host's counts into them; those picks scan.
//!
//! The draw maps the same uniform number to the same server as the scan, up to the order in which the floating
//! point sums are taken (the scan sums the renormalised weights one by one; the index sums a·L and b·C by tree
//! node): a draw within rounding of a boundary between two servers may go to the other one (the test in
//! `tests/all/controllers_indexed.rs` counts them).

use std::cmp::Reverse;
use std::collections::VecDeque;

use crate::controller::load_index::LoadIndex;
use crate::controller::pick_index::{InFlight, MinTree};
use crate::controller::Candidate;
use crate::rng::Rng;
use crate::time::{SimTime, SECOND};

/// A server's terms at the host's last pick, for diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Terms {
    pub conns: f64,
    pub error: f64,
    pub p: f64,
    pub i: f64,
    pub d: f64,
    pub clamped: bool,
    pub weight: f64,
}

impl Terms {
    pub(crate) fn push(&self, out: &mut Vec<(&'static str, f64)>) {
        out.push(("conns", self.conns));
        out.push(("error", self.error));
        out.push(("P", self.p));
        out.push(("I", self.i));
        out.push(("D", self.d));
        out.push(("clamped", if self.clamped { 1.0 } else { 0.0 }));
        out.push(("weight", self.weight));
    }
}

/// The failures of this host still in its window, oldest first, as (the second they leave it, server): they
/// leave in the order they came, so a queue finds each one when it expires.
#[derive(Debug, Default)]
pub(crate) struct Expiring {
    queue: VecDeque<(u64, usize)>,
}

impl Expiring {
    /// A failure to `server` at `now`, counted in whole-second buckets for `window_s` seconds (as `FailureWindow`:
    /// counted while now/1 s < its second + window).
    pub(crate) fn push(&mut self, now: SimTime, server: usize, window_s: u64) {
        self.queue.push_back((now / SECOND + window_s, server));
    }

    /// Calls `gone` for every failure that has left its window by `now`.
    pub(crate) fn expire(&mut self, now: SimTime, mut gone: impl FnMut(usize)) {
        while let Some(&(until, server)) = self.queue.front() {
            if until > now / SECOND {
                break;
            }
            self.queue.pop_front();
            gone(server);
        }
    }
}

/// The last indexed pick's section-wide terms, from which a server's diagnostics are derived when asked.
#[derive(Clone, Copy, Debug)]
struct LastPick {
    /// T.
    total_conns: f64,
    /// 1 + T/E.
    damping: f64,
    /// Σ of the clamped weights (before renormalising), the renormalisation's divisor.
    sum: f64,
}

/// C_i per position of an index over the host's full replica list (host scope): its in-flight count plus its
/// failures in the window, and where each server sits in the list.
#[derive(Debug)]
pub(crate) struct PositionCounts {
    pub(crate) servers: Vec<usize>,
    pos: Vec<Option<u32>>,
    in_flight: Vec<u32>,
    failures: Vec<u32>,
}

impl PositionCounts {
    /// Over `cands` with C_i = `counts[i]`, for a section of `servers` servers.
    pub(crate) fn new(cands: &[Candidate], counts: &[f64], servers: usize) -> PositionCounts {
        let mut pos = vec![None; servers];
        for (p, c) in cands.iter().enumerate() {
            pos[c.server] = Some(p as u32);
        }
        PositionCounts {
            servers: cands.iter().map(|c| c.server).collect(),
            pos,
            in_flight: cands.iter().map(|c| c.in_flight).collect(),
            failures: (cands.iter().zip(counts)).map(|(c, &k)| (k as u32).saturating_sub(c.in_flight)).collect(),
        }
    }

    /// The position of `server`, if it is in the list.
    pub(crate) fn position(&self, server: usize) -> Option<usize> {
        self.pos.get(server).copied().flatten().map(|p| p as usize)
    }

    /// C at position `p`.
    pub(crate) fn count(&self, p: usize) -> u32 {
        self.in_flight[p] + self.failures[p]
    }

    /// `server`'s in-flight count is now `in_flight` (`Some(in_flight)`), or a failure entered or left its
    /// window (`delta`): returns its position and its C before, if it is in the list.
    pub(crate) fn change(&mut self, server: usize, in_flight: Option<u32>, delta: i32) -> Option<(usize, u32)> {
        let p = self.position(server)?;
        let before = self.count(p);
        match in_flight {
            Some(n) => self.in_flight[p] = n,
            None => self.failures[p] = self.failures[p].saturating_add_signed(delta),
        }
        Some((p, before))
    }
}

/// Positions on either side of a threshold on a per-position key (any f64 but NaN, as [`order_bits`]): kept ⇔
/// key ≤ threshold. The greatest key kept and the least left out are the tops of two min-trees (`pick_index`'s),
/// so moving the threshold costs O(log n) per position that changes side, and nothing when none does.
#[derive(Debug)]
pub(crate) struct Split {
    keys: Vec<u64>,
    kept: Vec<bool>,
    kept_keys: MinTree<Reverse<u64>>,
    out_keys: MinTree<u64>,
    threshold: u64,
}

impl Split {
    /// Every position left out, with its key; the threshold below every key.
    pub(crate) fn new(keys: Vec<u64>) -> Split {
        let n = keys.len();
        let mut out_keys = MinTree::new(n, u64::MAX);
        out_keys.rebuild(keys.iter().map(|&k| (k, 0.0)));
        Split { kept: vec![false; n], kept_keys: MinTree::new(n, Reverse(0)), out_keys, keys, threshold: 0 }
    }

    /// Gives position `p` the key `key`; returns whether it is kept now and whether it was before.
    pub(crate) fn place(&mut self, p: usize, key: u64) -> (bool, bool) {
        let (was, kept) = (self.kept[p], key <= self.threshold);
        self.keys[p] = key;
        self.kept[p] = kept;
        if kept {
            self.kept_keys.set(p, Reverse(key), 0.0);
            self.out_keys.set(p, u64::MAX, 0.0);
        } else {
            self.kept_keys.set(p, Reverse(0), 0.0);
            self.out_keys.set(p, key, 0.0);
        }
        (kept, was)
    }

    /// Moves the threshold to `threshold` (as [`order_bits`]); calls `moved(p, kept)` for each position that
    /// changed side.
    pub(crate) fn set_threshold(&mut self, threshold: u64, mut moved: impl FnMut(usize, bool)) {
        self.threshold = threshold;
        while let Some((Reverse(key), p)) = self.kept_keys.first() {
            if key <= threshold {
                break;
            }
            self.place(p, self.keys[p]);
            moved(p, false);
        }
        while let Some((key, p)) = self.out_keys.first() {
            if key > threshold {
                break;
            }
            self.place(p, self.keys[p]);
            moved(p, true);
        }
    }
}

/// Orders any f64 but NaN as the numbers, as bits: never 0 (the empty key of [`Split`]'s kept side) or u64::MAX.
pub(crate) fn order_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 0 {
        b | 1 << 63
    } else {
        !b
    }
}

/// The index; see the module docs.
#[derive(Debug)]
pub(crate) struct ConnIndex {
    /// The load index's generation the loads were read at.
    generation: u64,
    list: PositionCounts,
    loads: Vec<f64>,
    total_load: f64,
    /// C per position, now and at the last pick (for diagnostics).
    counts: InFlight,
    /// T = Σ C.
    total_conns: u64,
    /// The loads and counts of the positions whose weight is not clamped (0 for the others).
    kept_loads: LoadIndex,
    kept_counts: LoadIndex,
    /// Kept ⇔ C/L ≤ the threshold a/b.
    split: Split,
    last: Option<LastPick>,
}

impl ConnIndex {
    /// An index over `cands` (the full replica list, every load > 0) with C_i = `counts[i]` (in-flight plus
    /// failures in the window).
    pub(crate) fn new(generation: u64, cands: &[Candidate], counts: &[f64], servers: usize) -> ConnIndex {
        let n = cands.len();
        let loads: Vec<f64> = cands.iter().map(|c| c.configured_load).collect();
        let mut at = InFlight::new(n);
        for (p, c) in counts.iter().enumerate() {
            at.set(p, *c as u32);
        }
        let split = Split::new((0..n).map(|p| ratio_bits(counts[p] as u32, loads[p])).collect());
        ConnIndex {
            generation,
            list: PositionCounts::new(cands, counts, servers),
            total_load: loads.iter().sum(),
            total_conns: counts.iter().map(|&c| c as u64).sum(),
            kept_loads: LoadIndex::new(&vec![0.0; n]),
            kept_counts: LoadIndex::new(&vec![0.0; n]),
            split,
            loads,
            counts: at,
            last: None,
        }
    }

    /// True if built over these candidates at this load generation.
    pub(crate) fn fits(&self, generation: u64, cands: &[Candidate]) -> bool {
        self.generation == generation && self.list.servers.len() == cands.len()
    }

    fn count(&self, p: usize) -> u32 {
        self.list.count(p)
    }

    /// Puts position `p`'s load and count into the trees or takes them out.
    fn keep(&mut self, p: usize, kept: bool) {
        let (load, count) = if kept { (self.loads[p], self.count(p) as f64) } else { (0.0, 0.0) };
        self.kept_loads.set(p, load);
        self.kept_counts.set(p, count);
    }

    /// Position `p`'s in-flight count or failures changed from `before` (its C then).
    fn changed(&mut self, p: usize, before: u32) {
        let now = self.count(p);
        if now == before {
            return;
        }
        self.total_conns = self.total_conns + now as u64 - before as u64;
        self.counts.set(p, now);
        match self.split.place(p, ratio_bits(now, self.loads[p])) {
            (true, true) => self.kept_counts.set(p, now as f64),
            (kept, was) if kept != was => self.keep(p, kept),
            _ => {}
        }
    }

    /// This host's in-flight count to `server` is now `in_flight` (`Some`), or a failure to it entered or left
    /// the window (`delta`).
    pub(crate) fn change(&mut self, server: usize, in_flight: Option<u32>, delta: i32) {
        if let Some((p, before)) = self.list.change(server, in_flight, delta) {
            self.changed(p, before);
        }
    }

    /// Keeps exactly the positions with C/L ≤ `threshold`, moving only those between the old and new one.
    fn set_threshold(&mut self, threshold: f64) {
        let (loads, list) = (&self.loads, &self.list);
        let (kept_loads, kept_counts) = (&mut self.kept_loads, &mut self.kept_counts);
        self.split.set_threshold(order_bits(threshold), |p, kept| {
            kept_loads.set(p, if kept { loads[p] } else { 0.0 });
            kept_counts.set(p, if kept { list.count(p) as f64 } else { 0.0 });
        });
    }

    /// conn-p's pick: a draw with probability w′_i, the weights of `conn_p_weights` for the current counts.
    pub(crate) fn pick(&mut self, gain: f64, halving: f64, rng: &mut Rng) -> Option<usize> {
        self.counts.mark_pick();
        let total_conns = self.total_conns as f64;
        let damping = 1.0 + total_conns / halving;
        let a = 1.0 + gain * total_conns / damping;
        let b = gain * self.total_load / damping;
        // w′_i < 0 ⇔ a·L_i < b·C_i ⇔ C_i/L_i > a/b.
        self.set_threshold(if b > 0.0 { a / b } else { f64::INFINITY });
        let total = a * self.kept_loads.total() - b * self.kept_counts.total();
        self.last = Some(LastPick { total_conns, damping, sum: total / self.total_load });
        if !(total > 0.0 && total.is_finite()) {
            return None;
        }
        LoadIndex::find_linear(&[(&self.kept_loads, a), (&self.kept_counts, -b)], rng.next_f64() * total)
    }

    /// The terms conn-p recorded for `server` at the last indexed pick, derived now from the counts then.
    pub(crate) fn terms(&self, server: usize, gain: f64) -> Option<Terms> {
        let p = self.list.position(server)?;
        let last = self.last?;
        let conns = self.counts.at_last_pick(p) as f64;
        let r = self.loads[p] / self.total_load;
        let error = (conns - r * last.total_conns) / last.damping;
        let p_term = gain * error;
        let w = r - p_term;
        let weight = if w > 0.0 && last.sum > 0.0 { w / last.sum } else { 0.0 };
        Some(Terms { conns, error, p: p_term, i: 0.0, d: 0.0, clamped: w < 0.0, weight })
    }

    /// Every server's terms from the last indexed pick, written into `terms` (before a scan replaces some).
    pub(crate) fn write_terms(&self, gain: f64, terms: &mut [Option<Terms>]) {
        for &s in &self.list.servers {
            if let Some(t) = self.terms(s, gain) {
                terms[s] = Some(t);
            }
        }
    }
}

/// C/L as bits that order as the numbers (both ≥ 0).
fn ratio_bits(count: u32, load: f64) -> u64 {
    order_bits(count as f64 / load)
}
