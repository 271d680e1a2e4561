//! One TCP connection's kernel timers, as events: the retransmission timer with its doubling timeout and the
//! keepalive timer, each with a generation number so a reconnect or a live setting change makes the pending
//! timer stale.
//!
//! Both follow Linux's `net/ipv4/tcp_timer.c` (torvalds/linux):
//! - Retransmission (`tcp_retransmit_timer`, `tcp_write_timeout`): at each expiry the connection gives up if it
//!   has already retransmitted `tcp_retries2` times (or, with `TCP_USER_TIMEOUT` set, if that much time has
//!   passed since the first send, the timer being clamped to it, `tcp_clamp_rto_to_user_timeout`); otherwise it
//!   retransmits and doubles the timeout up to `TCP_RTO_MAX`. From 200 ms to 120 s with 15 retries that is
//!   0.2·(2¹⁰−1) + 6·120 = 924.6 s, `tcp_model_timeout`'s figure (REFERENCE.md §4).
//! - Keepalive (`tcp_keepalive_timer`): nothing while data is in flight; otherwise, once nothing has been
//!   received for `keepalive_idle`, it closes the socket if `keepalive_probes` probes are already unanswered,
//!   else sends a probe and looks again `keepalive_interval` later. An answered probe resets the count and the
//!   idle clock. With 7200/75/9 an unanswered connection closes 7200 + 9·75 = 7875 s after its last traffic.
//!
//! The part never sees the router: it says when it sends (a probe, a retransmission) and the model tells it
//! what came back.

use super::config::TcpConfig;
use crate::time::{SimDuration, SimTime};

/// Why a connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// Keepalive probes went unanswered (ETIMEDOUT while idle).
    Keepalive,
    /// The router answered with a reset (ECONNRESET).
    Reset,
    /// Retransmissions gave up (ETIMEDOUT with data in flight).
    TimedOut,
    /// Never opened, or its worker was killed.
    Gone,
}

/// A retransmission in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retrans {
    /// When the unacknowledged data was first sent, µs.
    pub started: SimTime,
    /// The current retransmission timeout, µs.
    pub rto: SimDuration,
    /// Retransmissions so far.
    pub count: u32,
}

/// The retransmission timer's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtoStep {
    /// Another timer replaced it.
    Stale,
    /// Retransmit now; the next expiry is at `at`.
    Retransmit {
        /// Next expiry, µs.
        at: SimTime,
    },
    /// The connection gives up: ETIMEDOUT after `stalled` µs.
    TimedOut {
        /// Time from the first send to giving up, µs.
        stalled: SimDuration,
    },
}

/// The keepalive timer's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepaliveStep {
    /// Another timer replaced it, or keepalive is off, or the socket is closed.
    Stale,
    /// Nothing to send yet; look again at this time.
    Wait(SimTime),
    /// Send a probe now, then report what came back with [`Conn::probe_sent`].
    Probe,
    /// Too many unanswered probes: the socket closes now.
    Close,
}

/// One connection's kernel state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conn {
    /// `None` while open; why it closed otherwise.
    pub closed: Option<Closed>,
    /// Last time anything was received, µs (the kernel's `rcv_tstamp`).
    pub last_rx: SimTime,
    /// A query was sent and its answer has not come.
    pub in_flight: bool,
    /// Unanswered keepalive probes (`icsk_probes_out`).
    pub probes_out: u32,
    /// The retransmission in progress.
    pub retrans: Option<Retrans>,
    /// Retransmissions over the connection's life.
    pub retransmits: u64,
    ka_gen: u32,
    rto_gen: u32,
}

impl Default for Conn {
    fn default() -> Conn {
        Conn {
            closed: Some(Closed::Gone),
            last_rx: 0,
            in_flight: false,
            probes_out: 0,
            retrans: None,
            retransmits: 0,
            ka_gen: 0,
            rto_gen: 0,
        }
    }
}

impl Conn {
    /// Opens the connection at `now` (the handshake is instant). Returns the keepalive timer, if any.
    pub fn connect(&mut self, now: SimTime, cfg: &TcpConfig) -> Option<(SimTime, u32)> {
        self.closed = None;
        self.last_rx = now;
        self.in_flight = false;
        self.probes_out = 0;
        self.retrans = None;
        self.rto_gen = self.rto_gen.wrapping_add(1);
        self.keepalive_timer(now, cfg)
    }

