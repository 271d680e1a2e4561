//! What a crash of every node loses, and how the group comes back (seed 004, "Is Galera trx_commit=2 and
//! sync_binlog=0 evil?").
//!
//! With `innodb_flush_log_at_trx_commit=2` each commit is written to the OS and the log is flushed about once
//! every `flush_interval_s`, at a phase of its own on each node. "With a value of 2, only an operating system
//! crash or a power outage can erase the last second of transactions" (MySQL reference manual, InnoDB startup
//! options; MariaDB agrees): so `crash_kind=kill9` loses nothing, contrary to the seed, and `trx_commit=1` loses
//! nothing either. After a full crash every grastate.dat says `seqno: -1`; `mysqld --wsrep-recover` prints each
//! node's InnoDB position; the operator bootstraps one node (`bootstrap=highest|random|node1`), and the others
//! rejoin by IST if they are at or behind it, or need SST if they hold commits it lacks
//! (percona/pxc-docs `docs/crash-recovery.md`).

/// `innodb_flush_log_at_trx_commit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrxCommit {
    /// Flush at every commit.
    One,
    /// Write at commit, flush once per interval.
    Two,
}

/// How the nodes die.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKind {
    /// Power loss: the OS page cache is gone.
    Power,
    /// `kill -9`: the process dies, the OS keeps what it was given.
    Kill9,
}

/// Which node the operator bootstraps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// The highest `--wsrep-recover` position (what the docs say to do).
    Highest,
    /// Any node.
    Random,
    /// Always node1.
    Node1,
}

/// How a node rejoins the bootstrapped one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejoin {
    /// It is the bootstrapped node.
    Bootstrap,
    /// Incremental state transfer: it is at or behind the bootstrapped node.
    Ist,
    /// Full state transfer: it holds commits the bootstrapped node lacks, so its data is wiped.
    Sst,
}

/// The outcome of a full crash and recovery.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery {
    /// Each node's position before the crash (commits it had made).
    pub before: Vec<u64>,
    /// Each node's `--wsrep-recover` position.
    pub recovered: Vec<u64>,
    /// The node bootstrapped.
    pub bootstrap: usize,
    /// Commits acknowledged to clients before the crash.
    pub acknowledged: u64,
    /// Commits acknowledged to clients that the bootstrapped node lacks.
    pub lost_after_bootstrap: u64,
    /// How each node rejoins.
    pub rejoin: Vec<Rejoin>,
}

impl Recovery {
    /// Chooses node `node` to start the new cluster from: the loss and each other node's way back follow from
    /// its recovered position. Nodes at or behind it rejoin by IST; nodes ahead of it hold commits it lacks and
    /// are wiped for a full copy (SST).
    pub fn bootstrap_from(&mut self, node: usize) {
        let node = node.min(self.recovered.len().saturating_sub(1));
        let top = self.recovered.get(node).copied().unwrap_or(0);
        self.bootstrap = node;
        self.lost_after_bootstrap = self.acknowledged.saturating_sub(top);
        self.rejoin = (0..self.recovered.len())
            .map(|i| match i {
                _ if i == node => Rejoin::Bootstrap,
                _ if self.recovered[i] > top => Rejoin::Sst,
                _ => Rejoin::Ist,
            })
            .collect();
    }

    /// Commits this choice loses beyond the best one: the highest recovered position less the bootstrapped
    /// node's (0 when it is the highest).
    pub fn lost_by_choice(&self) -> u64 {
        let best = self.recovered.iter().copied().max().unwrap_or(0);
        best.saturating_sub(self.recovered.get(self.bootstrap).copied().unwrap_or(0))
    }

    /// Commits each node lost from its own disk.
    pub fn lost_per_node(&self) -> Vec<u64> {
        self.before.iter().zip(&self.recovered).map(|(b, r)| b - r).collect()
    }
}

/// Each node's flush clock and durable position.
#[derive(Clone, Debug)]
pub struct Durability {
    /// `innodb_flush_log_at_trx_commit`.
    pub trx_commit: TrxCommit,
    /// `sync_binlog` (1: the binlog is fsynced at commit too, one more write in the commit path).
    pub sync_binlog: bool,
    /// The durable position of each node: its commits up to its last log flush.
    pub durable: Vec<u64>,
}

