//! The section's invariants, checked after every event in the tests: conservation of requests, slab and
//! per-host accounting, connection lists, slots and queues.

use super::{model::*, request::*};
use crate::config::Capacity;

impl Section {
    /// Checks every conservation law and bound; returns the first violation found. O(requests); for tests.
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        let accounted = self.rejected + self.completed + self.failed + self.overloaded + self.live_requests as u64;
        if self.arrived != accounted {
            return Err(format!(
                "requests not conserved: arrived {} ≠ rejected {} + completed {} + failed {} + overloaded {} + live {}",
                self.arrived, self.rejected, self.completed, self.failed, self.overloaded, self.live_requests
            ));
        }
        let n = self.servers.len();
        let mut per_server = vec![[0u32; 4]; n]; // connecting, queued, querying, probes
        let mut per_host = vec![(0u32, 0u32); self.hosts.len()]; // holding a worker, in backlog
        let mut host_server = vec![0u32; self.hosts.len() * n];
        let mut live = 0;
        let mut probes = 0;
        for r in &self.requests {
            if r.probe && r.phase != Phase::Free {
                if !matches!(r.phase, Phase::Connecting | Phase::Querying) {
                    return Err(format!("a probe is in phase {:?}", r.phase));
                }
                probes += 1;
                per_server[r.server as usize][3] += 1;
                continue;
            }
            let slot = match r.phase {
                Phase::Free => continue,
                Phase::Backlog => {
                    per_host[r.host as usize].1 += 1;
                    live += 1;
                    continue;
                }
                Phase::Starting => return Err("a request is still choosing a server between events".into()),
                Phase::Connecting => 0,
                Phase::Queued => 1,
                Phase::Querying => 2,
            };
            live += 1;
            per_host[r.host as usize].0 += 1;
            per_server[r.server as usize][slot] += 1;
            host_server[r.host as usize * n + r.server as usize] += 1;
        }
        if probes != self.live_probes {
            return Err(format!("live probe count {} ≠ {probes} probes in the slab", self.live_probes));
        }
        if live != self.live_requests {
            return Err(format!("live request count {} ≠ {live} requests in the slab", self.live_requests));
        }
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
            if (host.busy_workers, host.backlog.len() as u32) != per_host[h] {
                return Err(format!(
                    "host {h}: workers/backlog {:?} ≠ requests {:?}",
                    (host.busy_workers, host.backlog.len()),
                    per_host[h]
                ));
            }
            for s in 0..n {
                if host.in_flight[s] != host_server[h * n + s] {
                    return Err(format!(
                        "host {h} server {s}: in_flight {} ≠ {}",
                        host.in_flight[s],
                        host_server[h * n + s]
                    ));
                }
            }
            workers += host.busy_workers as u64;
        }
        if workers != self.busy_workers {
            return Err(format!("busy workers {} ≠ sum over hosts {workers}", self.busy_workers));
        }
        for (i, s) in self.servers.iter().enumerate() {
            let [connecting, queued, querying, probes] = per_server[i];
            if s.conns.len() as u32 != connecting + queued + querying + probes {
                return Err(format!(
                    "server {i}: {} conns ≠ {connecting}+{queued}+{querying} requests + {probes} probes",
                    s.conns.len()
                ));
            }
            for (k, &req) in s.conns.iter().enumerate() {
                let r = &self.requests[req as usize];
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
