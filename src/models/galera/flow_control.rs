//! Galera's flow control, as `gcs/src/gcs.cpp` in codership/galera implements it: the queue limits
//! (`_set_fc_limits`), the per-node STOP/CONT decisions (`gcs_fc_stop_begin`, `gcs_fc_cont_begin`), the JOINED
//! node's `fc_offset` that ratchets down to the lowest queue seen, and the group's pause
//! (`gcs_handle_flow_control`: the first STOP delivered pauses every sender, the last CONT resumes them).
//!
//! Counters follow the status variables: STOPs sent are `wsrep_flow_control_sent` (`stats_fc_stop_sent`), paused
//! time is `wsrep_flow_control_paused_ns` (from the first STOP delivered to the last CONT delivered).

use crate::time::SimTime;

/// The flow-control interval `[lower, upper]` of a group, in writesets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// STOP when the receive queue exceeds this (plus `fc_offset` on a JOINED node).
    pub upper: u64,
    /// CONT (and SYNC from JOINED) when the queue falls to this or below.
    pub lower: u64,
}

/// `_set_fc_limits`: upper = ⌊fc_limit·√N + 0.5⌋ (⌊fc_limit + 0.5⌋ with `fc_master_slave`), lower =
/// ⌊upper·fc_factor + 0.5⌋. Both are C `long` conversions of non-negative doubles, so they truncate.
pub fn limits(members: u32, fc_limit: f64, fc_factor: f64, master_slave: bool) -> Limits {
    let fan = if master_slave { 1.0 } else { (members.max(1) as f64).sqrt() };
    let upper = (fc_limit * fan + 0.5) as u64;
    let lower = (upper as f64 * fc_factor + 0.5) as u64;
    Limits { upper, lower }
}

/// One node's side of flow control: `stop_sent`, `fc_offset` and its STOP counter.
#[derive(Clone, Debug, Default)]
pub struct NodeFc {
    /// STOPs sent minus CONTs sent (0 or 1).
    pub stop_sent: u32,
    /// The catch-up offset: the queue length when the node became JOINED, then the lowest queue seen; 0 once
    /// SYNCED.
    pub fc_offset: u64,
    /// STOPs sent (`wsrep_flow_control_sent`).
    pub stops_sent: u64,
    /// CONTs sent.
    pub conts_sent: u64,
}

impl NodeFc {
    /// `gcs_fc_stop_begin`, called with the queue length after an enqueue: true when this node must send STOP
    /// (the group is not already stopped, this node has no STOP out, the queue exceeds upper + offset and the
    /// node's state takes part in flow control). Counts the STOP when it says so.
    pub fn on_enqueue(&mut self, queue: u64, limits: Limits, group_stopped: bool, fc_state: bool) -> bool {
        let stop = !group_stopped && self.stop_sent == 0 && queue > limits.upper + self.fc_offset && fc_state;
        if stop {
            self.stop_sent += 1;
            self.stops_sent += 1;
        }
        stop
    }

    /// `gcs_fc_cont_begin`, called with the queue length after a dequeue: first the ratchet (a queue below the
    /// offset becomes the offset), then true when this node must send CONT (it has a STOP out and the queue is
    /// at or below lower, or fell below the old offset). Counts the CONT when it says so.
    pub fn on_dequeue(&mut self, queue: u64, limits: Limits, fc_state: bool) -> bool {
        let decreased = self.fc_offset > queue;
        if decreased {
            self.fc_offset = queue;
        }
        let cont = self.stop_sent > 0 && (limits.lower >= queue || decreased) && fc_state;
        if cont {
            self.release();
        }
        cont
    }

    /// Takes back an outstanding STOP (`_release_flow_control` when the node becomes DONOR, or a CONT it sends).
    /// Returns true when there was one, so the caller sends the CONT.
    pub fn release(&mut self) -> bool {
        if self.stop_sent == 0 {
            return false;
        }
        self.stop_sent -= 1;
        self.conts_sent += 1;
        true
    }

    /// The queue length at or below which a draining queue makes this node send CONT, if it has a STOP out.
    pub fn cont_level(&self, limits: Limits) -> Option<u64> {
        (self.stop_sent > 0).then(|| limits.lower.max(self.fc_offset.saturating_sub(1)))
    }
}

/// What a delivered FC message did to the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PauseChange {
    /// The first STOP: every sender pauses.
    Paused,
    /// The last CONT: senders resume.
    Resumed,
    /// Neither.
    Unchanged,
}

