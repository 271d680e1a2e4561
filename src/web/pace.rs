//! How the page's runs advance, wherever they run (on the main thread, `runner`; in a Web Worker, `protocol`):
//! one chart step at a time, in chunks of a bounded number of events.

use crate::time::{from_secs_f64, SimTime};

/// Simulated seconds per chart row: 0.5 s, so 600 rows span five simulated minutes.
pub const TIME_STEP_S: f64 = 0.5;

/// Events one `run_until` call may process. The frame loop checks its wall-clock budget between calls, so a
/// frame never runs much past its budget, whatever the URL asks for (a 1000× surge, a huge section): under a
/// millisecond of simulation in Chromium on this machine. A worker checks its slice the same way.
pub const EVENTS_PER_CHUNK: u64 = 5_000;

/// The end of the chart step that contains `now` (the next multiple of [`TIME_STEP_S`] after it).
pub fn next_boundary(now: SimTime) -> SimTime {
    let step = from_secs_f64(TIME_STEP_S);
    (now / step).saturating_add(1).saturating_mul(step)
}
