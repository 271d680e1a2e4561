//! A Fenwick (binary indexed) tree over the configured loads of a host's full replica list, so a pick by load
//! costs O(log n) instead of a scan of every server.
//!
//! Production balancers pick in O(log n) or better (HAProxy's ebtrees, Envoy's EDF scheduler); a linear scan made
//! `static` lose 83% of its events/s going from 8 to 1024 servers. The engine keeps one index per section (the
//! configured loads are section-wide) and hands it to controllers in [`super::HostView::load_index`] whenever
//! the candidates are the full replica list in index order; re-picks after a failure, pins and zero loads
//! filter the list, and then controllers scan as before.
//!
//! Hand-written: no maintained crate offers a Fenwick tree with weighted descent over `f64`, and it is 40 lines.

use crate::rng::Rng;

/// Prefix sums of loads by candidate position.
#[derive(Clone, Debug, Default)]
pub struct LoadIndex {
    /// 1-based Fenwick array: `tree[i]` sums the loads of positions (i − lowbit(i), i].
    tree: Vec<f64>,
    loads: Vec<f64>,
    total: f64,
    /// Bumped by every `set`: a controller that keeps its own per-position index built from these loads
    /// rebuilds it when the generation it was built at is no longer current.
    generation: u64,
    /// Point updates since the tree was last summed from scratch (see `set`).
    updates: usize,
    /// The positions grouped by equal load (Finagle's weight classes), in position order within a class, and
    /// each position's class; rebuilt by [`LoadIndex::prepare`] after loads changed.
    classes: Vec<Vec<u32>>,
    class_of: Vec<u32>,
    classes_stale: bool,
    /// The load every position has, when they all have the same whole-number load and n × load < 2⁵³ (so every
    /// prefix sum the tree holds is exact): then [`LoadIndex::find`] is a division. `None` otherwise, and after a
    /// `set` until [`LoadIndex::prepare`].
    unit: Option<f64>,
}

/// The common load of `loads` if they are all the same whole number and their sum is exact (see `unit`).
fn unit_of(loads: &[f64]) -> Option<f64> {
    let w = *loads.first()?;
    let exact = w > 0.0 && w.fract() == 0.0 && w * (loads.len() as f64) < 9_007_199_254_740_992.0;
    (exact && loads.iter().all(|&l| l == w)).then_some(w)
}

impl LoadIndex {
    /// An index over `loads` (negative and NaN count as 0).
    pub fn new(loads: &[f64]) -> LoadIndex {
        let loads: Vec<f64> = loads.iter().map(|l| if *l > 0.0 { *l } else { 0.0 }).collect();
        let n = loads.len();
        let mut tree = vec![0.0; n + 1];
        for k in 1..=n {
            tree[k] += loads[k - 1];
            let parent = k + (k & k.wrapping_neg());
            if parent <= n {
                tree[parent] += tree[k];
            }
        }
        let total = loads.iter().sum();
        let unit = unit_of(&loads);
        LoadIndex {
            tree,
            loads,
            total,
            generation: 0,
            updates: 0,
            classes: Vec::new(),
            class_of: Vec::new(),
            classes_stale: true,
            unit,
        }
    }

    /// Regroups the positions into classes of equal load if a `set` changed any load since the last call: O(n log
    /// n), once per change of the loads, not per pick. The section calls it before it hands the index to a pick.
    #[inline(always)]
    pub fn prepare(&mut self) {
        // The check inline, the regrouping out of line: called once a request, and outlined whole it cost 17
        // instructions a pick to find the classes current (callgrind, `loadlab bench`'s engine run).
        if self.classes_stale {
            self.regroup();
        }
    }

    /// [`LoadIndex::prepare`]'s regrouping.
    #[inline(never)]
    fn regroup(&mut self) {
        let mut order: Vec<u32> = (0..self.loads.len() as u32).collect();
        // Stable, so positions stay in order within a class; loads are ≥ 0, so their bits sort as the numbers.
        order.sort_by_key(|&p| self.loads[p as usize].to_bits());
        self.classes.clear();
        self.class_of = vec![0; self.loads.len()];
        let mut last = None;
        for p in order {
            let bits = self.loads[p as usize].to_bits();
            if last != Some(bits) {
                self.classes.push(Vec::new());
                last = Some(bits);
            }
            self.class_of[p as usize] = (self.classes.len() - 1) as u32;
            self.classes.last_mut().expect("just pushed").push(p);
        }
        self.classes_stale = false;
        self.unit = if self.classes.len() == 1 { unit_of(&self.loads) } else { None };
    }

