//! The trace of one pick, for the "why this server?" panel: plain data the section records when asked.

use crate::controller::Candidate;
use crate::time::SimTime;

/// One pick as the host saw it, for the "why this server?" panel.
#[derive(Clone, Debug, PartialEq)]
pub struct PickTrace {
    /// When, µs.
    pub time: SimTime,
    /// Which app host picked.
    pub host: usize,
    /// The candidates it could pick from, as its controller saw them (configured load with overrides, this
    /// host's in-flight count).
    pub candidates: Vec<Candidate>,
    /// The controller's weight for each candidate at that moment.
    pub weights: Vec<f64>,
    /// The server chosen, or `None` when the request failed fast.
    pub chosen: Option<usize>,
    /// Who decided: "controller", "pinned", "controller off", "breaker" or "controller declined".
    pub decided_by: &'static str,
    /// The controller's named terms for the chosen server (see `Controller::diagnostics`).
    pub diagnostics: Vec<(&'static str, f64)>,
}
