//! Simulated time: an integer count of microseconds since the start of a run.
//!
//! The engine never uses floating-point seconds for ordering or scheduling, so a run is the same on every
//! platform (TigerBeetle's `Instant{ns}` habit). Floats appear only at the edges: configuration in, metrics out.

/// A point in simulated time, in microseconds since the run started.
pub type SimTime = u64;
/// A span of simulated time, in microseconds.
pub type SimDuration = u64;

/// One millisecond, in microseconds.
pub const MILLISECOND: SimDuration = 1_000;
/// One second, in microseconds.
pub const SECOND: SimDuration = 1_000_000;

/// Converts seconds (as configured by a person) to whole microseconds, rounding to nearest.
///
/// Negative and NaN inputs map to zero; values beyond `u64` saturate. Callers validate ranges first; this only
/// guarantees that no conversion can panic.
pub fn from_secs_f64(seconds: f64) -> SimDuration {
    let micros = seconds * 1e6;
    if micros.is_nan() || micros <= 0.0 {
        0
    } else if micros >= u64::MAX as f64 {
        u64::MAX
    } else {
        (micros + 0.5) as u64 // nearest, halves up; `as` truncates exactly on every platform
    }
}

/// Converts milliseconds to whole microseconds, rounding to nearest (same saturation rules as [`from_secs_f64`]).
pub fn from_millis_f64(millis: f64) -> SimDuration {
    from_secs_f64(millis / 1e3)
}

/// Converts microseconds to seconds, for output.
pub fn as_secs_f64(t: SimDuration) -> f64 {
    t as f64 / 1e6
}

/// Converts microseconds to milliseconds, for output.
pub fn as_millis_f64(t: SimDuration) -> f64 {
    t as f64 / 1e3
}
