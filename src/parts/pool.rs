//! A worker pool with a bounded first-in first-out backlog and a dispatch policy: which idle worker takes the
//! next request. Shared by models whose app servers have a fixed number of workers (Sahana's uWSGI, Koha's
//! Starman).
//!
//! The pool knows nothing of what a job is or how long it runs: the model offers a job, learns which worker
//! took it (or that it waits, or is rejected), and tells the pool when a worker is free again.
//!
//! Dispatch policies (SEED-MODELS §001 "Dispatch"):
//! - `ordered`: the lowest-numbered idle worker, as a shared accept lock hunting from worker 1. Shares per worker
//!   then follow ordered hunting, share_k ∝ B(k−1, a) − B(k, a) with Erlang B.
//! - `lifo`: the most recently idle worker, as epoll wakes "the process calling epoll_wait() most recently".
//! - `fifo`: the longest idle worker, as a blocking accept() queue.
//! - `random`: any idle worker, uniformly.

use std::collections::{BTreeSet, VecDeque};

use crate::engine::keys::{opt, word, Opt};
use crate::rng::Rng;
use crate::time::SimTime;

/// Which idle worker takes the next request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// Lowest-numbered idle worker first.
    Ordered,
    /// Most recently idle first.
    Lifo,
    /// Longest idle first.
    Fifo,
    /// Uniformly random among the idle.
    Random,
}

impl Dispatch {
    /// The key's choices, in this enum's order.
    pub const OPTIONS: &'static [Opt] = &[
        opt("ordered", "lowest-numbered first"),
        opt("lifo", "most recently idle first"),
        opt("fifo", "longest idle first"),
        word("random"),
    ];

    /// The policy at `index` of [`Dispatch::OPTIONS`].
    pub fn from_index(index: usize) -> Dispatch {
        [Dispatch::Ordered, Dispatch::Lifo, Dispatch::Fifo, Dispatch::Random][index.min(3)]
    }
}

/// What happened to an offered job.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit<T> {
    /// Worker `worker` took it now.
    Started(u32, T),
    /// Every worker is busy; it waits in the backlog.
    Queued,
    /// Every worker is busy and the backlog is full; the job is handed back.
    Rejected(T),
}

/// The idle workers, kept in the structure the policy needs so a pick is O(log W) or better.
enum Idle {
    Ordered(BTreeSet<u32>),
    /// Front: longest idle; back: most recently idle.
    Queue(VecDeque<u32>),
    /// Any order; positions kept for O(1) removal.
    Bag(Vec<u32>),
}

/// A pool of workers with a backlog.
pub struct WorkerPool<T> {
    policy: Dispatch,
    idle: Idle,
    busy: Vec<bool>,
    idle_since: Vec<SimTime>,
    served: Vec<u64>,
    backlog: VecDeque<T>,
    backlog_max: usize,
    rejected: u64,
}

impl<T> WorkerPool<T> {
    /// `workers` idle workers (numbered from 0) and room for `backlog_max` waiting jobs.
    pub fn new(workers: u32, backlog_max: usize, policy: Dispatch) -> WorkerPool<T> {
        let all = 0..workers;
        let idle = match policy {
            Dispatch::Ordered => Idle::Ordered(all.collect()),
            Dispatch::Lifo | Dispatch::Fifo => Idle::Queue(all.collect()),
            Dispatch::Random => Idle::Bag(all.collect()),
        };
        WorkerPool {
            policy,
            idle,
            busy: vec![false; workers as usize],
            idle_since: vec![0; workers as usize],
            served: vec![0; workers as usize],
            backlog: VecDeque::new(),
            backlog_max,
            rejected: 0,
        }
    }

    fn take_idle(&mut self, rng: &mut Rng) -> Option<u32> {
        match (&mut self.idle, self.policy) {
            (Idle::Ordered(set), _) => set.pop_first(),
            (Idle::Queue(q), Dispatch::Lifo) => q.pop_back(),
            (Idle::Queue(q), _) => q.pop_front(),
            (Idle::Bag(bag), _) => {
                if bag.is_empty() {
                    None
                } else {
                    let i = rng.below(bag.len() as u64) as usize;
                    Some(bag.swap_remove(i))
                }
            }
        }
    }

    fn put_idle(&mut self, worker: u32) {
        match &mut self.idle {
            Idle::Ordered(set) => {
                set.insert(worker);
            }
            Idle::Queue(q) => q.push_back(worker),
            Idle::Bag(bag) => bag.push(worker),
        }
    }

    fn remove_idle(&mut self, worker: u32) {
        match &mut self.idle {
            Idle::Ordered(set) => {
                set.remove(&worker);
            }
            Idle::Queue(q) => q.retain(|w| *w != worker),
            Idle::Bag(bag) => bag.retain(|w| *w != worker),
        }
    }

    /// Offers a job: an idle worker takes it now, or it waits, or it is rejected (backlog full).
    pub fn offer(&mut self, job: T, rng: &mut Rng) -> Admit<T> {
        if let Some(worker) = self.take_idle(rng) {
            self.start(worker);
            return Admit::Started(worker, job);
        }
        if self.backlog.len() < self.backlog_max {
            self.backlog.push_back(job);
            Admit::Queued
        } else {
            self.rejected += 1;
            Admit::Rejected(job)
        }
    }

