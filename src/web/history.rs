//! The charts' memory: the whole course of a run in bounded memory (the newest rows at full resolution, older ones
//! folded into min/max buckets), as the model's schema gives
//! them (one `f64` per column), plus the section model's controller read-outs sampled with each row.

use std::collections::VecDeque;

/// One chart point: a step row of the run's schema, and what the section panels add to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The row, one value per column of the run's schema (`columns()[0]` is `time_s`).
    pub row: Vec<f64>,
    /// Host 0's controller weight per server at the end of the step; empty for models without a balancer, NaN
    /// where the server is no candidate.
    pub weights: Vec<f64>,
    /// The controller's named terms for the watched server at the end of the step (section model only).
    pub diagnostics: Vec<(&'static str, f64)>,
}

impl Point {
    /// End of the step, simulated seconds (the row's first column).
    pub fn time_s(&self) -> f64 {
        self.row.first().copied().unwrap_or(0.0)
    }

    /// The value of column `i`, NaN when the row is shorter.
    pub fn get(&self, i: usize) -> f64 {
        self.row.get(i).copied().unwrap_or(f64::NAN)
    }

    /// One of the controller's terms, NaN when it has none of that name.
    pub fn term(&self, key: &str) -> f64 {
        self.diagnostics.iter().find(|(k, _)| *k == key).map_or(f64::NAN, |(_, v)| *v)
    }
}

/// Older rows, folded: one bucket holds the lowest and the highest value of each column over its rows (so a
/// spike survives any amount of folding) and its last row's read-outs.
#[derive(Clone, Debug)]
struct Bucket {
    /// Column-wise minimum, at the bucket's first row's time.
    low: Point,
    /// Column-wise maximum, at its last row's time.
    high: Point,
    /// Rows folded into it.
    rows: u64,
}

impl Bucket {
    fn of(point: Point) -> Bucket {
        Bucket { low: point.clone(), high: point, rows: 1 }
    }

    /// Folds `later` (the next rows in time) into this bucket.
    fn absorb(&mut self, later: Bucket) {
        for (i, v) in later.low.row.iter().enumerate().skip(1) {
            if let Some(slot) = self.low.row.get_mut(i) {
                *slot = slot.min(*v);
            }
        }
        for (i, v) in later.high.row.iter().enumerate() {
            if let Some(slot) = self.high.row.get_mut(i) {
                *slot = if i == 0 { *v } else { slot.max(*v) };
            }
        }
        self.high.weights = later.high.weights;
        self.high.diagnostics = later.high.diagnostics;
        self.rows += later.rows;
    }
}

/// The whole course of a run in bounded memory: the newest `capacity` rows at full resolution, and every older
/// row folded into at most `capacity` buckets, each the min and max of a run of rows. When the buckets fill,
/// neighbours merge pairwise, so each holds twice as many rows: memory stays at about three times `capacity`
/// rows however long the run, and the course from time zero is always in view.
#[derive(Clone, Debug)]
pub struct RowHistory {
    capacity: usize,
    points: VecDeque<Point>,
    /// Folded older rows, oldest first.
    course: Vec<Bucket>,
    /// Rows each finished bucket holds now (a power of two).
    rows_per_bucket: u64,
    /// Rows that left the full-resolution window so far.
    dropped: u64,
}

impl RowHistory {
    /// An empty history that keeps at most `capacity` rows at full resolution (at least two), and as many
    /// buckets of older ones.
    pub fn new(capacity: usize) -> RowHistory {
        let capacity = capacity.max(2);
        RowHistory {
            capacity,
            points: VecDeque::with_capacity(capacity),
            course: Vec::new(),
            rows_per_bucket: 1,
            dropped: 0,
        }
    }

    /// Appends a point; the oldest full-resolution one is folded into the course when full.
    pub fn push(&mut self, point: Point) {
        if self.points.len() == self.capacity {
            if let Some(old) = self.points.pop_front() {
                self.fold(old);
            }
            self.dropped += 1;
        }
        self.points.push_back(point);
    }

    fn fold(&mut self, point: Point) {
        match self.course.last_mut() {
            Some(b) if b.rows < self.rows_per_bucket => b.absorb(Bucket::of(point)),
            _ => self.course.push(Bucket::of(point)),
        }
        if self.course.len() > self.capacity {
            // Merge neighbours pairwise: half the buckets, each twice as long.
            let old = std::mem::take(&mut self.course);
            let mut merged = Vec::with_capacity(old.len() / 2 + 1);
            let mut it = old.into_iter();
            while let Some(mut a) = it.next() {
                if let Some(b) = it.next() {
                    a.absorb(b);
                }
                merged.push(a);
            }
            self.course = merged;
            self.rows_per_bucket *= 2;
        }
    }

    /// The whole course, oldest first: each folded bucket as its low and its high point, then the newest rows.
    pub fn points(&self) -> impl DoubleEndedIterator<Item = &Point> + Clone {
        self.course.iter().flat_map(|b| [&b.low, &b.high]).chain(self.points.iter())
    }

    /// Rows kept at full resolution.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True before the first row.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The most rows kept at full resolution.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Rows that left the full-resolution window so far (they live on, folded, in the course).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Buckets of folded rows now.
    pub fn buckets(&self) -> usize {
        self.course.len()
    }

    /// The newest point.
    pub fn last(&self) -> Option<&Point> {
        self.points.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: f64, v: f64) -> Point {
        Point { row: vec![t, v], weights: Vec::new(), diagnostics: Vec::new() }
    }

    #[test]
    fn the_whole_course_stays_in_bounded_memory_and_spikes_survive() {
        let mut h = RowHistory::new(4);
        // 10,000 rows of 1.0 with one spike of 99 at row 17 and one dip of -5 at row 5000.
        for i in 0..10_000 {
            let v = match i {
                17 => 99.0,
                5000 => -5.0,
                _ => 1.0,
            };
            h.push(point(i as f64, v));
        }
        assert_eq!(h.len(), 4);
        assert!(h.buckets() <= 4, "{} buckets", h.buckets());
        let pts: Vec<&Point> = h.points().collect();
        assert!(pts.len() <= 12);
        assert_eq!(pts.first().map(|p| p.time_s()), Some(0.0), "the course starts at time zero");
        assert_eq!(pts.last().map(|p| p.time_s()), Some(9999.0));
        let values: Vec<f64> = pts.iter().map(|p| p.get(1)).collect();
        assert!(values.contains(&99.0) && values.contains(&-5.0), "{values:?}");
        // Times never go backwards.
        assert!(pts.windows(2).all(|w| w[0].time_s() <= w[1].time_s()));
    }
}
