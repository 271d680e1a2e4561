//! Commands: the only way anything outside the engine changes a running simulation.
//!
//! The CLI's scheduled faults, the browser's buttons and the tests all send the same `Command`s, either scheduled
//! in the config or applied live with `Sim::apply`. The engine validates them and ignores, with a reason, any that
//! name a server it does not have.

use serde::{Deserialize, Serialize};

use crate::time::SimDuration;

/// A fault or its repair, applied to one server. `Recover` is the inverse of every other variant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// Queries take `factor` times longer (a slow replica: a cold buffer pool, a noisy neighbour). Undo: `Recover`.
    Slow {
        /// Service-time multiplier, > 0; 10 in the `slow` scenario.
        factor: f64,
    },
    /// Connects are blackholed: each one hangs for the connect timeout, then fails. Undo: `Recover`.
    ConnectTimeout,
    /// Connects are refused within one round trip (host up, nothing listening: RST). Undo: `Recover`.
    Refuse,
    /// The server loses power: in-flight queries and pending connects fail now, and later connects are
    /// blackholed until it recovers. Undo: `Recover`.
    Crash,
    /// Clears every fault on the server: healthy, full speed, full capacity. A large write already committed
    /// stays in the replica's apply queue.
    Recover,
    /// One transaction committed now on the primary that takes this replica `apply` to apply on its single SQL
    /// thread; events committed after it wait behind it, so its lag ramps up for `apply` and then drains at
    /// apply rate − write rate. No inverse (a committed transaction cannot be taken back).
    LargeWrite {
        /// Time the replica's SQL thread spends applying it, µs.
        apply: SimDuration,
    },
    /// Capacity ramps linearly from `from_fraction` to 100% over `warmup` (a restarted server with a cold
    /// buffer pool). While cold, service time is divided by the current capacity fraction. Undo: `Recover`.
    Cold {
        /// Starting capacity, in (0, 1].
        from_fraction: f64,
        /// Time to reach full capacity, µs.
        warmup: SimDuration,
    },
}

/// An operator's override, the controls SREs asked for during outages (seed 002): they act on the configured
/// load every controller starts from, or switch the controller off. `Repool` is the inverse of `Depool` and
/// `Drain`, `Unpin` of `Pin`, `ControllerOn` of `ControllerOff`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Operator {
    /// Fixes the server's weight: it gets `weight` out of the section's total configured load whatever the
    /// controller says. Undo: `Unpin`.
    Pin {
        /// Index into `Config::servers`.
        server: usize,
        /// The pinned weight, in configured-load units (≥ 0).
        weight: f64,
    },
    /// Returns a pinned server to its controller.
    Unpin {
        /// Index into `Config::servers`.
        server: usize,
    },
    /// Takes the server out of rotation now: no new connections; open ones finish. Undo: `Repool`.
    Depool {
        /// Index into `Config::servers`.
        server: usize,
    },
    /// Takes the server out gradually: its configured load ramps linearly to 0 over `over`. Undo: `Repool`.
    Drain {
        /// Index into `Config::servers`.
        server: usize,
        /// Ramp length, µs.
        over: SimDuration,
    },
    /// Puts the server back: its configured load ramps linearly from where it is to the configured value over
    /// `ramp` (0 = at once), so a cold server does not get its full share at once.
    Repool {
        /// Index into `Config::servers`.
        server: usize,
        /// Ramp length, µs.
        ramp: SimDuration,
    },
    /// Switches every host's controller off: picks follow the (overridden) configured loads, as with `static`.
    /// Controllers keep receiving their callbacks, so they resume with current state. Undo: `ControllerOn`.
    ControllerOff,
    /// Switches the controllers back on.
    ControllerOn,
}

/// Something that changes a running simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Applies a fault (or `Recover`) to the server with this index.
    Fault {
        /// Index into `Config::servers`.
        server: usize,
        /// What happens to it.
        fault: Fault,
    },
    /// Multiplies the configured arrival rate by `factor` from now on (a surge; 1 ends it). `factor` ≥ 0.
    Surge {
        /// Rate multiplier relative to the configured rate.
        factor: f64,
    },
    /// An operator override.
    Operator(Operator),
}
