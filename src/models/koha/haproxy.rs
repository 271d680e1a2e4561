//! The HAProxy front: cookie-sticky sessions over the three Koha nodes (`balance roundrobin` for a session it
//! has not seen or whose server is down, as `option redispatch` does) and a health check per node on the web
//! port. It returns decisions; the model owns the clock and the nodes.
//!
//! Health checks follow the HAProxy configuration manual §5.2 (`inter` 2 s, `fall` 3, `rise` 2) and `timeout
//! check` (unset: the check times out after `inter`): a check starts every `inter`, first spread over the
//! servers (server i at i·inter/N); a server goes DOWN after `fall` consecutive failed checks and UP again
//! after `rise` consecutive good ones. A host that refuses fails its check in one round trip, a blackholed one
//! after the check timeout.

use crate::time::{SimDuration, SimTime};

/// How a node's web port answers a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckAnswer {
    /// Starman (through Apache) accepts: the check passes after one round trip.
    Ok,
    /// The host answers RST: the check fails after one round trip.
    Refused,
    /// Nothing answers: the check fails at its timeout.
    Blackhole,
}

/// The check schedule and thresholds.
#[derive(Clone, Copy, Debug)]
pub struct CheckConfig {
    /// `inter`, µs (2 s).
    pub inter: SimDuration,
    /// `fall` (3).
    pub fall: u32,
    /// `rise` (2).
    pub rise: u32,
    /// `timeout check`, µs (unset: `inter`).
    pub timeout: SimDuration,
    /// One round trip, µs.
    pub rtt: SimDuration,
}

impl CheckConfig {
    /// HAProxy's defaults with a LAN round trip of `rtt`.
    pub fn defaults(rtt: SimDuration) -> CheckConfig {
        let inter = 2 * crate::time::SECOND;
        CheckConfig { inter, fall: 3, rise: 2, timeout: inter, rtt }
    }

    /// When the first check of server `node` of `nodes` starts (spread over one `inter`).
    pub fn first_check(&self, node: usize, nodes: usize) -> SimTime {
        self.inter * node as u64 / nodes.max(1) as u64
    }

    /// How long a check takes to give its result.
    pub fn result_delay(&self, answer: CheckAnswer) -> SimDuration {
        match answer {
            CheckAnswer::Ok | CheckAnswer::Refused => self.rtt,
            CheckAnswer::Blackhole => self.timeout,
        }
    }
}

/// The number of user sessions the front sees (cookies in the stick table) [assume: a small library's
/// staff and patrons at once].
pub const SESSIONS: usize = 60;

/// The front's state.
#[derive(Clone, Debug)]
pub struct Haproxy {
    up: Vec<bool>,
    streak: Vec<u32>,
    sticky: Vec<Option<usize>>,
    next_rr: usize,
    /// When each node last went DOWN, µs.
    pub went_down: Vec<Option<SimTime>>,
    /// When each node last came back UP, µs.
    pub went_up: Vec<Option<SimTime>>,
}

impl Haproxy {
    /// Every node UP, no session seen yet.
    pub fn new(nodes: usize) -> Haproxy {
        Haproxy {
            up: vec![true; nodes],
            streak: vec![0; nodes],
            sticky: vec![None; SESSIONS],
            next_rr: 0,
            went_down: vec![None; nodes],
            went_up: vec![None; nodes],
        }
    }

    /// True while HAProxy sends to `node`.
    pub fn is_up(&self, node: usize) -> bool {
        self.up.get(node).copied().unwrap_or(false)
    }

    /// A check result for `node` at `now`. Returns `Some(new state)` when the node changed state.
    pub fn on_check(&mut self, cfg: &CheckConfig, node: usize, passed: bool, now: SimTime) -> Option<bool> {
        let up = self.up[node];
        if passed == up {
            self.streak[node] = 0;
            return None;
        }
        self.streak[node] += 1;
        let needed = if up { cfg.fall } else { cfg.rise };
        if self.streak[node] < needed {
            return None;
        }
        self.streak[node] = 0;
        self.up[node] = passed;
        if passed {
            self.went_up[node] = Some(now);
        } else {
            self.went_down[node] = Some(now);
        }
        Some(passed)
    }

