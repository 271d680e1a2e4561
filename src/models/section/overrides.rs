//! An operator's ramp of a server's configured load (drain, repool, depool as a ramp of length 0), the noun the
//! overrides in `operators.rs` set and the ramp tick follows.

use crate::time::{SimDuration, SimTime};

/// Interval between configured-load updates while a ramp is under way, µs.
pub(super) const RAMP_TICK: SimDuration = 100_000;

/// An operator's ramp of a server's configured load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct LoadRamp {
    pub(super) from: f64,
    pub(super) to: f64,
    pub(super) start: SimTime,
    pub(super) length: SimDuration,
}

impl LoadRamp {
    pub(super) fn at(&self, now: SimTime) -> f64 {
        if self.done(now) {
            self.to
        } else {
            let progress = (now - self.start) as f64 / self.length as f64;
            self.from + (self.to - self.from) * progress
        }
    }

    pub(super) fn done(&self, now: SimTime) -> bool {
        self.length == 0 || now >= self.start.saturating_add(self.length)
    }
}
