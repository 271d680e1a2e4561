//! The event queue: a radix heap ordered by (time, insertion sequence).
//!
//! Two events at the same microsecond fire in the order they were scheduled (first in, first out), so a run never
//! depends on the queue's internal order.

use crate::time::SimTime;

/// One pending event and its time.
#[derive(Clone, Copy)]
struct Entry<E> {
    time: SimTime,
    event: E,
}

/// Buckets of the radix heap: the last popped time's own, then one per bit of the time.
const BUCKETS: usize = 65;

/// A bucket-0 read position past which the popped entries are dropped from the front even while the bucket still
/// has entries, so a burst of events at one microsecond that keeps scheduling more there cannot grow it unbounded.
const COMPACT_AT: usize = 4096;

/// A min-queue of events keyed by (time, sequence).
///
/// A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) instead of a comparison heap: a simulation's clock never
/// runs back, so every time pushed is at or after the last one popped, and an entry can wait in the bucket of the
/// highest bit where its time differs from that last time. Every time in a lower bucket is less than every time in
/// a higher one, so the earliest events are in the lowest non-empty bucket; popping scans that bucket (one or two
/// entries in a busy run), moves its earliest time's entries to bucket 0 and the rest to lower buckets by their
/// difference from the new last time. A push is one XOR, one leading-zero count and a `Vec` push; an entry moves
/// down a few times in its life, however many are pending, where the 4-ary heap it replaces sifted through log₄ n
/// levels on every pop (four `u128` compares a level: 30% of the engine's instructions on `loadlab bench`'s mmc
/// run, more at 1024 servers).
///
/// First in, first out within a microsecond without a sequence number: entries of one time always share a bucket
/// (the bucket depends only on the time and the last time), a push appends, and a bucket is moved in order, so
/// each bucket holds a time's entries in push order; bucket 0 is read from the front. The pop order is exactly
/// the (time, sequence) order of the heaps before it, so every trace hash is unchanged.
pub struct EventQueue<E> {
    /// `buckets[0]`: entries at time `last`, in push order, unread from `front` on. `buckets[b]`, b ≥ 1: entries
    /// whose time's highest bit that differs from `last` is bit b − 1.
    buckets: Box<[Vec<Entry<E>>; BUCKETS]>,
    /// Read position in `buckets[0]`.
    front: usize,
    /// Bit b − 1 is set while `buckets[b]` (b ≥ 1) is not empty.
    occupied: u64,
    /// The time popped last (0 before the first pop); every pending time is at or after it.
    last: SimTime,
    len: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { buckets: Box::new(std::array::from_fn(|_| Vec::new())), front: 0, occupied: 0, last: 0, len: 0 }
    }
}

impl<E: Copy> EventQueue<E> {
    /// The bucket (≥ 1) of a time after `last`: one past its highest bit that differs from `last`.
    #[inline]
    fn bucket_after(time: SimTime, last: SimTime) -> usize {
        64 - (time ^ last).leading_zeros() as usize
    }

    /// Files an entry whose time is after `last` in its bucket.
    #[inline]
    fn file(&mut self, entry: Entry<E>) {
        Self::file_in(&mut self.buckets[..], &mut self.occupied, entry, self.last);
    }

    /// [`EventQueue::file`] into `buckets` and `occupied` given apart, so a pop that moves a bucket can keep the
    /// occupancy bits in a local.
    #[inline(always)]
    fn file_in(buckets: &mut [Vec<Entry<E>>], occupied: &mut u64, entry: Entry<E>, last: SimTime) {
        let b = Self::bucket_after(entry.time, last);
        buckets[b].push(entry);
        *occupied |= 1 << (b - 1);
    }

