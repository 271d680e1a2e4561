//! The indexes that let the fewest-in-flight controllers (least-conn, envoy-least-request, peak-ewma) pick in
//! O(log n) instead of scanning every candidate: a tournament tree that keeps the least key of every position
//! current under point updates ([`MinTree`]), and this host's in-flight counts as the section reports each change
//! ([`InFlight`], through [`super::Controller::on_in_flight`]).
//!
//! A controller uses them only when [`super::HostView::load_index`] is present, i.e. when the candidates are the
//! host's full replica list in position order (the first pick of a request with no pins and no zero loads); re-picks
//! after a failed connect see a filtered list and scan as before. Both paths choose the same candidate for the same
//! random draws (tests in each controller).
//!
//! Hand-written, as the load index is: a binary heap cannot update or remove an arbitrary entry, a `BTreeSet`
//! allocates a node per entry and costs a remove plus an insert per change, and no maintained crate offers an
//! indexed min-tree with a weighted draw among the tied minimum (what least-conn's unweighted mode needs).

use std::cmp::Ordering;

/// Least key over positions 0..n with point updates in O(log n); each node keeps its subtree's least key and the
/// sum of the weights of the positions holding that key, so a draw among the tied least positions in proportion to
/// their weights is one descent. Keys compare as `K`'s `Ord`; equal keys tie to the lower position in `first`.
#[derive(Clone, Debug)]
pub struct MinTree<K> {
    /// Leaves from `size`; node i covers its children 2i and 2i + 1. A missing position holds `empty`.
    keys: Vec<K>,
    /// The key of a position that holds nothing: greater than every real key.
    empty: K,
    /// Sum of the weights of the positions at the node's least key.
    weights: Vec<f64>,
    /// The position of the node's first (lowest-position) least key.
    first: Vec<u32>,
    size: usize,
    len: usize,
}

impl<K: Ord + Copy> MinTree<K> {
    /// A tree over `len` positions, all holding `empty`, a key greater than any real one.
    pub fn new(len: usize, empty: K) -> MinTree<K> {
        let size = len.next_power_of_two().max(1);
        let mut first = vec![0; 2 * size];
        for (i, f) in first.iter_mut().enumerate().skip(size) {
            *f = (i - size) as u32;
        }
        MinTree { keys: vec![empty; 2 * size], empty, weights: vec![0.0; 2 * size], first, size, len }
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it has no positions.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets position `pos` to `key` with draw weight `weight`, and fixes its ancestors.
    pub fn set(&mut self, pos: usize, key: K, weight: f64) {
        let mut i = self.size + pos;
        self.keys[i] = key;
        self.weights[i] = weight;
        while i > 1 {
            i /= 2;
            if !self.pull(i) {
                break; // this node is unchanged, so are its ancestors
            }
        }
    }

    /// Sets every position at once from `(key, weight)` per position: O(n).
    pub fn rebuild(&mut self, entries: impl IntoIterator<Item = (K, f64)>) {
        for (pos, (key, weight)) in entries.into_iter().enumerate().take(self.len) {
            self.keys[self.size + pos] = key;
            self.weights[self.size + pos] = weight;
        }
        for i in (1..self.size).rev() {
            self.pull(i);
        }
    }

    /// Recomputes node `i` from its children; false if it did not change.
    fn pull(&mut self, i: usize) -> bool {
        let (l, r) = (2 * i, 2 * i + 1);
        let (a, b) = (self.keys[l], self.keys[r]);
        let (key, weight, first) = match a.cmp(&b) {
            Ordering::Less => (a, self.weights[l], self.first[l]),
            Ordering::Greater => (b, self.weights[r], self.first[r]),
            Ordering::Equal => (a, self.weights[l] + self.weights[r], self.first[l]),
        };
        let changed = self.keys[i] != key || self.weights[i].to_bits() != weight.to_bits() || self.first[i] != first;
        self.keys[i] = key;
        self.weights[i] = weight;
        self.first[i] = first;
        changed
    }

    /// The least key and the lowest position holding it; `None` when every position is empty.
    pub fn first(&self) -> Option<(K, usize)> {
        (self.keys[1] != self.empty).then(|| (self.keys[1], self.first[1] as usize))
    }

    /// The sum of the weights of the positions at the least key.
    pub fn least_weight(&self) -> f64 {
        self.weights[1]
    }

    /// The position at the least key that holds cumulative weight `target` ∈ [0, least_weight()), counting the
    /// tied positions in position order, as a linear scan with zero weight for every other position would: the
    /// lowest tied position whose running sum exceeds `target`. Rounding past the end gives the last tied position
    /// with a positive weight.
    pub fn find_least(&self, mut target: f64) -> Option<usize> {
        let (least, _) = self.first()?;
        let mut i = 1;
        while i < self.size {
            let (l, r) = (2 * i, 2 * i + 1);
            let left_tied = self.keys[l] == least && self.weights[l] > 0.0;
            let right_tied = self.keys[r] == least && self.weights[r] > 0.0;
            i = if left_tied && (target < self.weights[l] || !right_tied) {
                l
            } else if right_tied {
                if left_tied {
                    target -= self.weights[l];
                }
                r
            } else {
                return None; // no tied position has a positive weight
            };
        }
        Some(i - self.size)
    }
}

/// This host's in-flight count per server as the section reports each change, and the counts as they stood at the
/// host's last pick (for the "why this server?" read-outs), both in O(1) per change and per pick.
#[derive(Clone, Debug)]
pub struct InFlight {
    now: Vec<u32>,
    /// The count at the last pick, for servers whose count changed since (`changed[s] == picks`).
    at_pick: Vec<u32>,
    changed: Vec<u64>,
    picks: u64,
}

impl InFlight {
    /// Counts for `servers` servers, all 0.
    pub fn new(servers: usize) -> InFlight {
        InFlight { now: vec![0; servers], at_pick: vec![0; servers], changed: vec![0; servers], picks: 0 }
    }

