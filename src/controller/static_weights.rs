//! `static`: weighted random by configured load, as MediaWiki's LoadBalancer does with LoadMonitor off
//! (`LoadBalancer::getReaderIndex` → `ArrayUtils::pickRandom` over the configured loads; REFERENCE §2).

use super::{per_host, Controller, ControllerInfo, HostView};
use crate::rng::Rng;

/// Registry entry.
pub const INFO: ControllerInfo = ControllerInfo {
    main_params: &[],
    name: "static",
    summary: "weighted random by configured load, as MediaWiki does with LoadMonitor off",
    rule: "a random draw, each server's chance its configured load ÷ the total",
    params: &[],
    build: |_, _, hosts| per_host(hosts, |_| StaticWeights),
    formula: Some(|_, loads, _| loads.to_vec()),
    probe_timeout_ms: crate::controller::PROBE_TIMEOUT_MS,
    charted_terms: &[],
    bytes_per_server: 8,
};

/// Picks replicas with probability proportional to their configured load; ignores all feedback.
#[derive(Clone, Copy, Debug, Default)]
pub struct StaticWeights;

impl Controller for StaticWeights {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        view.sample_by_load(rng)
    }

    fn listens(&self) -> bool {
        false
    }

    fn picks_by_load(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Candidate;
    use crate::rng::Stream;

    #[test]
    fn picks_in_proportion_to_load() {
        // Loads 50:200:0 → shares 0.2, 0.8, 0. With 100k picks the share's standard error is 0.0013; allow 0.01.
        let c = |server, load| Candidate { server, configured_load: load, in_flight: 0 };
        let cands = [c(0, 50.0), c(1, 200.0), c(2, 0.0)];
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &cands, load_index: None };
        let mut rng = Rng::new(3, Stream::Balancing);
        let mut counts = [0u32; 3];
        for _ in 0..100_000 {
            counts[StaticWeights.pick(&view, &mut rng).unwrap()] += 1;
        }
        assert!((counts[0] as f64 / 1e5 - 0.2).abs() < 0.01, "{counts:?}");
        assert_eq!(counts[2], 0);
    }

    #[test]
    fn a_pick_with_the_load_index_is_the_index_draw() {
        // `picks_by_load`'s promise, which lets the section draw from the index without calling `pick`.
        let c = |server, load| Candidate { server, configured_load: load, in_flight: 0 };
        let cands = [c(0, 1.0), c(1, 3.0), c(2, 0.0), c(3, 2.5)];
        let index = crate::controller::load_index::LoadIndex::new(&[1.0, 3.0, 0.0, 2.5]);
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &cands, load_index: Some(&index) };
        let (mut a, mut b) = (Rng::new(4, Stream::Balancing), Rng::new(4, Stream::Balancing));
        assert!(StaticWeights.picks_by_load());
        for _ in 0..1_000 {
            assert_eq!(StaticWeights.pick(&view, &mut a), index.sample(&mut b));
        }
    }
}