    fn start(&mut self, worker: u32) {
        self.busy[worker as usize] = true;
        self.served[worker as usize] += 1;
    }

    /// Worker `worker` finished at `now`. If a job waits, this worker takes it at once (it is the only idle
    /// one) and the job is returned; else the worker goes idle.
    pub fn release(&mut self, worker: u32, now: SimTime) -> Option<T> {
        debug_assert!(self.busy[worker as usize], "release of idle worker {worker}");
        if let Some(job) = self.backlog.pop_front() {
            self.served[worker as usize] += 1;
            return Some(job);
        }
        self.busy[worker as usize] = false;
        self.idle_since[worker as usize] = now;
        self.put_idle(worker);
        None
    }

    /// Takes an idle worker out of the idle set and marks it busy without a job (a worker that is
    /// restarting, say). Returns false when it was not idle.
    pub fn occupy(&mut self, worker: u32) -> bool {
        if self.busy.get(worker as usize) != Some(&false) {
            return false;
        }
        self.remove_idle(worker);
        self.busy[worker as usize] = true;
        true
    }

    /// Empties the backlog, returning the waiting jobs oldest first.
    pub fn drain_backlog(&mut self) -> Vec<T> {
        self.backlog.drain(..).collect()
    }

    /// Number of workers.
    pub fn workers(&self) -> u32 {
        self.busy.len() as u32
    }
    /// True while `worker` holds a job.
    pub fn is_busy(&self, worker: u32) -> bool {
        self.busy[worker as usize]
    }
    /// Busy workers.
    pub fn busy_count(&self) -> u32 {
        self.busy.iter().filter(|b| **b).count() as u32
    }
    /// When `worker` last went idle, µs.
    pub fn idle_since(&self, worker: u32) -> SimTime {
        self.idle_since[worker as usize]
    }
    /// Jobs `worker` has taken.
    pub fn served(&self, worker: u32) -> u64 {
        self.served[worker as usize]
    }
    /// Jobs waiting.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }
    /// Jobs turned away because the backlog was full.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// The pool's own invariants: idle set and busy flags agree, backlog within bound, no waiting job while a
    /// worker is idle.
    pub fn check(&self) -> Result<(), String> {
        let idle_count = match &self.idle {
            Idle::Ordered(s) => s.len(),
            Idle::Queue(q) => q.len(),
            Idle::Bag(b) => b.len(),
        };
        let free = self.busy.iter().filter(|b| !**b).count();
        if idle_count != free {
            return Err(format!("pool: {idle_count} workers in the idle set but {free} not busy"));
        }
        if self.backlog.len() > self.backlog_max {
            return Err(format!("pool: backlog {} over its bound {}", self.backlog.len(), self.backlog_max));
        }
        if free > 0 && !self.backlog.is_empty() {
            return Err(format!("pool: {free} idle workers while {} jobs wait", self.backlog.len()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn pool(policy: Dispatch) -> (WorkerPool<u32>, Rng) {
        (WorkerPool::new(3, 2, policy), Rng::new(1, Stream::Control))
    }

    #[test]
    fn ordered_takes_the_lowest_idle_worker() {
        let (mut p, mut rng) = pool(Dispatch::Ordered);
        assert_eq!(p.offer(10, &mut rng), Admit::Started(0, 10));
        assert_eq!(p.offer(11, &mut rng), Admit::Started(1, 11));
        assert_eq!(p.release(0, 5), None);
        assert_eq!(p.offer(12, &mut rng), Admit::Started(0, 12));
        p.check().unwrap();
    }

    #[test]
    fn lifo_takes_the_most_recently_idle_and_fifo_the_longest_idle() {
        for (policy, expect) in [(Dispatch::Lifo, 0), (Dispatch::Fifo, 2)] {
            let (mut p, mut rng) = pool(policy);
            for j in 0..3 {
                assert!(matches!(p.offer(j, &mut rng), Admit::Started(..)));
            }
            // Workers go idle in the order 2, 1, 0 (whatever their numbers).
            let order: Vec<u32> = (0..3)
                .map(|j| match j {
                    0 => 2,
                    1 => 1,
                    _ => 0,
                })
                .collect();
            let mut taken = Vec::new();
            for (t, w) in order.iter().enumerate() {
                p.release(*w, t as u64);
            }
            if let Admit::Started(w, _) = p.offer(9, &mut rng) {
                taken.push(w);
            }
            assert_eq!(taken, [expect], "{policy:?}");
        }
    }

    #[test]
    fn the_backlog_is_fifo_bounded_and_handed_to_the_freed_worker() {
        let (mut p, mut rng) = pool(Dispatch::Random);
        for j in 0..3 {
            assert!(matches!(p.offer(j, &mut rng), Admit::Started(..)));
        }
        assert_eq!(p.offer(3, &mut rng), Admit::Queued);
        assert_eq!(p.offer(4, &mut rng), Admit::Queued);
        assert_eq!(p.offer(5, &mut rng), Admit::Rejected(5));
        assert_eq!(p.release(1, 7), Some(3));
        assert_eq!(p.release(1, 8), Some(4));
        assert_eq!(p.release(1, 9), None);
        assert_eq!(p.rejected(), 1);
        assert_eq!(p.served(1), 3);
        assert_eq!(p.idle_since(1), 9);
        p.check().unwrap();
    }
}
