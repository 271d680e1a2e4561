//! How one worker's stuck database call holds up the others: the candidate explanations of SEED-MODELS §001
//! "Coupling", as one choice.
//!
//! - `global_lock` is the seed's explanation ("there is still only one global libpq instance ... it is
//!   basically blocked for any concurrent requests"), modelled as the seed states it: while one worker's call
//!   waits on a dead connection, every other worker's database call waits before it is sent. Calls on live
//!   connections do not serialise each other (a mutex around every call would cut capacity to one query at a
//!   time, which the seed's normal operation contradicts). The sources do not support it: libpq has no
//!   process-wide lock, and psycopg2 releases the GIL around `PQexec`, holding only the per-connection lock
//!   (psycopg/psycopg2 `psycopg/pqpath.c`, `_pq_execute_sync`); uWSGI workers are processes anyway.
//! - `session_lock` is web2py's file session: `Session.connect` takes an exclusive portalocker flock on the
//!   session file and holds it to the end of the request (web2py `gluon/globals.py`), so a later request with
//!   the same cookie waits inside its worker. It fits every symptom; whether Eden ran file sessions there is not
//!   known.
//! - `none`: only the request on the dead connection hangs.
//!
//! Every wait list holds at most one entry per worker, so its bound is the worker count.

use std::collections::VecDeque;

use super::config::CouplingMode;

#[derive(Clone, Debug, Default)]
struct SessionLock {
    holder: Option<u32>,
    waiters: VecDeque<u32>,
}

/// The locks between workers.
pub struct Coupling {
    mode: CouplingMode,
    /// The worker whose call is stuck on a dead connection (global_lock).
    stuck_holder: Option<u32>,
    global_waiters: VecDeque<u32>,
    sessions: Vec<SessionLock>,
}

impl Coupling {
    /// The locks for `mode` with `sessions` session cookies.
    pub fn new(mode: CouplingMode, sessions: u32) -> Coupling {
        let n = if mode == CouplingMode::SessionLock { sessions as usize } else { 0 };
        Coupling {
            mode,
            stuck_holder: None,
            global_waiters: VecDeque::new(),
            sessions: vec![SessionLock::default(); n],
        }
    }

    /// The coupling in force.
    pub fn mode(&self) -> CouplingMode {
        self.mode
    }

    /// Worker `w` starts a request of `session`: true when it may go on, false when it now waits for the
    /// session's lock.
    pub fn enter_session(&mut self, session: u32, w: u32) -> bool {
        let Some(lock) = self.sessions.get_mut(session as usize) else { return true };
        if lock.holder.is_none() {
            lock.holder = Some(w);
            true
        } else {
            lock.waiters.push_back(w);
            false
        }
    }

    /// Worker `w`'s request of `session` ends: the next waiter, if any, now holds the lock and goes on.
    pub fn leave_session(&mut self, session: u32, w: u32) -> Option<u32> {
        let lock = self.sessions.get_mut(session as usize)?;
        if lock.holder != Some(w) {
            lock.waiters.retain(|x| *x != w);
            return None;
        }
        lock.holder = lock.waiters.pop_front();
        lock.holder
    }

    /// Worker `w` is about to send a query: true when it may, false when it now waits behind a stuck call.
    pub fn before_query(&mut self, w: u32) -> bool {
        match self.stuck_holder {
            Some(h) if h != w && self.mode == CouplingMode::GlobalLock => {
                self.global_waiters.push_back(w);
                false
            }
            _ => true,
        }
    }

    /// Worker `w`'s query went into a dead flow: under global_lock every other call now waits for it.
    pub fn stuck(&mut self, w: u32) {
        if self.mode == CouplingMode::GlobalLock {
            self.stuck_holder = Some(w);
        }
    }

    /// Worker `w`'s stuck call ended: the workers waiting behind it, oldest first, may send again.
    pub fn unstuck(&mut self, w: u32) -> Vec<u32> {
        if self.stuck_holder != Some(w) {
            return Vec::new();
        }
        self.stuck_holder = None;
        self.global_waiters.drain(..).collect()
    }

    /// Worker `w` died holding `session` (if any): it leaves every wait list and releases what it held.
    /// Returns the workers that may go on, oldest first.
    pub fn abandon(&mut self, w: u32, session: Option<u32>) -> Vec<u32> {
        self.global_waiters.retain(|x| *x != w);
        let mut out = self.unstuck(w);
        if let Some(next) = session.and_then(|s| self.leave_session(s, w)) {
            out.push(next);
        }
        out
    }