    /// The count now.
    pub fn get(&self, server: usize) -> u32 {
        self.now.get(server).copied().unwrap_or(0)
    }

    /// The section reports a new count.
    pub fn set(&mut self, server: usize, in_flight: u32) {
        let Some(slot) = self.now.get_mut(server) else { return };
        if self.changed[server] != self.picks {
            self.at_pick[server] = *slot;
            self.changed[server] = self.picks;
        }
        *slot = in_flight;
    }

    /// A pick happens now: the counts at this moment become the "last pick" counts.
    pub fn mark_pick(&mut self) {
        self.picks += 1;
    }

    /// The count at the last pick (the current count before any pick).
    pub fn at_last_pick(&self, server: usize) -> u32 {
        match self.changed.get(server) {
            Some(&c) if c == self.picks && self.picks > 0 => self.at_pick[server],
            _ => self.get(server),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_key_follows_point_updates_and_ties_go_to_the_lowest_position() {
        let mut t: MinTree<u32> = MinTree::new(5, u32::MAX);
        assert_eq!(t.first(), None);
        t.rebuild([(4, 1.0), (2, 1.0), (3, 1.0), (2, 1.0), (9, 1.0)]);
        assert_eq!(t.first(), Some((2, 1)));
        t.set(1, 5, 1.0);
        assert_eq!(t.first(), Some((2, 3)));
        t.set(4, 0, 1.0);
        assert_eq!(t.first(), Some((0, 4)));
    }

    #[test]
    fn a_draw_among_the_tied_least_is_the_running_sum_over_them_in_position_order() {
        // Keys 1, 0, 0, 2, 0 with weights 5, 1, 0, 7, 3: the tied least are positions 1 (weight 1) and 4 (3);
        // running sums 1 and 4, so targets in [0, 1) give 1 and [1, 4) give 4; position 2 (weight 0) never.
        let mut t: MinTree<u32> = MinTree::new(5, u32::MAX);
        t.rebuild([(1, 5.0), (0, 1.0), (0, 0.0), (2, 7.0), (0, 3.0)]);
        assert_eq!(t.least_weight(), 4.0);
        for (target, want) in [(0.0, 1), (0.999, 1), (1.0, 4), (3.999, 4), (4.5, 4)] {
            assert_eq!(t.find_least(target), Some(want), "target {target}");
        }
    }

    #[test]
    fn counts_at_the_last_pick_survive_later_changes() {
        let mut f = InFlight::new(2);
        f.set(0, 3);
        assert_eq!(f.at_last_pick(0), 3, "before any pick: the count now");
        f.mark_pick();
        f.set(0, 4);
        f.set(0, 5);
        assert_eq!((f.get(0), f.at_last_pick(0), f.at_last_pick(1)), (5, 3, 0));
        f.mark_pick();
        assert_eq!(f.at_last_pick(0), 5);
    }
}
