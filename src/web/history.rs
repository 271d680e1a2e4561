//! The charts' memory: a bounded ring buffer of the last few hundred step rows, as the model's schema gives
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

/// The most recent points, oldest first; pushing beyond the capacity drops the oldest.
#[derive(Clone, Debug)]
pub struct RowHistory {
    capacity: usize,
    points: VecDeque<Point>,
    /// Points dropped off the front so far (the chart scrolls; nothing grows).
    dropped: u64,
}

impl RowHistory {
    /// An empty history that keeps at most `capacity` points (at least one).
    pub fn new(capacity: usize) -> RowHistory {
        let capacity = capacity.max(1);
        RowHistory { capacity, points: VecDeque::with_capacity(capacity), dropped: 0 }
    }

    /// Appends a point, dropping the oldest when full.
    pub fn push(&mut self, point: Point) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
            self.dropped += 1;
        }
        self.points.push_back(point);
    }

    /// The kept points, oldest first.
    pub fn points(&self) -> impl ExactSizeIterator<Item = &Point> + DoubleEndedIterator + Clone {
        self.points.iter()
    }

    /// Number of points kept.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True before the first row.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The most points it keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Points dropped off the front so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The newest point.
    pub fn last(&self) -> Option<&Point> {
        self.points.back()
    }
}