    /// Closes the connection; every pending timer goes stale.
    pub fn close(&mut self, why: Closed) {
        self.closed = Some(why);
        self.in_flight = false;
        self.retrans = None;
        self.ka_gen = self.ka_gen.wrapping_add(1);
        self.rto_gen = self.rto_gen.wrapping_add(1);
    }

    /// True while open.
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }

    /// A query leaves at `now` (its answer is reported by [`Conn::answered`]).
    pub fn send(&mut self) {
        self.in_flight = true;
    }

    /// The query's answer arrived at `now`.
    pub fn answered(&mut self, now: SimTime) {
        self.in_flight = false;
        self.last_rx = now;
        self.probes_out = 0;
    }

    /// The query sent at `now` got no acknowledgement: the retransmission timer starts. Returns its first
    /// expiry and generation.
    pub fn start_retransmit(&mut self, now: SimTime, cfg: &TcpConfig) -> (SimTime, u32) {
        self.retrans = Some(Retrans { started: now, rto: cfg.rto_min, count: 0 });
        self.rto_gen = self.rto_gen.wrapping_add(1);
        (clamp_to_user_timeout(now, now.saturating_add(cfg.rto_min), cfg), self.rto_gen)
    }

    /// The retransmission timer of generation `gen` fired at `now`.
    pub fn on_rto(&mut self, gen: u32, now: SimTime, cfg: &TcpConfig) -> RtoStep {
        let Some(r) = self.retrans.filter(|_| gen == self.rto_gen && self.closed.is_none()) else {
            return RtoStep::Stale;
        };
        let elapsed = now - r.started;
        let give_up = if cfg.user_timeout > 0 { elapsed >= cfg.user_timeout } else { r.count >= cfg.retries2 };
        if give_up {
            self.close(Closed::TimedOut);
            return RtoStep::TimedOut { stalled: elapsed };
        }
        let rto = r.rto.saturating_mul(2).min(cfg.rto_max);
        self.retrans = Some(Retrans { started: r.started, rto, count: r.count + 1 });
        self.retransmits += 1;
        // The kernel doubles `icsk_rto` (capped) and re-arms the timer with the doubled value.
        let at = clamp_to_user_timeout(r.started, now.saturating_add(rto), cfg);
        RtoStep::Retransmit { at }
    }

    /// The current retransmission timer's generation (for tests and invariants).
    pub fn rto_gen(&self) -> u32 {
        self.rto_gen
    }

    /// The keepalive timer from the current state: when it should next fire, with its generation. Bumps the
    /// generation, so any timer already pending is stale.
    pub fn keepalive_timer(&mut self, now: SimTime, cfg: &TcpConfig) -> Option<(SimTime, u32)> {
        self.ka_gen = self.ka_gen.wrapping_add(1);
        if cfg.keepalive_idle == 0 || self.closed.is_some() {
            return None;
        }
        Some((self.last_rx.saturating_add(cfg.keepalive_idle).max(now), self.ka_gen))
    }

    /// The keepalive timer of generation `gen` fired at `now`.
    pub fn on_keepalive(&mut self, gen: u32, now: SimTime, cfg: &TcpConfig) -> KeepaliveStep {
        if gen != self.ka_gen || self.closed.is_some() || cfg.keepalive_idle == 0 {
            return KeepaliveStep::Stale;
        }
        if self.in_flight || self.retrans.is_some() {
            return KeepaliveStep::Wait(now.saturating_add(cfg.keepalive_idle));
        }
        let elapsed = now - self.last_rx;
        if elapsed < cfg.keepalive_idle {
            return KeepaliveStep::Wait(self.last_rx + cfg.keepalive_idle);
        }
        let out_of_time = cfg.user_timeout > 0 && elapsed >= cfg.user_timeout && self.probes_out > 0;
        if out_of_time || (cfg.user_timeout == 0 && self.probes_out >= cfg.keepalive_probes) {
            self.close(Closed::Keepalive);
            return KeepaliveStep::Close;
        }
        KeepaliveStep::Probe
    }

    /// A probe left at `now`; `answered` says whether its acknowledgement came back. Returns the next
    /// keepalive expiry (one interval later, as the kernel re-arms).
    pub fn probe_sent(&mut self, now: SimTime, answered: bool, cfg: &TcpConfig) -> SimTime {
        if answered {
            self.last_rx = now;
            self.probes_out = 0;
        } else {
            self.probes_out += 1;
        }
        now.saturating_add(cfg.keepalive_interval)
    }

    /// The keepalive timer's current generation.
    pub fn ka_gen(&self) -> u32 {
        self.ka_gen
    }
}

