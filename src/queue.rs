//! The event queue: a 4-ary min-heap ordered by (time, insertion sequence).
//!
//! Two events at the same microsecond fire in the order they were scheduled (first in, first out), so a run never
//! depends on the heap's internal tie-breaking.

use crate::time::SimTime;

/// One pending event and its key: time in the high 64 bits, insertion sequence in the low, so one `u128`
/// comparison orders by (time, sequence) and no two keys are equal.
#[derive(Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

/// A min-queue of events keyed by (time, sequence).
///
/// Hand-written as a 4-ary heap over a `Vec` instead of std's binary `BinaryHeap`: half the levels per pop and
/// push, each level's four children in adjacent slots, and one `u128` compare per key. Keys are unique, so it
/// pops exactly the order the binary heap popped (every trace hash is unchanged). Measured on `loadlab bench`'s
/// engine run (mmc 20 × 8 slots, about 150 events pending): see README's Speed section.
pub struct EventQueue<E> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: Vec::new(), next_seq: 0 }
    }
}

/// Children per node.
const ARITY: usize = 4;

impl<E: Copy> EventQueue<E> {
    /// Adds an event at `time`.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let key = (time as u128) << 64 | self.next_seq as u128;
        self.next_seq += 1;
        let mut i = self.heap.len();
        self.heap.push(Entry { key, event });
        // Sift up: move parents down into the hole until the new key's place is found.
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].key < key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = Entry { key, event };
    }

    /// Time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|e| (e.key >> 64) as SimTime)
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let top = *self.heap.first()?;
        let last = self.heap.pop().expect("not empty");
        let n = self.heap.len();
        if n > 0 {
            // Sift the last entry down from the root: move the least child up into the hole while it is less.
            let mut i = 0;
            loop {
                let first = ARITY * i + 1;
                if first >= n {
                    break;
                }
                let mut least = first;
                for c in first + 1..(first + ARITY).min(n) {
                    if self.heap[c].key < self.heap[least].key {
                        least = c;
                    }
                }
                if self.heap[least].key > last.key {
                    break;
                }
                self.heap[i] = self.heap[least];
                i = least;
            }
            self.heap[i] = last;
        }
        Some(((top.key >> 64) as SimTime, top.event))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Rng, Stream};

    #[test]
    fn pops_in_time_order_and_fifo_within_a_time() {
        // Random times from a small range force many ties; the pop order must be sorted by (time, push order).
        let mut rng = Rng::new(9, Stream::Control);
        let mut q = EventQueue::default();
        let mut pushed = Vec::new();
        for i in 0..5_000u32 {
            let t = rng.below(300);
            q.push(t, i);
            pushed.push((t, i));
            if i % 3 == 0 {
                let popped = q.pop().unwrap();
                let min = *pushed.iter().min().unwrap();
                assert_eq!(popped, min);
                pushed.retain(|p| *p != min);
            }
        }
        pushed.sort();
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(rest, pushed);
        assert!(q.is_empty());
    }
}
