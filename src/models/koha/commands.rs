//! The Koha model's command table: faults on a node with their inverse, and the operator's fix of dropping a
//! node's memcached from every koha-conf.xml (with a graceful Plack restart). Parsing, formatting, `loadlab
//! list`, `--set fault=…` steps and the page's buttons all read [`TABLE`].

use crate::engine::commands::{CommandSpec, Parsed};

use super::config::NODES;

const NODE: Option<&str> = Some("node");

/// Every verb of the Koha model.
pub const TABLE: &[CommandSpec] = &[
    CommandSpec {
        verb: "power-off",
        target: NODE,
        args: &[],
        inverse: Some("recover"),
        help: "pull the node's cable: nothing on its IP answers, so connects hang until their timeout",
        happened: "{target} cable pulled",
    },
    CommandSpec {
        verb: "services-stopped",
        target: NODE,
        args: &[],
        inverse: Some("recover"),
        help: "stop every service on the node: the host answers, and every port refuses at once",
        happened: "{target} services stopped",
    },
    CommandSpec {
        verb: "virgin-node",
        target: NODE,
        args: &[],
        inverse: Some("recover"),
        help: "a freshly installed host on the node's IP: it refuses every port at once",
        happened: "blank host on {target}'s IP",
    },
    CommandSpec {
        verb: "recover",
        target: NODE,
        args: &[],
        inverse: None,
        help: "the node runs again: Starman with fresh workers, memcached empty",
        happened: "{target} running again",
    },
    CommandSpec {
        verb: "drop-server",
        target: NODE,
        args: &[],
        inverse: Some("restore-server"),
        help: "remove the node's memcached from every koha-conf.xml and restart Plack gracefully (keys move, once)",
        happened: "{target}'s memcached dropped",
    },
    CommandSpec {
        verb: "restore-server",
        target: NODE,
        args: &[],
        inverse: Some("drop-server"),
        help: "list the node's memcached again and restart Plack gracefully",
        happened: "{target}'s memcached back",
    },
];

/// A Koha command: a verb of [`TABLE`] on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    /// Index into [`TABLE`].
    pub verb: usize,
    /// The node.
    pub node: usize,
}

/// Verb indices, in [`TABLE`]'s order.
pub mod verb {
    /// `power-off`.
    pub const POWER_OFF: usize = 0;
    /// `services-stopped`.
    pub const SERVICES_STOPPED: usize = 1;
    /// `virgin-node`.
    pub const VIRGIN_NODE: usize = 2;
    /// `recover`.
    pub const RECOVER: usize = 3;
    /// `drop-server`.
    pub const DROP_SERVER: usize = 4;
    /// `restore-server`.
    pub const RESTORE_SERVER: usize = 5;
}

impl Command {
    /// The verb's text.
    pub fn verb_text(&self) -> &'static str {
        TABLE.get(self.verb).map_or("?", |s| s.verb)
    }

    /// True for the three faults.
    pub fn is_fault(&self) -> bool {
        self.verb <= verb::VIRGIN_NODE
    }
}

/// A parsed command as a [`Command`].
pub fn from_parsed(p: &Parsed) -> Result<Command, String> {
    let verb = TABLE.iter().position(|s| s.verb == p.verb).ok_or_else(|| format!("no koha command '{}'", p.verb))?;
    let node = p.target.ok_or_else(|| format!("{}: needs a node", p.verb))?;
    if node >= NODES {
        return Err(format!("{}: no node with index {node}", p.verb));
    }
    Ok(Command { verb, node })
}

/// A [`Command`] as text parts.
pub fn to_parsed(c: &Command) -> Option<Parsed> {
    TABLE.get(c.verb).map(|s| Parsed { verb: s.verb, target: Some(c.node), args: vec![] })
}
