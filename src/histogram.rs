//! A fixed-size log-linear latency histogram (the HdrHistogram layout with 7 significant bits).
//!
//! Every value in microseconds lands in one of [`BUCKETS`] buckets with a relative error below 1/128 (0.8%), so
//! quantiles cost no allocation and memory does not grow with the number of samples. The exact sum is kept on the
//! side, so the mean is exact.

/// Number of buckets: 128 exact ones for values below 128 µs, then 64 per power of two up to 2^64.
pub const BUCKETS: usize = 128 + 57 * 64;

/// A latency histogram over microsecond values.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Box<[u32]>,
    count: u64,
    sum_us: u128,
    lowest_touched: usize,
    highest_touched: usize,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

/// The bucket a value in microseconds lands in.
#[inline]
pub(crate) fn bucket_of(value_us: u64) -> usize {
    if value_us < 128 {
        return value_us as usize;
    }
    let exponent = 63 - value_us.leading_zeros() as usize; // ≥ 7
    let shift = exponent - 6;
    let mantissa = (value_us >> shift) as usize; // in [64, 128)
    128 + (exponent - 7) * 64 + (mantissa - 64)
}

/// The midpoint of a bucket, as the value it stands for.
pub(crate) fn value_of(bucket: usize) -> f64 {
    if bucket < 128 {
        return bucket as f64;
    }
    let exponent = (bucket - 128) / 64 + 7;
    let mantissa = ((bucket - 128) % 64 + 64) as u64;
    let shift = exponent - 6;
    let low = (mantissa << shift) as f64;
    low + (1u64 << shift) as f64 / 2.0
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum_us: 0,
            lowest_touched: BUCKETS,
            highest_touched: 0,
        }
    }

    /// Records one value in microseconds. A bucket saturates at `u32::MAX` rather than wrapping.
    pub fn record(&mut self, value_us: u64) {
        let b = bucket_of(value_us);
        self.counts[b] = self.counts[b].saturating_add(1);
        self.count += 1;
        self.sum_us += value_us as u128;
        self.lowest_touched = self.lowest_touched.min(b);
        self.highest_touched = self.highest_touched.max(b);
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean in microseconds, or 0 when empty.
    pub fn mean_us(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.count as f64
        }
    }

    /// The value at quantile `q` (0 ≤ q ≤ 1) in microseconds, within 0.8%; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for b in self.lowest_touched..=self.highest_touched {
            seen += self.counts[b] as u64;
            if seen >= rank {
                return value_of(b);
            }
        }
        value_of(self.highest_touched)
    }

    /// Adds every value of `other` into this histogram.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        for b in other.lowest_touched..=other.highest_touched {
            self.counts[b] = self.counts[b].saturating_add(other.counts[b]);
        }
        self.count += other.count;
        self.sum_us += other.sum_us;
        self.lowest_touched = self.lowest_touched.min(other.lowest_touched);
        self.highest_touched = self.highest_touched.max(other.highest_touched);
    }

    /// Empties the histogram, touching only the buckets that were used.
    pub fn clear(&mut self) {
        if self.count > 0 {
            self.counts[self.lowest_touched..=self.highest_touched].fill(0);
        }
        self.count = 0;
        self.sum_us = 0;
        self.lowest_touched = BUCKETS;
        self.highest_touched = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_buckets_midpoint_lands_in_that_bucket() {
        // A value recorded by its bucket alone (the section's spilled latency log) is its bucket's midpoint.
        for b in 0..BUCKETS {
            assert_eq!(bucket_of(value_of(b) as u64), b, "bucket {b}, midpoint {}", value_of(b));
        }
    }

    #[test]
    fn buckets_are_monotone_and_tight() {
        let mut prev = 0;
        for v in (0u64..5_000_000).step_by(37).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= prev && b < BUCKETS);
            prev = b;
            if v > 0 {
                assert!((value_of(b) - v as f64).abs() / v as f64 <= 1.0 / 128.0, "v={v} b={b}");
            }
        }
    }

    #[test]
    fn quantiles_of_a_uniform_ramp() {
        // Values 1..=10000: the q-quantile is 10000·q, to within the 1/128 bucket width.
        let mut h = Histogram::new();
        (1..=10_000).for_each(|v| h.record(v));
        for q in [0.5, 0.9, 0.99] {
            let want = 10_000.0 * q;
            assert!((h.quantile_us(q) - want).abs() / want < 1.0 / 128.0);
        }
        assert_eq!(h.mean_us(), 5000.5);
        h.clear();
        assert_eq!((h.count(), h.quantile_us(0.5)), (0, 0.0));
    }
}