    /// The worker holding the stuck call (global_lock).
    pub fn stuck_holder(&self) -> Option<u32> {
        self.stuck_holder
    }

    /// True when `w` waits for a lock.
    pub fn is_waiting(&self, w: u32) -> bool {
        self.global_waiters.contains(&w) || self.sessions.iter().any(|s| s.waiters.contains(&w))
    }

    /// The locks' own invariants: no worker waits twice, a waiter's lock is held, and fewer global waiters than
    /// `workers`: they wait behind the holder's stuck call, and the holder, stuck in that call, never waits
    /// itself (a worker is either Stuck or Blocked), so at most `workers - 1` wait.
    pub fn check(&self, workers: u32) -> Result<(), String> {
        if self.global_waiters.len() >= workers as usize {
            return Err(format!("coupling: {} global waiters for {workers} workers", self.global_waiters.len()));
        }
        if !self.global_waiters.is_empty() && self.stuck_holder.is_none() {
            return Err("coupling: workers wait behind a stuck call that nobody holds".into());
        }
        let mut seen = vec![false; workers as usize];
        let all = self.global_waiters.iter().chain(self.sessions.iter().flat_map(|s| s.waiters.iter()));
        for &w in all {
            if std::mem::replace(&mut seen[w as usize], true) {
                return Err(format!("coupling: worker {w} waits twice"));
            }
        }
        if let Some(s) = self.sessions.iter().position(|s| s.holder.is_none() && !s.waiters.is_empty()) {
            return Err(format!("coupling: session {s} has waiters but no holder"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stuck_call_holds_every_other_call_under_global_lock_only() {
        let mut c = Coupling::new(CouplingMode::GlobalLock, 1);
        assert!(c.before_query(2));
        c.stuck(2);
        assert!(!c.before_query(0));
        assert!(!c.before_query(1));
        c.check(4).unwrap();
        assert_eq!(c.unstuck(2), vec![0, 1]);
        let mut none = Coupling::new(CouplingMode::None, 1);
        none.stuck(2);
        assert!(none.before_query(0));
    }

    #[test]
    fn a_session_lock_passes_to_the_oldest_waiter_and_dies_with_its_holder() {
        let mut c = Coupling::new(CouplingMode::SessionLock, 3);
        assert!(c.enter_session(1, 0));
        assert!(!c.enter_session(1, 2));
        assert!(!c.enter_session(1, 3));
        assert!(c.enter_session(2, 1), "another session is free");
        c.check(4).unwrap();
        assert_eq!(c.abandon(0, Some(1)), vec![2]);
        assert_eq!(c.leave_session(1, 2), Some(3));
        assert_eq!(c.leave_session(1, 3), None);
    }

    /// Each law of the locks, broken by hand on a healthy state, is reported by name.
    #[test]
    fn every_corrupted_lock_state_is_reported() {
        let healthy = || {
            let mut c = Coupling::new(CouplingMode::GlobalLock, 2);
            c.stuck(3);
            assert!(!c.before_query(0) && !c.before_query(1));
            c.check(4).unwrap();
            c
        };
        #[allow(clippy::type_complexity)]
        let corruptions: [(&str, fn(&mut Coupling)); 5] = [
            ("5 global waiters for 4 workers", |c| c.global_waiters.extend([0, 1, 2])),
            // Every worker waiting, the holder (3) too, though it is stuck in its call: one waiter too many.
            ("4 global waiters for 4 workers", |c| c.global_waiters.extend([2, 3])),
            ("nobody holds", |c| c.stuck_holder = None),
            ("worker 1 waits twice", |c| c.global_waiters.push_back(1)),
            ("session 1 has waiters but no holder", |c| {
                c.sessions = vec![SessionLock::default(); 2];
                c.sessions[1].waiters.push_back(2);
            }),
        ];
        for (words, corrupt) in corruptions {
            let mut c = healthy();
            corrupt(&mut c);
            let err = c.check(4).unwrap_err();
            assert!(err.contains(words), "corruption '{words}' reported as: {err}");
        }
    }

    /// The bound itself is legal: with worker 3 stuck, the three others may all wait behind it.
    #[test]
    fn every_worker_but_the_holder_may_wait_behind_a_stuck_call() {
        let mut c = Coupling::new(CouplingMode::GlobalLock, 1);
        c.stuck(3);
        assert!((0..3).all(|w| !c.before_query(w)));
        assert_eq!(c.check(4), Ok(()));
        assert!(c.before_query(3), "the holder's own call is not held");
        assert_eq!(c.unstuck(3), vec![0, 1, 2]);
    }
}
