//! The app server's workers: uWSGI processes behind one listen socket, each handling one request at a time. The
//! dispatch policy and the listen backlog are the shared [`WorkerPool`]; this noun adds what each worker is
//! doing (its lane: idle, busy, blocked on a lock, stuck on a dead connection), its request, and its per-step
//! accounting (busy time, requests completed).

use crate::parts::pool::{Admit, Dispatch, WorkerPool};
use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};

/// One request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Req {
    /// Arrival time, µs.
    pub arrived: SimTime,
    /// Its session cookie (session_lock coupling).
    pub session: u32,
    /// True once it has waited on a dead connection.
    pub stalled: bool,
}

/// What a worker is doing, as the lane chart codes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// 0: no request.
    Idle = 0,
    /// 1: its query is with the database (or about to be sent).
    Busy = 1,
    /// 2: waiting for a lock another worker holds.
    Blocked = 2,
    /// 3: its query went into a dead flow; the kernel is retransmitting.
    Stuck = 3,
}

/// One worker's slot.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// The request it holds.
    pub req: Option<Req>,
    /// What it is doing.
    pub lane: Lane,
    /// Generation of its query-done event; a kill makes the pending one stale.
    pub gen: u32,
    busy_mark: SimTime,
    busy_in_step: SimDuration,
    completed_in_step: u64,
    completed: u64,
}

/// The workers and their pool.
pub struct Workers {
    pool: WorkerPool<Req>,
    slots: Vec<Slot>,
}

impl Workers {
    /// `n` idle workers with a listen backlog of `backlog` and the given dispatch policy.
    pub fn new(n: u32, backlog: u32, dispatch: Dispatch) -> Workers {
        let idle = Slot {
            req: None,
            lane: Lane::Idle,
            gen: 0,
            busy_mark: 0,
            busy_in_step: 0,
            completed_in_step: 0,
            completed: 0,
        };
        Workers { pool: WorkerPool::new(n, backlog as usize, dispatch), slots: vec![idle; n as usize] }
    }

    /// Offers a new request at `now`: a worker takes it (and is returned), it waits, or it is rejected.
    pub fn offer(&mut self, req: Req, now: SimTime, rng: &mut Rng) -> Admit<Req> {
        let admit = self.pool.offer(req, rng);
        if let Admit::Started(w, r) = &admit {
            self.take(*w, *r, now);
        }
        admit
    }

    fn take(&mut self, w: u32, req: Req, now: SimTime) {
        let s = &mut self.slots[w as usize];
        if s.lane == Lane::Idle {
            s.busy_mark = now;
        }
        s.req = Some(req);
        s.lane = Lane::Busy;
    }

    /// Worker `w` finished its request at `now`. Returns the finished request and the next one it takes from
    /// the backlog, if any.
    pub fn finish(&mut self, w: u32, now: SimTime) -> (Option<Req>, Option<Req>) {
        let s = &mut self.slots[w as usize];
        let done = s.req.take();
        if done.is_some() {
            s.completed += 1;
            s.completed_in_step += 1;
        }
        (done, self.release(w, now))
    }

    fn release(&mut self, w: u32, now: SimTime) -> Option<Req> {
        match self.pool.release(w, now) {
            Some(next) => {
                self.take(w, next, now);
                Some(next)
            }
            None => {
                let s = &mut self.slots[w as usize];
                s.busy_in_step += now - s.busy_mark;
                s.busy_mark = now;
                s.lane = Lane::Idle;
                None
            }
        }
    }

    /// Worker `w` is killed at `now` and respawns at once. Returns the request it lost and the next one the
    /// fresh process takes from the backlog.
    pub fn kill(&mut self, w: u32, now: SimTime) -> (Option<Req>, Option<Req>) {
        let s = &mut self.slots[w as usize];
        s.gen = s.gen.wrapping_add(1);
        let lost = s.req.take();
        if lost.is_none() {
            return (None, None);
        }
        (lost, self.release(w, now))
    }

    /// Sets what worker `w` is doing.
    pub fn set_lane(&mut self, w: u32, lane: Lane) {
        self.slots[w as usize].lane = lane;
    }

    /// Marks worker `w`'s request as having stalled.
    pub fn mark_stalled(&mut self, w: u32) {
        if let Some(r) = self.slots[w as usize].req.as_mut() {
            r.stalled = true;
        }
    }

    /// One worker's slot.
    pub fn slot(&self, w: u32) -> &Slot {
        &self.slots[w as usize]
    }

    /// Closes a metrics step of `step` µs at `now`: each worker's busy fraction and requests completed in it.
    pub fn close_step(&mut self, now: SimTime, step: SimDuration, out: &mut Vec<(f64, u64)>) {
        out.clear();
        for s in &mut self.slots {
            if s.lane != Lane::Idle {
                s.busy_in_step += now - s.busy_mark;
                s.busy_mark = now;
            }
            out.push(((s.busy_in_step as f64 / step.max(1) as f64).min(1.0), s.completed_in_step));
            s.busy_in_step = 0;
            s.completed_in_step = 0;
        }
    }

    /// Requests completed by worker `w` over the run.
    pub fn completed(&self, w: u32) -> u64 {
        self.slots[w as usize].completed
    }

    /// The pool (backlog length, rejected count, idle times).
    pub fn pool(&self) -> &WorkerPool<Req> {
        &self.pool
    }

    /// Requests held by workers.
    pub fn holding(&self) -> u64 {
        self.slots.iter().filter(|s| s.req.is_some()).count() as u64
    }

    /// The workers' invariants: a worker holds a request exactly when the pool has it busy and its lane is not
    /// idle; the pool's own checks.
    pub fn check(&self) -> Result<(), String> {
        self.pool.check()?;
        for (w, s) in self.slots.iter().enumerate() {
            let busy = self.pool.is_busy(w as u32);
            if busy != s.req.is_some() || busy != (s.lane != Lane::Idle) {
                return Err(format!("worker {}: pool busy {busy}, request {:?}, lane {:?}", w + 1, s.req, s.lane));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::time::SECOND;

    #[test]
    fn busy_time_and_completions_are_accounted_per_step() {
        let mut ws = Workers::new(2, 1, Dispatch::Ordered);
        let mut rng = Rng::new(1, Stream::Balancing);
        let r = Req { arrived: 0, session: 0, stalled: false };
        assert_eq!(ws.offer(r, 0, &mut rng), Admit::Started(0, r));
        assert_eq!(ws.finish(0, 4 * SECOND), (Some(r), None));
        let mut out = Vec::new();
        ws.close_step(10 * SECOND, 10 * SECOND, &mut out);
        assert_eq!(out, vec![(0.4, 1), (0.0, 0)]);
        ws.check().unwrap();
        assert!(matches!(ws.offer(r, 10 * SECOND, &mut rng), Admit::Started(0, _)));
        assert_eq!(ws.kill(0, 11 * SECOND), (Some(r), None));
        ws.check().unwrap();
    }
}
