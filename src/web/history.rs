//! The chart's memory: a bounded ring buffer of the last few hundred per-step rows, reduced to what is drawn.

use std::collections::VecDeque;

use crate::metrics::StepRow;

/// One chart point: a step's end time and each server's time-averaged active connections over the step.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// End of the step, simulated seconds.
    pub time_s: f64,
    /// Active connections per server, in config order (open or opening, time-averaged over the step).
    pub active_conns: Vec<f64>,
}

/// The most recent rows, oldest first; pushing beyond the capacity drops the oldest.
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

    /// Appends a row's chart figures, dropping the oldest point when full.
    pub fn push(&mut self, row: &StepRow) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
            self.dropped += 1;
        }
        self.points.push_back(Point {
            time_s: row.time_s,
            active_conns: row.servers.iter().map(|s| s.active_conns).collect(),
        });
    }

    /// The kept points, oldest first.
    pub fn points(&self) -> impl ExactSizeIterator<Item = &Point> + Clone {
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

    /// The largest active-connection figure kept, over all servers (0 when empty).
    pub fn max_active_conns(&self) -> f64 {
        self.points.iter().flat_map(|p| p.active_conns.iter().copied()).fold(0.0, f64::max)
    }
}
