//! The section's invariants, checked after every event in the tests: conservation of requests, slab and
//! per-host accounting, connection lists, slots and queues.

use super::{model::*, request::*};
use crate::models::section::config::Capacity;

/// Where the slab's live requests are, counted once: per server (connecting, queued, querying, probes), per
/// host (holding a worker, in backlog), per host and server (in flight), and the live totals.
struct Census {
    per_server: Vec<[u32; 4]>,
    per_host: Vec<(u32, u32)>,
    host_server: Vec<u32>,
    live: u32,
    probes: u32,
}

impl Section {
    /// Checks every conservation law and bound; returns the first violation found. O(requests); for tests.
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        let accounted =
            self.rejected + self.completed + self.failed + self.overloaded + self.requests.live_requests as u64;
        if self.arrived != accounted {
            return Err(format!(
                "requests not conserved: arrived {} ≠ rejected {} + completed {} + failed {} + overloaded {} + live {}",
                self.arrived, self.rejected, self.completed, self.failed, self.overloaded, self.requests.live_requests
            ));
        }
        for (i, r) in self.replication.iter().enumerate() {
            if let Some(r) = r {
                r.check(&self.stream).map_err(|e| format!("{}: {e}", self.cfg.servers[i].name))?;
            }
        }
        let census = self.census()?;
        if census.probes != self.requests.live_probes {
            return Err(format!(
                "live probe count {} ≠ {} probes in the slab",
                self.requests.live_probes, census.probes
            ));
        }
        if census.live != self.requests.live_requests {
            return Err(format!(
                "live request count {} ≠ {} requests in the slab",
                self.requests.live_requests, census.live
            ));
        }
        self.check_hosts(&census)?;
        self.check_servers(&census)
    }

    /// Counts the slab's live requests by where they are; a probe or request in a phase it cannot be in is a
    /// violation.
    fn census(&self) -> Result<Census, String> {
        let n = self.servers.len();
        let mut c = Census {
            per_server: vec![[0u32; 4]; n],
            per_host: vec![(0u32, 0u32); self.hosts.len()],
            host_server: vec![0u32; self.hosts.len() * n],
            live: 0,
            probes: 0,
        };
        for r in self.requests.iter() {
            if r.probe && r.phase != Phase::Free {
                if !matches!(r.phase, Phase::Connecting | Phase::Querying) {
                    return Err(format!("a probe is in phase {:?}", r.phase));
                }
                c.probes += 1;
                c.per_server[r.server as usize][3] += 1;
                continue;
            }
            let slot = match r.phase {
                Phase::Free => continue,
                Phase::Backlog => {
                    c.per_host[r.host as usize].1 += 1;
                    c.live += 1;
                    continue;
                }
                Phase::Starting => return Err("a request is still choosing a server between events".into()),
                Phase::Connecting => 0,
                Phase::Queued => 1,
                Phase::Querying => 2,
            };
            c.live += 1;
            c.per_host[r.host as usize].0 += 1;
            c.per_server[r.server as usize][slot] += 1;
            c.host_server[r.host as usize * n + r.server as usize] += 1;
        }
        Ok(c)
    }

    /// Each host's pool and backlog against its bounds and its requests, its in-flight counts, and the section's
    /// busy-worker total.
    fn check_hosts(&self, c: &Census) -> Result<(), String> {
        let n = self.servers.len();
        let mut workers = 0u64;
        for (h, host) in self.hosts.iter().enumerate() {
            if let Some(max) = self.cfg.workers_per_host {
                if host.busy_workers > max {
                    return Err(format!("host {h}: {} busy workers > pool of {max}", host.busy_workers));
                }
            }
            if host.backlog.len() > self.cfg.backlog_per_host as usize {
                return Err(format!("host {h}: backlog {} > bound {}", host.backlog.len(), self.cfg.backlog_per_host));
            }
            if (host.busy_workers, host.backlog.len() as u32) != c.per_host[h] {
                return Err(format!(
                    "host {h}: workers/backlog {:?} ≠ requests {:?}",
                    (host.busy_workers, host.backlog.len()),
                    c.per_host[h]
                ));
            }
            for s in 0..n {
                if host.in_flight[s] != c.host_server[h * n + s] {
                    return Err(format!(
                        "host {h} server {s}: in_flight {} ≠ {}",
                        host.in_flight[s],
                        c.host_server[h * n + s]
                    ));
                }
            }
            workers += host.busy_workers as u64;
        }
        if workers != self.busy_workers {
            return Err(format!("busy workers {} ≠ sum over hosts {workers}", self.busy_workers));
        }
        Ok(())
    }

    /// Each server's connection list, queue and slots against the requests that are on it.
    fn check_servers(&self, c: &Census) -> Result<(), String> {
        for (i, s) in self.servers.iter().enumerate() {
            let [connecting, queued, querying, probes] = c.per_server[i];
            if s.conns.len() as u32 != connecting + queued + querying + probes {
                return Err(format!(
                    "server {i}: {} conns ≠ {connecting}+{queued}+{querying} requests + {probes} probes",
                    s.conns.len()
                ));
            }
            for (k, &req) in s.conns.iter().enumerate() {
                let r = &self.requests[req];
                if r.server as usize != i || r.conn_index as usize != k {
                    return Err(format!("server {i}: conns[{k}] = request {req} points elsewhere"));
                }
            }
            if s.queue.len() as u32 != queued {
                return Err(format!("server {i}: queue {} ≠ {queued} queued requests", s.queue.len()));
            }
            if let Capacity::Slots(slots) = self.cfg.servers[i].capacity {
                if s.busy_slots > slots || s.busy_slots != querying {
                    return Err(format!("server {i}: busy slots {} (of {slots}) ≠ {querying} running", s.busy_slots));
                }
                if s.busy_slots < slots && !s.queue.is_empty() {
                    return Err(format!("server {i}: idle slot while {} queries wait", s.queue.len()));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The checker itself: a healthy state passes, and each law, broken by hand, is reported by name.
    use super::super::model::Section;
    use super::super::request::Phase;
    use crate::engine::Engine;

    /// mmc with 2 servers of 2 slots, 2 hosts of 3 workers and a backlog of 50, at ρ 0.95: 6 workers for 4
    /// slots, so servers queue and hosts backlog. Stepped until every structure the checks read is populated.
    fn busy_section() -> Engine<Section> {
        let pairs: Vec<(String, String)> =
            [("servers", "2"), ("slots", "2"), ("utilization", "0.95"), ("hosts", "2"), ("workers", "3")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let cfg = crate::models::section::scenario::build("mmc", "static", &pairs).unwrap();
        let mut engine = Section::build(cfg, 5).unwrap();
        for _ in 0..200_000 {
            let m = engine.model();
            let ready = m.hosts.iter().any(|h| !h.backlog.is_empty())
                && m.servers.iter().all(|s| !s.queue.is_empty() && s.conns.len() >= 2 && s.busy_slots == 2);
            if ready {
                // Requests that ended every way, so that each term of the conservation law is non-zero (a run
                // this short has no failures): still conserved, still healthy.
                let m = engine.model_mut_for_output();
                m.arrived += 2 + 3 + 5;
                (m.rejected, m.failed, m.overloaded) = (m.rejected + 2, m.failed + 3, m.overloaded + 5);
                assert_eq!(engine.model().check_invariants(), Ok(()), "the healthy state fails");
                return engine;
            }
            engine.step_event();
        }
        panic!("never reached a state with queues and backlogs");
    }

    fn backlogged_host(m: &Section) -> usize {
        m.hosts.iter().position(|h| !h.backlog.is_empty()).unwrap()
    }

    /// Each corruption with the words its report must contain.
    #[allow(clippy::type_complexity)]
    const CORRUPTIONS: &[(&str, fn(&mut Section))] = &[
        ("requests not conserved", |m| m.arrived += 1),
        ("a probe is in phase", |m| {
            let r = m.servers[0].queue[0];
            m.requests[r].probe = true;
        }),
        ("still choosing a server", |m| {
            let r = m.servers[0].queue[0];
            m.requests[r].phase = Phase::Starting;
        }),
        ("live probe count", |m| m.requests.live_probes += 1),
        ("live request count", |m| {
            m.requests.live_requests += 1;
            m.arrived += 1;
        }),
        ("busy workers > pool", |m| {
            m.hosts[0].busy_workers = m.cfg.workers_per_host.unwrap() + 1;
        }),
        ("> bound", |m| m.cfg.backlog_per_host = 0),
        ("workers/backlog", |m| {
            let h = backlogged_host(m);
            m.hosts[h].backlog.pop_back();
        }),
        ("in_flight", |m| m.hosts[0].in_flight[1] += 1),
        ("≠ sum over hosts", |m| m.busy_workers += 1),
        ("conns ≠", |m| {
            let first = m.servers[1].conns[0];
            m.servers[1].conns.push(first);
        }),
        ("points elsewhere", |m| m.servers[1].conns.swap(0, 1)),
        ("queue", |m| {
            let first = m.servers[0].queue[0];
            m.servers[0].queue.push_back(first);
        }),
        ("busy slots", |m| m.servers[0].busy_slots += 1),
        ("idle slot while", |m| {
            // A running query moved back to the queue, with every count kept consistent but the slot left idle.
            let s = &m.servers[0];
            let r = *s.conns.iter().find(|&&r| m.requests[r].phase == Phase::Querying).unwrap();
            m.requests[r].phase = Phase::Queued;
            m.servers[0].queue.push_back(r);
            m.servers[0].busy_slots -= 1;
        }),
    ];

    #[test]
    fn every_corrupted_invariant_is_reported() {
        for (words, corrupt) in CORRUPTIONS {
            let mut engine = busy_section();
            corrupt(engine.model_mut_for_output());
            match engine.model().check_invariants() {
                Ok(()) => panic!("corruption '{words}' passed the checker"),
                Err(e) => assert!(e.contains(words), "corruption '{words}' reported as: {e}"),
            }
        }
    }
}
