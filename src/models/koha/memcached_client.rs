//! One Cache::Memcached::Fast client (one per Starman worker): an fd per server, reconnecting on every command
//! that finds fd −1, and the optional failure timer. It knows nothing of servers: the model tells it how the
//! server's host answers, and it returns what the command cost and how it ended.
//!
//! Source: JRaspass/Cache-Memcached-Fast v0.26 `src/client.c` and `src/connect.c` (SEED-MODELS §000):
//! - `get_server_fd`: if `max_failures > 0` and `failure_count >= max_failures`, skip the server while
//!   `time(NULL) <= failure_expires`, else reset the count; with fd −1, a non-blocking connect polled for
//!   `connect_timeout`; a failed connect marks the server failed.
//! - `client_mark_failed`: close the fd; only if `max_failures > 0`: reset the count when `failure_expires <
//!   now`, count one, and set `failure_expires = now + failure_timeout` on the first failure and on the
//!   `max_failures`-th. Times are whole seconds (`time(NULL)`).
//! - `process_commands`: a request on an open fd that gets no answer fails after `io_timeout` (select), and the
//!   fd is closed; an fd whose peer reset or closed fails at once.

use crate::time::{SimDuration, SimTime, SECOND};

/// How a server's host answers, as the model sees it at the moment of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// memcached is listening; `incarnation` counts its restarts (a restart invalidates open connections).
    Serves {
        /// The memcached process's incarnation.
        incarnation: u32,
    },
    /// The host is up with nothing listening: a SYN or a request gets RST within one round trip.
    Refuses,
    /// Nothing answers (power off, cable pulled): SYNs and requests go unanswered.
    Blackhole,
}

/// How one command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Sent and answered (the model decides hit or miss).
    Done,
    /// Connect or request refused (RST) within one round trip.
    Refused,
    /// A connect polled for `connect_timeout` without an answer.
    ConnectTimeout,
    /// A request on an open fd waited `io_timeout` without an answer.
    IoTimeout,
    /// Skipped by the failure timer: no network at all.
    Skipped,
}

/// The client's timeouts and failure timer (Koha passes none of them, so these are the module's defaults).
#[derive(Clone, Copy, Debug)]
pub struct ClientConfig {
    /// `connect_timeout`, µs (default 250 ms).
    pub connect_timeout: SimDuration,
    /// `io_timeout`, µs (default 1000 ms).
    pub io_timeout: SimDuration,
    /// `max_failures` (default 0: off).
    pub max_failures: u32,
    /// `failure_timeout`, whole seconds (default 10).
    pub failure_timeout_s: u64,
    /// One network round trip on the LAN, µs (0.3 ms [assume]).
    pub rtt: SimDuration,
}

#[derive(Clone, Copy, Debug, Default)]
struct ServerSlot {
    /// The incarnation the open fd was connected to; `None` is fd −1.
    fd: Option<u32>,
    failure_count: u32,
    failure_expires_s: u64,
    /// Failed commands since the client was created (skips not included).
    failures: u64,
}

/// One worker's client.
#[derive(Clone, Debug)]
pub struct MemcachedClient {
    slots: Vec<ServerSlot>,
}

impl MemcachedClient {
    /// A fresh client (a new worker process): every fd −1, every failure counter 0.
    pub fn new(servers: usize) -> MemcachedClient {
        MemcachedClient { slots: vec![ServerSlot::default(); servers] }
    }

    /// Runs one get or set to `server` starting at `now`, whose host answers as `answer`. Returns what it cost
    /// and how it ended; the client's own fd and failure state are updated as of the command's end.
    pub fn command(
        &mut self,
        cfg: &ClientConfig,
        server: usize,
        answer: Answer,
        now: SimTime,
    ) -> (SimDuration, Outcome) {
        let Some(slot) = self.slots.get_mut(server) else { return (0, Outcome::Skipped) };
        if cfg.max_failures > 0 && slot.failure_count >= cfg.max_failures {
            if now / SECOND <= slot.failure_expires_s {
                return (0, Outcome::Skipped);
            }
            slot.failure_count = 0;
        }
        let (cost, outcome) = match (slot.fd, answer) {
            // An open fd to the live incarnation: one round trip.
            (Some(inc), Answer::Serves { incarnation }) if inc == incarnation => (cfg.rtt, Outcome::Done),
            // An open fd whose peer restarted or stopped: the request meets RST or EOF at once.
            (Some(_), Answer::Serves { .. }) | (Some(_), Answer::Refuses) => (cfg.rtt, Outcome::Refused),
            // An open fd to a host that vanished: select waits io_timeout.
            (Some(_), Answer::Blackhole) => (cfg.io_timeout, Outcome::IoTimeout),
            // fd −1: connect (one round trip), then the command (another).
            (None, Answer::Serves { incarnation }) => {
                slot.fd = Some(incarnation);
                (2 * cfg.rtt, Outcome::Done)
            }
            (None, Answer::Refuses) => (cfg.rtt, Outcome::Refused),
            (None, Answer::Blackhole) => (cfg.connect_timeout, Outcome::ConnectTimeout),
        };
        if outcome != Outcome::Done {
            Self::mark_failed(slot, cfg, (now + cost) / SECOND);
        }
        (cost, outcome)
    }

