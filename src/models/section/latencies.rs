//! Every server's latencies in the current metrics step, for the rows' per-server p99: one log shared by all the
//! servers instead of a histogram each.
//!
//! Each server used to own a [`crate::histogram::Histogram`] (3776 `u32` buckets, 15 KB) that every completion
//! counted into. At 1024 servers that is 15 MB touched at random, and loading the bucket was a quarter of the
//! engine's time (`perf record` on mmc, 1024 servers × 1 slot). The log appends one `u32` (server, bucket) a
//! completion, in order; the step end sorts it by server (a counting sort) and selects each server's quantile
//! bucket, the same bucket the histogram's cumulative scan found (the q-th of the sorted values' buckets), so every
//! row is unchanged. A log that reaches [`SPILL_AT`] records (a long step at a high rate) is folded into a
//! [`Histogram`] for each server that has records, allocated then, so memory stays bounded.

use crate::histogram::{bucket_of, value_of, Histogram};

/// Records the log holds before it is folded into per-server bucket counts (1 MiB of log).
const SPILL_AT: usize = 1 << 18;

/// Low bits of a record that hold the bucket (`BUCKETS` = 3776 < 2¹²); the server is above them.
const BUCKET_BITS: u32 = 12;

/// The current step's latencies of every server.
pub(super) struct ServerLatencies {
    /// (server << BUCKET_BITS | bucket) per completion since the step began or the last spill.
    log: Vec<u32>,
    /// Per server, a histogram of its spilled records (`None` until its first spill), each recorded as its
    /// bucket's midpoint, which lands in that bucket: its quantiles are the records'.
    spilled: Vec<Option<Histogram>>,
    /// Step-end scratch: each server's end in `sorted`, then `sorted`, the log's buckets ordered by server.
    ends: Vec<usize>,
    sorted: Vec<u16>,
}

impl ServerLatencies {
    /// An empty record for `servers` servers.
    pub(super) fn new(servers: usize) -> ServerLatencies {
        debug_assert!(servers < 1 << (32 - BUCKET_BITS));
        ServerLatencies { log: Vec::new(), spilled: vec![None; servers], ends: Vec::new(), sorted: Vec::new() }
    }

    /// Records one latency of `server`, µs.
    #[inline]
    pub(super) fn record(&mut self, server: usize, value_us: u64) {
        self.log.push((server as u32) << BUCKET_BITS | bucket_of(value_us) as u32);
        if self.log.len() >= SPILL_AT {
            self.spill();
        }
    }

    /// Folds the log into the servers' bucket counts.
    #[cold]
    fn spill(&mut self) {
        for &r in &self.log {
            let spilled = self.spilled[(r >> BUCKET_BITS) as usize].get_or_insert_with(Histogram::new);
            spilled.record(value_of((r & ((1 << BUCKET_BITS) - 1)) as usize) as u64);
        }
        self.log.clear();
    }

    /// Each server's latency at quantile `q` (0 ≤ q ≤ 1) over the step, µs, as
    /// [`crate::histogram::Histogram::quantile_us`] gives it (0 for a server with none), into `out` by server;
    /// then empties the record for the next step.
    pub(super) fn take_quantiles(&mut self, q: f64, out: &mut Vec<f64>) {
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let n = self.spilled.len();
        // Counting sort by server: counts, then each server's start, advanced to its end while scattering.
        self.ends.clear();
        self.ends.resize(n, 0);
        for &r in &self.log {
            self.ends[(r >> BUCKET_BITS) as usize] += 1;
        }
        let mut start = 0;
        for end in self.ends.iter_mut() {
            (*end, start) = (start, start + *end);
        }
        self.sorted.clear();
        self.sorted.resize(self.log.len(), 0);
        for &r in &self.log {
            let at = &mut self.ends[(r >> BUCKET_BITS) as usize];
            self.sorted[*at] = (r & ((1 << BUCKET_BITS) - 1)) as u16;
            *at += 1;
        }
        self.log.clear();
        out.clear();
        let mut begin = 0;
        for server in 0..n {
            let end = self.ends[server];
            let buckets = &mut self.sorted[begin..end];
            begin = end;
            let rank_of = |count: usize| ((q * count as f64).ceil() as usize).max(1);
            out.push(match &mut self.spilled[server] {
                Some(spilled) => {
                    for &b in buckets.iter() {
                        spilled.record(value_of(b as usize) as u64);
                    }
                    let answer = spilled.quantile_us(q);
                    spilled.clear();
                    answer
                }
                None if buckets.is_empty() => 0.0,
                None => {
                    let rank = rank_of(buckets.len());
                    let (_, &mut b, _) = buckets.select_nth_unstable(rank - 1);
                    value_of(b as usize)
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::Histogram;
    use crate::rng::{Rng, Stream};

    /// The log's quantiles against one histogram per server, over steps of `per_step` records each.
    fn check_against_histograms(servers: usize, per_step: usize, steps: usize) {
        let mut rng = Rng::new(5, Stream::Service);
        let mut log = ServerLatencies::new(servers);
        let mut histograms = vec![Histogram::new(); servers];
        let mut out = Vec::new();
        for step in 0..steps {
            for _ in 0..per_step {
                // A skewed server choice leaves some servers without records; latencies over six decades.
                let server = (rng.below(servers as u64) * rng.below(servers as u64) / servers as u64) as usize;
                let value = rng.exponential(1.0e3 * (1 + server % 7) as f64) as u64 + rng.below(3);
                log.record(server, value);
                histograms[server].record(value);
            }
            log.take_quantiles(0.99, &mut out);
            let want: Vec<f64> = histograms.iter().map(|h| h.quantile_us(0.99)).collect();
            assert_eq!(out, want, "step {step}, {servers} servers, {per_step} a step");
            histograms.iter_mut().for_each(Histogram::clear);
        }
    }

    #[test]
    fn quantiles_match_a_histogram_per_server() {
        check_against_histograms(1, 1, 3);
        check_against_histograms(12, 5_000, 3);
        check_against_histograms(1024, 3_000, 2);
    }

    #[test]
    fn a_long_step_spills_and_still_matches() {
        // More records in one step than the log holds: the second step's spilled counts must start from zero.
        check_against_histograms(3, SPILL_AT + SPILL_AT / 2, 2);
    }
}