/// The group's side: `stop_count` of STOPs delivered minus CONTs, and the paused-time counter.
#[derive(Clone, Debug, Default)]
pub struct GroupFc {
    /// STOPs delivered minus CONTs delivered.
    pub stop_count: i64,
    /// When the current pause began, if paused.
    pub paused_since: Option<SimTime>,
    /// Total paused time so far, µs, not counting the current pause.
    pub paused_total: SimTime,
    /// STOPs delivered.
    pub stops_received: u64,
}

impl GroupFc {
    /// `gcs_handle_flow_control` for one delivered message at `now`.
    pub fn deliver(&mut self, stop: bool, now: SimTime) -> PauseChange {
        self.stop_count += if stop { 1 } else { -1 };
        self.stops_received += stop as u64;
        match (self.stop_count, self.paused_since) {
            (1, None) if stop => {
                self.paused_since = Some(now);
                PauseChange::Paused
            }
            (0, Some(since)) => {
                self.paused_total += now - since;
                self.paused_since = None;
                PauseChange::Resumed
            }
            _ => PauseChange::Unchanged,
        }
    }

    /// True while senders are paused.
    pub fn paused(&self) -> bool {
        self.paused_since.is_some()
    }

    /// Paused time up to `now`, µs, including the current pause.
    pub fn paused_until(&self, now: SimTime) -> SimTime {
        self.paused_total + self.paused_since.map_or(0, |s| now.saturating_sub(s))
    }

    /// Clears every STOP (a configuration change resets `stop_count`, as `gcs_handle_act_conf` does).
    pub fn reset(&mut self, now: SimTime) {
        if let Some(since) = self.paused_since.take() {
            self.paused_total += now - since;
        }
        self.stop_count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_nodes_with_defaults_give_28_28() {
        // REFERENCE.md §4: 16·√3 + 0.5 = 28.21 → 28; 28·1.0 + 0.5 → 28.
        assert_eq!(limits(3, 16.0, 1.0, false), Limits { upper: 28, lower: 28 });
        assert_eq!(limits(3, 16.0, 1.0, true), Limits { upper: 16, lower: 16 });
        assert_eq!(limits(3, 16.0, 0.5, false), Limits { upper: 28, lower: 14 });
    }

    #[test]
    fn the_offset_ratchets_down_and_cont_follows_a_new_minimum() {
        let l = Limits { upper: 28, lower: 28 };
        let mut fc = NodeFc { fc_offset: 1000, ..NodeFc::default() };
        assert!(!fc.on_enqueue(1028, l, false, true), "at upper + offset: not yet");
        assert!(fc.on_enqueue(1029, l, false, true), "above it: STOP");
        assert!(!fc.on_enqueue(1030, l, false, true), "one STOP at a time");
        assert!(!fc.on_dequeue(1000, l, true), "back to the offset is not below it");
        assert!(fc.on_dequeue(999, l, true), "a new minimum sends CONT");
        assert_eq!(fc.fc_offset, 999);
        assert_eq!((fc.stops_sent, fc.conts_sent), (1, 1));
    }

    /// `gcs_fc_stop_begin` stops above `upper` and `gcs_fc_cont_begin` continues at `lower >= queue`: with
    /// fc_factor 0.5 on three nodes (28, 14) a queue of 29 sends STOP, 15 does not send CONT, 14 does.
    #[test]
    fn stop_is_above_upper_and_cont_is_at_lower_exactly() {
        let l = limits(3, 16.0, 0.5, false);
        let mut fc = NodeFc::default();
        assert!(!fc.on_enqueue(28, l, false, true), "at upper: not yet");
        assert!(fc.on_enqueue(29, l, false, true), "one above: STOP");
        assert_eq!(fc.cont_level(l), Some(14), "the batch limit the model drains to");
        assert!(!fc.on_dequeue(15, l, true), "one above lower: no CONT");
        assert!(fc.on_dequeue(14, l, true), "at lower: CONT");
        assert_eq!(fc.cont_level(l), None);
    }

    #[test]
    fn a_node_outside_fc_states_never_stops_and_a_stopped_group_gets_no_second_stop() {
        let l = Limits { upper: 28, lower: 28 };
        let mut fc = NodeFc::default();
        assert!(!fc.on_enqueue(1_000_000, l, false, false));
        assert!(!fc.on_enqueue(1_000_000, l, true, true));
        let mut g = GroupFc::default();
        assert_eq!(g.deliver(true, 10), PauseChange::Paused);
        assert_eq!(g.deliver(true, 12), PauseChange::Unchanged);
        assert_eq!(g.deliver(false, 15), PauseChange::Unchanged);
        assert_eq!(g.deliver(false, 20), PauseChange::Resumed);
        assert_eq!(g.paused_until(30), 10);
    }
}
