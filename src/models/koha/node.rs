//! One Koha node: its state (up, services stopped, powered off, or a blank host on its IP), its Starman workers
//! (a [`WorkerPool`] with Starman's FIFO accept queue and listen backlog), and each worker's cache client,
//! recycled with a fresh client after `max_requests` pages (koha-plack's `--max-requests 50`).

use crate::parts::pool::{Dispatch, WorkerPool};

use super::config::{BACKLOG_MAX, NODES};
use super::haproxy::CheckAnswer;
use super::memcached_client::{Answer, MemcachedClient};
use super::page::Page;

/// What is running on a node's IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    /// Everything runs.
    Up,
    /// Every service stopped (`systemctl stop`): the host answers RST on every port.
    ServicesStopped,
    /// Powered off or cable pulled: nothing answers.
    PoweredOff,
    /// A fresh Debian install on the same IP: up, nothing listening, so RST like services-stopped.
    Virgin,
}

impl Power {
    /// How the node's web port answers HAProxy.
    pub fn web(self) -> CheckAnswer {
        match self {
            Power::Up => CheckAnswer::Ok,
            Power::ServicesStopped | Power::Virgin => CheckAnswer::Refused,
            Power::PoweredOff => CheckAnswer::Blackhole,
        }
    }

    /// How the node's memcached port answers a client, given memcached's incarnation.
    pub fn memcached(self, incarnation: u32) -> Answer {
        match self {
            Power::Up => Answer::Serves { incarnation },
            Power::ServicesStopped | Power::Virgin => Answer::Refuses,
            Power::PoweredOff => Answer::Blackhole,
        }
    }
}

/// One Starman worker process.
#[derive(Clone, Debug)]
pub struct Worker {
    /// The page it is running.
    pub page: Option<Page>,
    /// Its cache client.
    pub client: MemcachedClient,
    /// The memcached server of each key for this client's server list.
    pub placement: Vec<usize>,
    /// Pages served since it was forked.
    pub served: u32,
    /// Bumped when the worker is killed or forked again, so its pending step events go stale.
    pub gen: u32,
    /// Restart after the current page (a graceful Plack restart after a config change).
    pub restart_pending: bool,
}

/// One node.
pub struct Node {
    /// What runs on its IP.
    pub power: Power,
    /// Starman's workers and backlog.
    pub pool: WorkerPool<Page>,
    /// The workers' processes.
    pub workers: Vec<Worker>,
    /// The memcached servers its koha-conf.xml lists, in order.
    pub servers: Vec<usize>,
    /// The placement a newly forked worker's client uses.
    pub placement: Vec<usize>,
    /// The node's ledger of pages: taken in (started or queued), finished, and killed by a fault.
    pub ledger: Ledger,
}

/// Pages a node took in and how they left it: `admitted = finished + killed + running + waiting` at every event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Pages the pool started or queued.
    pub admitted: u64,
    /// Pages a worker finished.
    pub finished: u64,
    /// Pages killed in a worker or in the backlog by a fault.
    pub killed: u64,
}

impl Node {
    /// An up node with `workers` fresh workers whose clients list `servers` and place keys by `placement`.
    pub fn new(workers: u32, servers: Vec<usize>, placement: Vec<usize>) -> Node {
        let worker = Worker {
            page: None,
            client: MemcachedClient::new(NODES),
            placement: placement.clone(),
            served: 0,
            gen: 0,
            restart_pending: false,
        };
        Node {
            power: Power::Up,
            pool: WorkerPool::new(workers, BACKLOG_MAX, Dispatch::Fifo),
            workers: vec![worker; workers as usize],
            servers,
            placement,
            ledger: Ledger::default(),
        }
    }

    /// Forks worker `w` again: a fresh client with the node's current server list, counters reset.
    pub fn fork(&mut self, w: usize) {
        let placement = self.placement.clone();
        let worker = &mut self.workers[w];
        worker.client = MemcachedClient::new(NODES);
        worker.placement = placement;
        worker.served = 0;
        worker.gen = worker.gen.wrapping_add(1);
        worker.restart_pending = false;
    }

    /// Kills every page (in workers and in the backlog) and every worker process; returns how many pages died.
    pub fn kill_all(&mut self, now: crate::time::SimTime) -> u64 {
        let mut killed = self.pool.drain_backlog().len() as u64;
        for w in 0..self.workers.len() {
            if self.workers[w].page.take().is_some() {
                killed += 1;
                self.pool.release(w as u32, now);
            }
            self.fork(w);
        }
        self.ledger.killed += killed;
        killed
    }

    /// The node's invariants: its pages conserved, the pool's, and a page in exactly the busy workers.
    pub fn check(&self, name: &str) -> Result<(), String> {
        let running = self.workers.iter().filter(|w| w.page.is_some()).count() as u64;
        let waiting = self.pool.backlog_len() as u64;
        let Ledger { admitted, finished, killed } = self.ledger;
        if admitted != finished + killed + running + waiting {
            return Err(format!(
                "{name}: pages not conserved in the node: {admitted} admitted ≠ {finished} finished + {killed} killed + {running} running + {waiting} waiting"
            ));
        }
        self.pool.check().map_err(|e| format!("{name}: {e}"))?;
        for (w, worker) in self.workers.iter().enumerate() {
            if worker.page.is_some() != self.pool.is_busy(w as u32) {
                return Err(format!(
                    "{name}: worker {w} busy={} but page={}",
                    self.pool.is_busy(w as u32),
                    worker.page.is_some()
                ));
            }
        }
        if self.power != Power::Up && (self.pool.busy_count() > 0 || self.pool.backlog_len() > 0) {
            return Err(format!("{name}: pages running on a node that is not up"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Rng, Stream};

    #[test]
    fn a_dead_node_loses_its_pages_and_comes_back_with_fresh_workers() {
        let mut node = Node::new(2, vec![0, 1, 2], vec![0; 4]);
        let mut rng = Rng::new(1, Stream::Control);
        for t in 0..3 {
            node.ledger.admitted += 1;
            if let crate::parts::pool::Admit::Started(w, page) = node.pool.offer(Page::new(t), &mut rng) {
                node.workers[w as usize].page = Some(page);
            }
        }
        node.check("koha1").unwrap();
        assert_eq!((node.pool.busy_count(), node.pool.backlog_len()), (2, 1));
        let gens: Vec<u32> = node.workers.iter().map(|w| w.gen).collect();
        assert_eq!(node.kill_all(10), 3, "two running, one waiting");
        node.check("koha1").unwrap();
        assert!(node.workers.iter().zip(gens).all(|(w, g)| w.gen != g && w.served == 0));
        assert_eq!(Power::PoweredOff.web(), CheckAnswer::Blackhole);
        assert_eq!(Power::Virgin.memcached(3), Answer::Refuses);
    }
}