impl Durability {
    /// Flush clocks for `nodes` nodes.
    pub fn new(nodes: usize, trx_commit: TrxCommit, sync_binlog: bool) -> Durability {
        Durability { trx_commit, sync_binlog, durable: vec![0; nodes] }
    }

    /// Node `node`'s once-per-interval flush: everything it committed so far is durable.
    pub fn flush(&mut self, node: usize, position: u64) {
        self.durable[node] = position;
    }

    /// Synchronous writes in the commit path: the log with trx_commit=1, the binlog with sync_binlog=1.
    pub fn commit_writes(&self) -> u64 {
        (self.trx_commit == TrxCommit::One) as u64 + self.sync_binlog as u64
    }

    /// Every node crashes with positions `before`; `acknowledged` commits had been acknowledged to clients.
    /// `pick` chooses a node for `Bootstrap::Random`.
    pub fn crash(&self, before: &[u64], acknowledged: u64, kind: CrashKind, how: Bootstrap, pick: usize) -> Recovery {
        let loses = self.trx_commit == TrxCommit::Two && kind == CrashKind::Power;
        let recovered: Vec<u64> =
            before.iter().zip(&self.durable).map(|(b, d)| if loses { (*d).min(*b) } else { *b }).collect();
        let bootstrap = match how {
            // The first of equal highest positions, as an operator reading the logs top-down would.
            Bootstrap::Highest => (0..recovered.len()).rev().max_by_key(|&i| recovered[i]).unwrap_or(0),
            Bootstrap::Random => pick % recovered.len().max(1),
            Bootstrap::Node1 => 0,
        };
        let mut r = Recovery {
            before: before.to_vec(),
            recovered,
            bootstrap,
            acknowledged,
            lost_after_bootstrap: 0,
            rejoin: Vec::new(),
        };
        r.bootstrap_from(bootstrap);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flushed() -> Durability {
        let mut d = Durability::new(3, TrxCommit::Two, false);
        for (node, at) in [(0, 900), (1, 950), (2, 980)] {
            d.flush(node, at);
        }
        d
    }

    #[test]
    fn power_loss_with_trx_commit_2_keeps_only_the_flushed_commits() {
        let r = flushed().crash(&[1000, 1000, 1000], 1000, CrashKind::Power, Bootstrap::Highest, 0);
        assert_eq!(r.lost_per_node(), [100, 50, 20]);
        assert_eq!((r.bootstrap, r.lost_after_bootstrap), (2, 20));
        assert_eq!(r.rejoin, [Rejoin::Ist, Rejoin::Ist, Rejoin::Bootstrap]);
        let r = flushed().crash(&[1000, 1000, 1000], 1000, CrashKind::Power, Bootstrap::Node1, 0);
        assert_eq!(r.rejoin, [Rejoin::Bootstrap, Rejoin::Sst, Rejoin::Sst]);
        // node1 flushed at 900, node3 at 980: node1 loses the 80 node3 still holds, beyond the best choice.
        assert_eq!((r.lost_after_bootstrap, r.lost_by_choice()), (100, 80));
    }

    #[test]
    fn choosing_another_node_after_the_crash_moves_the_loss_and_the_transfers() {
        let mut r = flushed().crash(&[1000, 1000, 1000], 1000, CrashKind::Power, Bootstrap::Highest, 0);
        assert_eq!(r.lost_by_choice(), 0);
        r.bootstrap_from(1);
        assert_eq!((r.bootstrap, r.lost_after_bootstrap, r.lost_by_choice()), (1, 50, 30));
        assert_eq!(r.rejoin, [Rejoin::Ist, Rejoin::Bootstrap, Rejoin::Sst]);
    }

    #[test]
    fn kill9_and_trx_commit_1_lose_nothing() {
        let r = flushed().crash(&[1000, 1000, 1000], 1000, CrashKind::Kill9, Bootstrap::Highest, 0);
        assert_eq!(r.lost_per_node(), [0, 0, 0]);
        let mut d = flushed();
        d.trx_commit = TrxCommit::One;
        assert_eq!(d.crash(&[1000, 1000, 1000], 1000, CrashKind::Power, Bootstrap::Random, 1).lost_after_bootstrap, 0);
    }
}