    /// The positions whose load equals the load at `pos`, in position order. Call [`LoadIndex::prepare`] first.
    pub fn class_of(&self, pos: usize) -> &[u32] {
        &self.classes[self.class_of[pos] as usize]
    }

    /// True when every position has the same load (one class). Call [`LoadIndex::prepare`] first.
    pub fn all_equal(&self) -> bool {
        self.classes.len() <= 1
    }

    /// The load at `pos` (negative and NaN stored as 0).
    pub fn load(&self, pos: usize) -> f64 {
        self.loads[pos]
    }

    /// Changes with every `set`; see the field.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.loads.len()
    }

    /// True when it indexes nothing.
    pub fn is_empty(&self) -> bool {
        self.loads.is_empty()
    }

    /// The sum of all loads.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// Sets the load at `pos`.
    pub fn set(&mut self, pos: usize, load: f64) {
        let load = if load > 0.0 { load } else { 0.0 };
        let delta = load - self.loads[pos];
        self.loads[pos] = load;
        self.generation += 1;
        self.classes_stale = true;
        self.unit = None;
        self.updates += 1;
        if self.updates >= self.loads.len().max(64) {
            // Re-sum from scratch now and then, so rounding in the deltas cannot build up over a long run:
            // O(n) once every n updates.
            let (generation, loads) = (self.generation, std::mem::take(&mut self.loads));
            *self = LoadIndex::new(&loads);
            self.generation = generation;
            return;
        }
        let mut k = pos + 1;
        while k < self.tree.len() {
            self.tree[k] += delta;
            k += k & k.wrapping_neg();
        }
        // The total from the tree's own prefix sum, so repeated updates cannot drift it away from the tree.
        let mut total = 0.0;
        let mut k = self.loads.len();
        while k > 0 {
            total += self.tree[k];
            k -= k & k.wrapping_neg();
        }
        self.total = total.max(0.0);
    }

    /// The position holding cumulative load `target` ∈ [0, total): the smallest p with prefix(p + 1) > target;
    /// positions with zero load are never returned.
    // Inline: once or twice a request, where the call and its saved registers cost as much as the body (callgrind).
    #[inline(always)]
    pub fn find(&self, mut target: f64) -> Option<usize> {
        let n = self.loads.len();
        if n == 0 || self.total <= 0.0 {
            return None;
        }
        if let Some(w) = self.unit {
            // Equal whole-number loads (mmc's, and any section of equal loads): the descent below returns the
            // largest k ≤ n with k·w ≤ target (its subtractions of whole numbers from a target under 2⁵³ are exact,
            // so it compares exact prefix sums k·w with the target), capped at n − 1. A division finds that k, and
            // the products k·w are exact, so one check each way puts it right where the quotient rounded (a
            // correctly rounded quotient under 2⁵³ is off by less than one). Hand-written: the descent was 10% of
            // `loadlab bench`'s engine run (perf, 20 servers).
            // Through i64, not usize: x86-64 converts between floats and signed integers in one instruction but
            // needs about ten for unsigned ones, and these three were a third of this function. The same numbers:
            // a saturating `as i64` clamped to [0, n] is `as usize` capped at n (NaN and negatives give 0 both
            // ways), and k ≤ n, a `Vec` length, is below 2⁶³.
            let mut k = ((target / w) as i64).clamp(0, n as i64) as usize;
            if k > 0 && k as i64 as f64 * w > target {
                k -= 1;
            } else if k < n && (k + 1) as i64 as f64 * w <= target {
                k += 1;
            }
            return Some(k.min(n - 1));
        }
        let mut pos = 0; // 1-based prefix end so far
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n {
                // Branch-free: which way a descent goes is a coin toss the predictor cannot learn.
                let sum = self.tree[next];
                let go = sum <= target;
                target -= if go { sum } else { 0.0 };
                pos = if go { next } else { pos };
            }
            step >>= 1;
        }
        // Rounding may land on a zero-load position or past the end: step back to the last positive one.
        let mut p = pos.min(n - 1);
        while self.loads[p] <= 0.0 {
            if p == 0 {
                return self.loads.iter().position(|l| *l > 0.0);
            }
            p -= 1;
        }
        Some(p)
    }

    /// The position holding cumulative weight `target` when position p weighs `Σ c·index.load(p)` over the
    /// `(index, c)` in `parts` (indexes over the same positions; every such weight ≥ 0): one descent of every tree
    /// at once, as [`LoadIndex::find`] does for one. The total weight is `Σ c·index.total()`. conn-p's and pid's
    /// weights are such linear forms of the loads, the connection counts and (pid) each server's I and D terms.
    pub fn find_linear(parts: &[(&LoadIndex, f64)], mut target: f64) -> Option<usize> {
        let n = parts.first()?.0.loads.len();
        if n == 0 || parts.iter().any(|(index, _)| index.loads.len() != n) {
            return None;
        }
        let weight = |p: usize| parts.iter().map(|(index, c)| c * index.loads[p]).sum::<f64>();
        let mut pos = 0;
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= n {
                let sum: f64 = parts.iter().map(|(index, c)| c * index.tree[next]).sum();
                let go = sum <= target;
                target -= if go { sum } else { 0.0 };
                pos = if go { next } else { pos };
            }
            step >>= 1;
        }
        let mut p = pos.min(n - 1);
        while weight(p) <= 0.0 {
            if p == 0 {
                return (0..n).find(|&q| weight(q) > 0.0);
            }
            p -= 1;
        }
        Some(p)
    }

    /// A position drawn with probability load / total, from one uniform draw (as `pick_weighted` draws).
    // Inline: once or twice a request, where the call and its saved registers cost as much as the body (callgrind).
    #[inline(always)]
    pub fn sample(&self, rng: &mut Rng) -> Option<usize> {
        // One test for "not positive, not finite" (NaN fails it too); written as `<= 0.0 || !is_finite()` it compiled
        // to some thirty integer instructions a pick.
        if !(self.total > 0.0 && self.total < f64::INFINITY) {
            return None;
        }
        self.find(rng.next_f64() * self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn find_matches_a_linear_scan_of_cumulative_loads() {
        let loads = [50.0, 0.0, 200.0, 200.0, 325.0, 0.0, 1.0];
        let index = LoadIndex::new(&loads);
        assert_eq!(index.total(), 776.0);
        let linear = |t: f64| {
            let mut acc = 0.0;
            loads.iter().position(|l| {
                acc += l;
                *l > 0.0 && t < acc
            })
        };
        for k in 0..7760 {
            let t = k as f64 / 10.0;
            assert_eq!(index.find(t), linear(t), "target {t}");
        }
    }

    #[test]
    fn equal_whole_loads_find_by_division_what_the_descent_finds() {
        // Targets on, just under and just over each boundary k·w, and random ones, for loads where the
        // quotient target/w rounds up to the next whole number (w = 3, 7) and where it cannot (w = 1, 64).
        let mut rng = Rng::new(5, Stream::Control);
        for (w, n) in [(1.0, 1), (1.0, 20), (3.0, 5), (7.0, 1000), (64.0, 33), (1e6, 4096)] {
            let fast = LoadIndex::new(&vec![w; n]);
            assert_eq!(fast.unit, Some(w));
            let mut descent = fast.clone();
            descent.unit = None;
            let mut targets: Vec<f64> = (0..2000).map(|_| rng.next_f64() * fast.total()).collect();
            for k in 0..=n {
                let b = k as f64 * w;
                targets.extend([b, b.next_down(), b.next_up(), b - 0.5, b + 1e-9]);
            }
            for t in targets.into_iter().filter(|t| (0.0..=fast.total()).contains(t)) {
                assert_eq!(fast.find(t), descent.find(t), "w {w}, n {n}, target {t}");
            }
        }
        // Unequal, fractional or changed loads keep the descent.
        assert_eq!(LoadIndex::new(&[1.0, 2.0]).unit, None);
        assert_eq!(LoadIndex::new(&[0.5; 4]).unit, None);
        let mut changed = LoadIndex::new(&[2.0; 8]);
        changed.set(1, 3.0);
        assert_eq!(changed.unit, None);
        changed.set(1, 2.0);
        changed.prepare();
        assert_eq!(changed.unit, Some(2.0));
    }

    #[test]
    fn updates_move_the_shares_and_samples_follow_them() {
        let mut index = LoadIndex::new(&[1.0; 1024]);
        index.set(3, 1024.0); // position 3 now holds half the total
        index.set(5, 0.0);
        assert_eq!(index.total(), 1024.0 - 2.0 + 1024.0);
        let mut rng = Rng::new(1, Stream::Balancing);
        let n = 100_000;
        let mut hits3 = 0;
        for _ in 0..n {
            let p = index.sample(&mut rng).unwrap();
            assert_ne!(p, 5, "a zero load is never drawn");
            hits3 += (p == 3) as u32;
        }
        // Share 1024/2046 = 0.5005; standard error √(p(1−p)/n) = 0.0016: allow 5 of them.
        let share = hits3 as f64 / n as f64;
        assert!((share - 1024.0 / 2046.0).abs() < 0.008, "{share}");
    }
}