    /// The node for a request of `session`: its sticky node if UP, else the next UP node in round-robin
    /// order (remembered for the session). `None` when every node is DOWN (HAProxy answers 503).
    pub fn route(&mut self, session: usize) -> Option<usize> {
        let session = session % SESSIONS;
        if let Some(n) = self.sticky[session] {
            if self.up[n] {
                return Some(n);
            }
        }
        let nodes = self.up.len();
        let pick = (0..nodes).map(|i| (self.next_rr + i) % nodes).find(|n| self.up[*n])?;
        self.next_rr = (pick + 1) % nodes;
        self.sticky[session] = Some(pick);
        Some(pick)
    }

    /// The front's bounds: streaks below their thresholds, sticky entries naming real nodes.
    pub fn check(&self, cfg: &CheckConfig) -> Result<(), String> {
        for (n, s) in self.streak.iter().enumerate() {
            // A streak counts checks against the node's state: `fall` of them take an UP node down, `rise` bring
            // a DOWN one up, and the streak restarts; so it is always below the threshold of the node's state.
            if *s >= if self.up[n] { cfg.fall } else { cfg.rise } {
                return Err(format!("haproxy: node {n} streak {s} at its threshold without a transition"));
            }
        }
        if self.sticky.iter().flatten().any(|n| *n >= self.up.len()) {
            return Err("haproxy: a session sticks to a node that does not exist".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    #[test]
    fn fall_failures_take_a_node_down_and_rise_successes_bring_it_back() {
        let cfg = CheckConfig::defaults(300);
        let mut h = Haproxy::new(3);
        assert_eq!(h.on_check(&cfg, 0, false, 2 * SECOND), None);
        assert_eq!(h.on_check(&cfg, 0, false, 4 * SECOND), None);
        assert_eq!(h.on_check(&cfg, 0, false, 6 * SECOND), Some(false));
        assert!(!h.is_up(0));
        assert_eq!(h.on_check(&cfg, 0, true, 8 * SECOND), None);
        assert_eq!(h.on_check(&cfg, 0, true, 10 * SECOND), Some(true));
        assert_eq!((h.went_down[0], h.went_up[0]), (Some(6 * SECOND), Some(10 * SECOND)));
    }

    #[test]
    fn a_good_check_resets_the_failure_streak() {
        let cfg = CheckConfig::defaults(300);
        let mut h = Haproxy::new(3);
        h.on_check(&cfg, 1, false, 0);
        h.on_check(&cfg, 1, false, 1);
        h.on_check(&cfg, 1, true, 2);
        assert_eq!(h.on_check(&cfg, 1, false, 3), None);
        assert!(h.is_up(1));
    }

    #[test]
    fn sessions_stick_and_move_only_when_their_node_is_down() {
        let cfg = CheckConfig::defaults(300);
        let mut h = Haproxy::new(3);
        let first: Vec<_> = (0..6).map(|s| h.route(s).unwrap()).collect();
        assert_eq!(first, [0, 1, 2, 0, 1, 2], "round robin for new sessions");
        assert_eq!(h.route(4), Some(1), "sticky");
        for t in 0..3 {
            h.on_check(&cfg, 0, false, t);
        }
        assert_ne!(h.route(0), Some(0));
        assert_eq!(h.route(1), Some(1), "sessions of live nodes stay");
        h.check(&cfg).unwrap();
    }

    /// The checker's laws, each broken by hand: a streak at its state's threshold (fall 3 for an UP node, rise 2
    /// for a DOWN one) and a session stuck to a fourth node of three.
    #[test]
    fn every_corrupted_front_state_is_reported() {
        let cfg = CheckConfig::defaults(300);
        let mut h = Haproxy::new(3);
        h.streak[0] = cfg.fall - 1;
        h.check(&cfg).unwrap();
        h.streak[0] = cfg.fall;
        assert!(h.check(&cfg).unwrap_err().contains("node 0 streak 3 at its threshold"));
        h.streak[0] = 0;
        h.up[1] = false;
        h.streak[1] = cfg.rise - 1;
        h.check(&cfg).unwrap();
        h.streak[1] = cfg.rise;
        assert!(h.check(&cfg).unwrap_err().contains("node 1 streak 2 at its threshold"));
        h.streak[1] = 0;
        h.sticky[5] = Some(3);
        assert!(h.check(&cfg).unwrap_err().contains("does not exist"));
    }
}
