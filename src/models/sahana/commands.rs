//! The Sahana model's command table: the seed's workaround (kill the stuck worker), a router fault, and the
//! keys an operator can change on a live system, each with its unit and range. Parsing (`--set operator=…`,
//! URL steps, the page's buttons), formatting and validation all read [`TABLE`].

use crate::engine::commands::{ArgSpec, CommandSpec, Parsed};

const WORKER: Option<&str> = Some("worker");

/// Every verb of the Sahana model.
pub const TABLE: &[CommandSpec] = &[
    CommandSpec {
        verb: "kill-worker",
        target: WORKER,
        args: &[],
        inverse: None,
        help: "kills the worker (the Sahana wiki page's workaround): its request is lost, its locks are released, a fresh process connects at once",
        happened: "{target} killed",
    },
    CommandSpec {
        verb: "expire-flow",
        target: WORKER,
        args: &[],
        inverse: None,
        help: "the router forgets the worker's flow now (a router restart or failover); neither end notices",
        happened: "{target}'s flow forgotten",
    },
    CommandSpec {
        verb: "set-keepalive-idle",
        target: None,
        args: &[ArgSpec { name: "idle", unit: "s", min: 0.0, max: 1e6, default: 600.0 }],
        inverse: None,
        help: "sets how long a connection idles before keepalive probes start, on every connection now (0: off); set it back with the same verb",
        happened: "keepalive after {idle} s",
    },
    CommandSpec {
        verb: "set-router-timeout",
        target: None,
        args: &[ArgSpec { name: "timeout", unit: "s", min: 0.0, max: 1e7, default: 3600.0 }],
        inverse: None,
        help: "sets how long the router remembers an idle flow, now (0: forever); set it back with the same verb",
        happened: "router forgets after {timeout} s",
    },
    CommandSpec {
        verb: "router-rst",
        target: None,
        args: &[],
        inverse: Some("router-drop"),
        help: "the router answers packets of forgotten flows with a reset",
        happened: "router resets forgotten flows",
    },
    CommandSpec {
        verb: "router-drop",
        target: None,
        args: &[],
        inverse: Some("router-rst"),
        help: "the router drops packets of forgotten flows silently",
        happened: "router drops forgotten flows",
    },
    CommandSpec {
        verb: "set-rate",
        target: None,
        args: &[ArgSpec { name: "rate", unit: "req/s", min: 0.0, max: 1000.0, default: 2.0 }],
        inverse: None,
        help: "sets the busy-hours arrival rate now; set it back with the same verb",
        happened: "traffic {rate} req/s",
    },
    CommandSpec {
        verb: "set-user-timeout",
        target: None,
        args: &[ArgSpec { name: "timeout", unit: "ms", min: 0.0, max: 1e9, default: 30_000.0 }],
        inverse: None,
        help: "sets how long sent data may go unanswered before the kernel drops the connection, on every connection (0: off), read at each retransmission timer",
        happened: "give up after {timeout} ms",
    },
    CommandSpec {
        verb: "set-retries2",
        target: None,
        args: &[ArgSpec { name: "retries", unit: "retries", min: 0.0, max: 100.0, default: 8.0 }],
        inverse: None,
        help: "sets the kernel's retransmission limit, read at each retransmission timer",
        happened: "{retries} retransmissions at most",
    },
];

/// A Sahana command. Arguments keep the text's units (s, ms, req/s) so text round trips are exact.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Kill worker `0` (from 0) and respawn it.
    KillWorker(u32),
    /// The router forgets worker `0`'s flow.
    ExpireFlow(u32),
    /// Keepalive idle, s.
    SetKeepaliveIdle(f64),
    /// Router idle timeout, s.
    SetRouterTimeout(f64),
    /// Router answers forgotten flows with resets.
    RouterRst,
    /// Router drops packets of forgotten flows.
    RouterDrop,
    /// Busy-hours rate, req/s.
    SetRate(f64),
    /// TCP_USER_TIMEOUT, ms.
    SetUserTimeout(f64),
    /// tcp_retries2.
    SetRetries2(u32),
}

/// A parsed command as a [`Command`].
pub fn from_parsed(p: &Parsed) -> Result<Command, String> {
    let w = p.target.unwrap_or(0) as u32;
    let arg = p.args.first().copied().unwrap_or(0.0);
    Ok(match p.verb {
        "kill-worker" => Command::KillWorker(w),
        "expire-flow" => Command::ExpireFlow(w),
        "set-keepalive-idle" => Command::SetKeepaliveIdle(arg),
        "set-router-timeout" => Command::SetRouterTimeout(arg),
        "router-rst" => Command::RouterRst,
        "router-drop" => Command::RouterDrop,
        "set-rate" => Command::SetRate(arg),
        "set-user-timeout" => Command::SetUserTimeout(arg),
        "set-retries2" if arg.fract() == 0.0 => Command::SetRetries2(arg as u32),
        "set-retries2" => return Err(format!("set-retries2: {arg} is not a whole number")),
        other => return Err(format!("no sahana command '{other}'")),
    })
}

/// A command as its verb, target and arguments.
pub fn to_parsed(c: &Command) -> Parsed {
    let p = |verb: &'static str, target: Option<usize>, args: Vec<f64>| Parsed { verb, target, args };
    match *c {
        Command::KillWorker(w) => p("kill-worker", Some(w as usize), vec![]),
        Command::ExpireFlow(w) => p("expire-flow", Some(w as usize), vec![]),
        Command::SetKeepaliveIdle(s) => p("set-keepalive-idle", None, vec![s]),
        Command::SetRouterTimeout(s) => p("set-router-timeout", None, vec![s]),
        Command::RouterRst => p("router-rst", None, vec![]),
        Command::RouterDrop => p("router-drop", None, vec![]),
        Command::SetRate(r) => p("set-rate", None, vec![r]),
        Command::SetUserTimeout(ms) => p("set-user-timeout", None, vec![ms]),
        Command::SetRetries2(n) => p("set-retries2", None, vec![n as f64]),
    }
}

/// The one validator: the target exists and every argument is within the table's range.
pub fn validate(c: &Command, workers: u32) -> Result<(), String> {
    let parsed = to_parsed(c);
    let spec = TABLE.iter().find(|s| s.verb == parsed.verb).ok_or("command without a verb in the table")?;
    if let Some(i) = parsed.target {
        if i >= workers as usize {
            return Err(format!("{}: no worker w{}; the app server has {workers}", spec.verb, i + 1));
        }
    }
    for (a, v) in spec.args.iter().zip(&parsed.args) {
        if !(v.is_finite() && *v >= a.min && *v <= a.max) {
            return Err(format!("{} {} must be from {} to {} {}, got {v}", spec.verb, a.name, a.min, a.max, a.unit));
        }
    }
    Ok(())
}

/// Feeds a command's verb and arguments to the trace hash.
pub fn words(c: &Command, hash: &mut dyn FnMut(u64)) {
    let p = to_parsed(c);
    hash(TABLE.iter().position(|s| s.verb == p.verb).unwrap_or(usize::MAX) as u64);
    if let Some(t) = p.target {
        hash(t as u64);
    }
    for a in p.args {
        hash(a.to_bits());
    }
}