    /// Adds an event at `time`, which must not be before the time last popped (the engine's clock never runs back;
    /// an earlier time is taken as that time).
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        debug_assert!(time >= self.last, "push at {time} before the last pop at {}", self.last);
        self.len += 1;
        if time <= self.last {
            self.buckets[0].push(Entry { time: self.last, event });
        } else {
            self.file(Entry { time, event });
        }
    }

    /// The lowest non-empty bucket above 0, the position in it of the first entry at its earliest time, and that
    /// time, if any.
    #[inline]
    fn lowest(&self) -> Option<(usize, usize, SimTime)> {
        if self.occupied == 0 {
            return None;
        }
        let b = self.occupied.trailing_zeros() as usize + 1;
        let (mut first, mut earliest) = (0, self.buckets[b][0].time);
        for (i, e) in self.buckets[b].iter().enumerate().skip(1) {
            if e.time < earliest {
                (first, earliest) = (i, e.time);
            }
        }
        Some((b, first, earliest))
    }

    /// Time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        if self.front < self.buckets[0].len() {
            return Some(self.last);
        }
        self.lowest().map(|(_, _, time)| time)
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_through(SimTime::MAX)
    }

    /// Removes and returns the earliest event if it is at `through` or before; otherwise changes nothing.
    #[inline]
    pub fn pop_through(&mut self, through: SimTime) -> Option<(SimTime, E)> {
        if self.front == self.buckets[0].len() {
            let (b, first, earliest) = self.lowest()?;
            if earliest > through {
                return None;
            }
            // The new last time: its first entry is returned, its later ones go to bucket 0 in their order, the
            // rest of the bucket lower down (they share every bit above b − 1 with it, and that one too). Higher
            // buckets keep their entries: their times differ from the new last time where they differed from the
            // old one.
            self.last = earliest;
            self.occupied &= !(1 << (b - 1));
            if self.buckets[b].len() == 1 {
                // The usual case in a busy run: the lowest bucket holds one entry, the next event.
                let e = self.buckets[b].pop().expect("occupied");
                self.len -= 1;
                return Some((e.time, e.event));
            }
            // Hand-written for `loadlab bench`'s mmc run, where nearly every bucket moved holds one entry of the new
            // last time: returning that entry directly (bucket 0 is empty here, and the bucket holds a time's
            // entries in push order, so it is the one to pop) instead of through bucket 0, finding it in the scan
            // above, reading the bucket as a slice instead of draining it and keeping the occupancy bits in a local
            // took 84 M (2.1%) off the engine run's 4.06 G instructions (callgrind).
            let moving = std::mem::take(&mut self.buckets[b]);
            let mut occupied = self.occupied;
            // Before the first entry of the earliest time every entry is later (two loops: one with a test for
            // "first or not" cost 40 M more).
            for &e in &moving[..first] {
                Self::file_in(&mut self.buckets[..], &mut occupied, e, earliest);
            }
            for &e in &moving[first + 1..] {
                if e.time == earliest {
                    self.buckets[0].push(e);
                } else {
                    Self::file_in(&mut self.buckets[..], &mut occupied, e, earliest);
                }
            }
            let e = moving[first];
            self.occupied = occupied;
            self.buckets[b] = moving;
            self.buckets[b].clear(); // keeping its capacity
            self.len -= 1;
            return Some((e.time, e.event));
        } else if self.last > through {
            return None;
        }
        let zero = &mut self.buckets[0];
        let e = zero[self.front];
        self.front += 1;
        if self.front == zero.len() {
            zero.clear();
            self.front = 0;
        } else if self.front >= COMPACT_AT && 2 * self.front >= zero.len() {
            zero.drain(..self.front);
            self.front = 0;
        }
        self.len -= 1;
        Some((e.time, e.event))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Rng, Stream};

    /// Pushes at times from `now` to `now + spread`, popping one in every `pop_every`, and checks every pop against
    /// the least (time, push order) pending, as a clock that never runs back would push.
    fn check_against_sorting(seed: u64, spread: u64, pop_every: u32) {
        let mut rng = Rng::new(seed, Stream::Control);
        let mut q = EventQueue::default();
        let mut pending = Vec::new();
        let mut now = 0;
        for i in 0..5_000u32 {
            let t = now + rng.below(spread);
            q.push(t, i);
            pending.push((t, i));
            if i % pop_every == 0 {
                let least = *pending.iter().min().unwrap();
                assert_eq!(q.peek_time(), Some(least.0), "seed {seed}");
                assert_eq!(q.pop(), Some(least), "seed {seed}");
                pending.retain(|p| *p != least);
                now = least.0;
            }
            assert_eq!(q.len(), pending.len());
        }
        pending.sort();
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(rest, pending, "seed {seed}");
        assert!(q.is_empty());
    }

    #[test]
    fn pops_in_time_order_and_fifo_within_a_time() {
        // A small spread forces many ties (the pop order must be by push order within a time); a wide one spreads
        // entries over many buckets; a pop after every push empties the queue each time.
        for seed in 1..=4 {
            check_against_sorting(seed, 300, 3);
            check_against_sorting(seed, 1 << 40, 2);
            check_against_sorting(seed, 3, 1);
        }
    }

    #[test]
    fn pop_through_leaves_a_later_event_in_place() {
        let mut q = EventQueue::default();
        q.push(0, 'a');
        q.push(10, 'b');
        q.push(10, 'c');
        assert_eq!(q.pop_through(5), Some((0, 'a')));
        assert_eq!(q.pop_through(5), None);
        q.push(7, 'd'); // after a refused pop, a push before the refused event still goes first
        assert_eq!(q.pop_through(9), Some((7, 'd')));
        assert_eq!(q.pop_through(10), Some((10, 'b')));
        assert_eq!((q.peek_time(), q.len()), (Some(10), 1));
        assert_eq!(q.pop(), Some((10, 'c')));
        assert_eq!((q.pop(), q.peek_time()), (None, None));
    }

    #[test]
    fn a_long_burst_at_one_time_stays_in_push_order() {
        // Every pop schedules two more at the same microsecond until 20 000 are out: bucket 0 is read past
        // COMPACT_AT while it still grows, and must keep its order through the compaction.
        let mut q = EventQueue::default();
        q.push(5, 0u32);
        q.push(9, u32::MAX);
        let mut next = 1;
        for want in 0..20_000u32 {
            assert_eq!(q.pop(), Some((5, want)));
            for _ in 0..2 {
                if next < 20_000 {
                    q.push(5, next);
                    next += 1;
                }
            }
        }
        assert_eq!((q.pop(), q.len()), (Some((9, u32::MAX)), 0));
    }
}
