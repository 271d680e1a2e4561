//! The Galera model's command table: the backup's verbs, the crash and restart, the bulk push and the write
//! rate, each with its inverse. Parsing, formatting, `--set fault=…` steps and the page's buttons read it.

use crate::engine::commands::{ArgSpec, CommandSpec, Parsed};

const NODE: Option<&str> = Some("node");

/// A Galera command.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    /// `SET GLOBAL wsrep_desync=ON` on a node.
    DesyncOn(usize),
    /// `SET GLOBAL wsrep_desync=OFF`: the node rejoins and catches up under flow control.
    DesyncOff(usize),
    /// `FLUSH TABLES WITH READ LOCK`: the node's applier waits.
    Ftwrl(usize),
    /// `UNLOCK TABLES`.
    Unlock(usize),
    /// Every node crashes at once (`crash_kind`).
    CrashAll,
    /// `--wsrep-recover`, bootstrap (`bootstrap`), the others rejoin by IST or SST.
    RestartAll,
    /// After a crash of every node: start the new cluster from this node; the others rejoin by IST or SST.
    Bootstrap(usize),
    /// Starts a bulk push of `bulk_rows` at `bulk_rate`.
    BulkStart,
    /// Ends the bulk push.
    BulkStop,
    /// Sets the writer's rate, trx/s.
    WriteRate(f64),
}

/// Every verb.
pub const TABLE: &[CommandSpec] = &[
    CommandSpec {
        verb: "desync-on",
        target: NODE,
        args: &[],
        inverse: Some("desync-off"),
        help: "wsrep_desync=ON: the node stops sending flow control and may fall behind",
        happened: "{target} desynced",
    },
    CommandSpec {
        verb: "desync-off",
        target: NODE,
        args: &[],
        inverse: Some("desync-on"),
        help: "wsrep_desync=OFF: the node rejoins (JOINED) and throttles the group until it catches up",
        happened: "{target} rejoins",
    },
    CommandSpec {
        verb: "ftwrl",
        target: NODE,
        args: &[],
        inverse: Some("unlock"),
        help: "FLUSH TABLES WITH READ LOCK: the node stops applying",
        happened: "{target} tables locked",
    },
    CommandSpec {
        verb: "unlock",
        target: NODE,
        args: &[],
        inverse: Some("ftwrl"),
        help: "UNLOCK TABLES: the node applies again",
        happened: "{target} tables unlocked",
    },
    CommandSpec {
        verb: "crash-all",
        target: None,
        args: &[],
        inverse: Some("restart-all"),
        help: "every node crashes at once: unflushed commits are lost",
        happened: "every node loses power",
    },
    CommandSpec {
        verb: "restart-all",
        target: None,
        args: &[],
        inverse: Some("crash-all"),
        help: "each node recovers its position from its log, one is bootstrapped (the bootstrap setting) and the others rejoin by IST (only the missing transactions) or SST (a full copy)",
        happened: "cluster restarted",
    },
    CommandSpec {
        verb: "bootstrap",
        target: NODE,
        args: &[],
        inverse: Some("crash-all"),
        help: "after every node went down: start the new cluster from this node; nodes behind it catch up with only the transactions they miss, nodes ahead of it are wiped and copied whole, and what only they had is lost",
        happened: "cluster restarted from {target}",
    },
    CommandSpec {
        verb: "bulk-start",
        target: None,
        args: &[],
        inverse: Some("bulk-stop"),
        help: "a stock or pricing push: a burst of single-row transactions, as many and as fast as the push settings say",
        happened: "bulk push starts",
    },
    CommandSpec { verb: "bulk-stop", target: None, args: &[], inverse: Some("bulk-start"), help: "ends the bulk push", happened: "bulk push ends"},
    CommandSpec {
        verb: "write-rate",
        target: None,
        args: &[ArgSpec { name: "rate", unit: "trx/s", min: 0.0, max: 1e6, default: 5500.0 }],
        inverse: Some("write-rate"),
        help: "sets the writer's rate (its inverse is write-rate with the old rate)",
        happened: "writes set to {rate}/s",
    },
];

/// A parsed command as a [`Command`].
pub fn from_parsed(p: &Parsed) -> Result<Command, String> {
    let node = p.target.unwrap_or(0);
    Ok(match p.verb {
        "desync-on" => Command::DesyncOn(node),
        "desync-off" => Command::DesyncOff(node),
        "ftwrl" => Command::Ftwrl(node),
        "unlock" => Command::Unlock(node),
        "crash-all" => Command::CrashAll,
        "restart-all" => Command::RestartAll,
        "bootstrap" => Command::Bootstrap(node),
        "bulk-start" => Command::BulkStart,
        "bulk-stop" => Command::BulkStop,
        "write-rate" => Command::WriteRate(p.args.first().copied().unwrap_or(0.0)),
        other => return Err(format!("no galera command '{other}'")),
    })
}

/// A [`Command`] as its verb, target and arguments.
pub fn to_parsed(c: &Command) -> Parsed {
    let p = |verb: &'static str, target: Option<usize>, args: Vec<f64>| Parsed { verb, target, args };
    match *c {
        Command::DesyncOn(n) => p("desync-on", Some(n), vec![]),
        Command::DesyncOff(n) => p("desync-off", Some(n), vec![]),
        Command::Ftwrl(n) => p("ftwrl", Some(n), vec![]),
        Command::Unlock(n) => p("unlock", Some(n), vec![]),
        Command::CrashAll => p("crash-all", None, vec![]),
        Command::RestartAll => p("restart-all", None, vec![]),
        Command::Bootstrap(n) => p("bootstrap", Some(n), vec![]),
        Command::BulkStart => p("bulk-start", None, vec![]),
        Command::BulkStop => p("bulk-stop", None, vec![]),
        Command::WriteRate(r) => p("write-rate", None, vec![r]),
    }
}

/// Feeds a command to the trace hash.
pub fn words(c: &Command, hash: &mut dyn FnMut(u64)) {
    let p = to_parsed(c);
    let verb = TABLE.iter().position(|s| s.verb == p.verb).unwrap_or(usize::MAX) as u64;
    hash(verb | (p.target.map_or(0xff, |t| t as u64)) << 8);
    for a in p.args {
        hash(a.to_bits());
    }
}