    fn mark_failed(slot: &mut ServerSlot, cfg: &ClientConfig, now_s: u64) {
        slot.fd = None;
        slot.failures += 1;
        if cfg.max_failures == 0 {
            return;
        }
        if slot.failure_expires_s < now_s {
            slot.failure_count = 0;
        }
        slot.failure_count += 1;
        if slot.failure_count == 1 || slot.failure_count == cfg.max_failures {
            slot.failure_expires_s = now_s + cfg.failure_timeout_s;
        }
    }

    /// True when the fd to `server` is open.
    pub fn is_open(&self, server: usize) -> bool {
        self.slots.get(server).is_some_and(|s| s.fd.is_some())
    }

    /// Commands to `server` that failed (refused or timed out) since this client was created.
    pub fn failures(&self, server: usize) -> u64 {
        self.slots.get(server).map_or(0, |s| s.failures)
    }

    /// The failure count of `server` (the client's own bound: it never exceeds `max_failures`).
    pub fn failure_count(&self, server: usize) -> u32 {
        self.slots.get(server).map_or(0, |s| s.failure_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::MILLISECOND;

    fn cfg(max_failures: u32) -> ClientConfig {
        ClientConfig {
            connect_timeout: 250 * MILLISECOND,
            io_timeout: 1000 * MILLISECOND,
            max_failures,
            failure_timeout_s: 10,
            rtt: 300,
        }
    }

    const UP: Answer = Answer::Serves { incarnation: 0 };

    #[test]
    fn a_live_server_costs_a_connect_once_then_one_round_trip() {
        let c = cfg(0);
        let mut m = MemcachedClient::new(3);
        assert_eq!(m.command(&c, 1, UP, 0), (600, Outcome::Done));
        assert_eq!(m.command(&c, 1, UP, 1000), (300, Outcome::Done));
        assert!(m.is_open(1));
    }

    #[test]
    fn a_blackhole_costs_io_timeout_once_on_an_open_fd_then_connect_timeout_every_time() {
        let c = cfg(0);
        let mut m = MemcachedClient::new(3);
        m.command(&c, 0, UP, 0);
        assert_eq!(m.command(&c, 0, Answer::Blackhole, SECOND), (c.io_timeout, Outcome::IoTimeout));
        for i in 0..100 {
            let (cost, out) = m.command(&c, 0, Answer::Blackhole, 3 * SECOND + i * SECOND);
            assert_eq!((cost, out), (c.connect_timeout, Outcome::ConnectTimeout), "never skipped with max_failures 0");
        }
        assert_eq!(m.failure_count(0), 0, "no failure accounting when max_failures is 0");
    }

    #[test]
    fn a_refusing_host_costs_one_round_trip() {
        let c = cfg(0);
        let mut m = MemcachedClient::new(3);
        m.command(&c, 2, UP, 0);
        assert_eq!(m.command(&c, 2, Answer::Refuses, 10), (300, Outcome::Refused), "open fd: RST on the request");
        assert_eq!(m.command(&c, 2, Answer::Refuses, 20), (300, Outcome::Refused), "fd −1: RST on the SYN");
        assert_eq!(m.command(&c, 2, Answer::Serves { incarnation: 1 }, 30), (600, Outcome::Done));
    }

    #[test]
    fn max_failures_skips_the_server_until_failure_timeout_has_passed() {
        let c = cfg(3);
        let mut m = MemcachedClient::new(3);
        let mut now = 5 * SECOND;
        for _ in 0..3 {
            let (cost, out) = m.command(&c, 0, Answer::Blackhole, now);
            assert_eq!(out, Outcome::ConnectTimeout);
            now += cost;
        }
        // The third failure ended at 5.75 s: failure_expires = 5 + 10 = 15 (whole seconds); skipped while
        // time(NULL) ≤ 15, so up to 15.999 s, and tried again at 16 s.
        assert_eq!(m.command(&c, 0, Answer::Blackhole, 15 * SECOND + 999_999).1, Outcome::Skipped);
        assert_eq!(m.command(&c, 0, Answer::Blackhole, 16 * SECOND).1, Outcome::ConnectTimeout);
        assert_eq!(m.failure_count(0), 1, "an expired window starts a new count");
    }
}
