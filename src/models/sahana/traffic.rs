//! The traffic profile: Poisson arrivals whose rate follows a day of a quiet period then busy hours, as the
//! seed describes ("typically occurs after a period of lower traffic, at the moment when traffic increases
//! again").
//!
//! Each day of `day` µs starts with `quiet_until` µs at `quiet_rate`, then runs at `rate` to the day's end; with
//! `day` 0 the quiet period happens once, at the start. Arrivals are drawn by thinning (Lewis and Shedler): a
//! candidate stream at the profile's peak rate, each candidate kept with probability λ(t)/λ_max, which is exact
//! for a piecewise-constant rate and needs no look-ahead at the next change.

use crate::rng::Rng;
use crate::time::{from_secs_f64, SimTime};

/// The arrival-rate profile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    /// Busy-hours rate, req/s.
    pub rate: f64,
    /// Quiet-period rate, req/s.
    pub quiet_rate: f64,
    /// Quiet period of each day, µs from the day's start.
    pub quiet_until: SimTime,
    /// Day length, µs (0: no repeat).
    pub day: SimTime,
}

impl Profile {
    /// The arrival rate at `t`, req/s.
    pub fn rate_at(&self, t: SimTime) -> f64 {
        let phase = if self.day > 0 { t % self.day } else { t };
        if phase < self.quiet_until {
            self.quiet_rate
        } else {
            self.rate
        }
    }

    /// The thinning stream's rate, req/s: the profile's peak.
    pub fn peak(&self) -> f64 {
        self.rate.max(self.quiet_rate)
    }

    /// The time of the next candidate arrival after `now`, or `None` when the profile never sends traffic.
    pub fn next_candidate(&self, now: SimTime, rng: &mut Rng) -> Option<SimTime> {
        let peak = self.peak();
        if peak <= 0.0 {
            return None;
        }
        Some(now.saturating_add(from_secs_f64(rng.exponential(1.0 / peak)).max(1)))
    }

    /// True when a candidate at `t` is a real arrival (kept with probability λ(t)/λ_max).
    pub fn keep(&self, t: SimTime, rng: &mut Rng) -> bool {
        let peak = self.peak();
        let r = self.rate_at(t);
        r >= peak || rng.chance(r / peak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::time::SECOND;

    #[test]
    fn the_rate_follows_the_day_and_thinning_keeps_the_quiet_fraction() {
        let p = Profile { rate: 2.0, quiet_rate: 0.5, quiet_until: 100 * SECOND, day: 1000 * SECOND };
        assert_eq!(p.rate_at(0), 0.5);
        assert_eq!(p.rate_at(100 * SECOND), 2.0);
        assert_eq!(p.rate_at(1050 * SECOND), 0.5);
        // Kept fraction of quiet-period candidates is quiet_rate/rate = 1/4; binomial standard error over n draws.
        let mut rng = Rng::new(7, Stream::Arrivals);
        let n = 100_000;
        let kept = (0..n).filter(|_| p.keep(0, &mut rng)).count() as f64 / n as f64;
        let se = (0.25f64 * 0.75 / n as f64).sqrt();
        assert!((kept - 0.25).abs() < 5.0 * se, "kept {kept}; seed 7");
        let never = Profile { rate: 0.0, quiet_rate: 0.0, quiet_until: 0, day: 0 };
        assert_eq!(never.next_candidate(0, &mut rng), None);
    }
}