fn clamp_to_user_timeout(started: SimTime, at: SimTime, cfg: &TcpConfig) -> SimTime {
    if cfg.user_timeout > 0 {
        at.min(started.saturating_add(cfg.user_timeout))
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{MILLISECOND, SECOND};

    fn linux() -> TcpConfig {
        TcpConfig {
            keepalive_idle: 7200 * SECOND,
            keepalive_interval: 75 * SECOND,
            keepalive_probes: 9,
            retries2: 15,
            rto_min: 200 * MILLISECOND,
            rto_max: 120 * SECOND,
            user_timeout: 0,
        }
    }

    /// Drives the retransmission timer to its end; returns (stall, retransmissions).
    fn ladder(cfg: &TcpConfig) -> (SimDuration, u64) {
        let mut c = Conn::default();
        c.connect(0, cfg);
        c.send();
        let (mut at, gen) = c.start_retransmit(0, cfg);
        for _ in 0..1000 {
            match c.on_rto(gen, at, cfg) {
                RtoStep::Retransmit { at: next } => at = next,
                RtoStep::TimedOut { stalled } => return (stalled, c.retransmits),
                RtoStep::Stale => panic!("stale"),
            }
        }
        panic!("no end")
    }

    #[test]
    fn the_linux_defaults_give_up_after_924_6_s_and_15_retransmissions() {
        // 0.2·(2^10 − 1) + 6·120 s (tcp_model_timeout with TCP_RTO_MIN, TCP_RTO_MAX, tcp_retries2 = 15).
        let expected = 200 * MILLISECOND * 1023 + 6 * 120 * SECOND;
        assert_eq!(ladder(&linux()), (expected, 15));
        let user = TcpConfig { user_timeout: 30 * SECOND, ..linux() };
        assert_eq!(ladder(&user).0, 30 * SECOND, "TCP_USER_TIMEOUT clamps the timer to itself");
    }

    #[test]
    fn an_unanswered_idle_socket_closes_after_idle_plus_probes_times_interval() {
        let cfg = linux();
        let mut c = Conn::default();
        let (mut at, gen) = c.connect(0, &cfg).unwrap();
        assert_eq!(at, 7200 * SECOND);
        loop {
            match c.on_keepalive(gen, at, &cfg) {
                KeepaliveStep::Probe => at = c.probe_sent(at, false, &cfg),
                KeepaliveStep::Close => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(at, (7200 + 9 * 75) * SECOND);
        assert_eq!(c.closed, Some(Closed::Keepalive));
        assert_eq!(c.on_keepalive(gen, at, &cfg), KeepaliveStep::Stale);
    }

    /// An idle connection whose probes go unanswered: when it closes and how many probes it sent.
    fn unanswered_keepalive(cfg: &TcpConfig) -> (SimTime, u32) {
        let mut c = Conn::default();
        let (mut at, gen) = c.connect(0, cfg).unwrap();
        for _ in 0..100_000 {
            match c.on_keepalive(gen, at, cfg) {
                KeepaliveStep::Probe => at = c.probe_sent(at, false, cfg),
                KeepaliveStep::Close => return (at, c.probes_out),
                other => panic!("{other:?}"),
            }
        }
        panic!("never closed")
    }

    /// TCP_USER_TIMEOUT with keepalive (`tcp_keepalive_timer`): the socket closes once `elapsed ≥ user_timeout`
    /// with at least one probe unanswered, and `keepalive_probes` no longer counts. Idle 7200 s, probes every
    /// 75 s: a 30 s timeout still sends the first probe at 7200 s and closes at the next look, 7275 s; 7400 s
    /// closes at the first look past it, 7200 + 3·75 = 7425 s, after 3 probes; 10⁴ s keeps probing past 9, to
    /// the first look at or past it, 7200 + 38·75 = 10050 s, after 38 probes.
    #[test]
    fn user_timeout_replaces_the_probe_count_and_still_needs_one_unanswered_probe() {
        for (user_s, close_s, probes) in [(30, 7275, 1), (7400, 7425, 3), (10_000, 10_050, 38)] {
            let cfg = TcpConfig { user_timeout: user_s * SECOND, ..linux() };
            assert_eq!(unanswered_keepalive(&cfg), (close_s * SECOND, probes), "TCP_USER_TIMEOUT {user_s} s");
        }
        assert_eq!(unanswered_keepalive(&linux()), ((7200 + 9 * 75) * SECOND, 9), "without it: 9 probes");
    }
}
