//! The charts' memory: a bounded ring buffer of the last few hundred per-step rows, reduced to what is drawn.

use std::collections::VecDeque;

use crate::metrics::StepRow;

/// One chart point: a step's end time and the figures every chart draws for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// End of the step, simulated seconds.
    pub time_s: f64,
    /// Active connections per server, in config order (open or opening, time-averaged over the step).
    pub active_conns: Vec<f64>,
    /// The requests' own connect attempts per server in the step (probes excluded).
    pub attempts: Vec<u64>,
    /// Host 0's controller weight per server at the end of the step; NaN where the server is no candidate.
    pub weights: Vec<f64>,
    /// The controller's named terms for the watched server at the end of the step.
    pub diagnostics: Vec<(&'static str, f64)>,
    /// End-to-end latency of requests completed in the step, median and 99th percentile, ms.
    pub latency_p50_ms: f64,
    /// See [`Point::latency_p50_ms`].
    pub latency_p99_ms: f64,
    /// Failed connect attempts in the step, all servers.
    pub failed_conns: u64,
    /// Requests that ended in an error in the step.
    pub failed: u64,
    /// Requests rejected in the step (backlog full).
    pub rejected: u64,
    /// Requests failed fast as "overloaded" in the step.
    pub overloaded: u64,
    /// Busy app workers across all hosts, time-averaged over the step.
    pub active_workers: f64,
}

impl Point {
    /// The chart figures of `row`, with the controller read-outs sampled at the row's end.
    pub fn from_row(row: &StepRow, weights: Vec<f64>, diagnostics: Vec<(&'static str, f64)>) -> Point {
        Point {
            time_s: row.time_s,
            active_conns: row.servers.iter().map(|s| s.active_conns).collect(),
            attempts: row.servers.iter().map(|s| s.total_conns.saturating_sub(s.probe_conns)).collect(),
            weights,
            diagnostics,
            latency_p50_ms: row.latency_p50_ms,
            latency_p99_ms: row.latency_p99_ms,
            failed_conns: row.servers.iter().map(|s| s.failed_conns).sum(),
            failed: row.failed,
            rejected: row.rejected,
            overloaded: row.overloaded,
            active_workers: row.active_workers,
        }
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
