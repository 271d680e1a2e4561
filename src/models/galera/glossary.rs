//! The Galera model's words in plain terms, for the page's glossary and the lesson's links.

/// Each term with its definition.
pub const GLOSSARY: &[(&str, &str)] = &[
    ("writeset", "One transaction's changes, sent by the node that ran it to every other node before it commits."),
    ("receive queue", "Writesets a node has received but not yet applied."),
    ("flow control", "Galera's brake: when a node's receive queue grows past its limit it tells every node to stop sending (a STOP message), and to go on (CONT) when it drains. Every writer in the cluster pauses meanwhile."),
    ("flow-control limit", "The receive-queue length (Galera's fc_limit) at which a node asks the cluster to pause: 16 by default, scaled by the number of nodes (28 with three)."),
    ("desync", "Setting a node aside (wsrep_desync=ON) so its falling behind does not pause the cluster: used for backups. It must catch up later."),
    ("FTWRL", "FLUSH TABLES WITH READ LOCK: stops a node applying writes so a backup sees a consistent copy."),
    ("SST", "State snapshot transfer: a node that cannot catch up from others' recent history is wiped and gets a full copy of the data. Slow for a big database."),
    ("IST", "Incremental state transfer: a node that is only a little behind gets just the writesets it missed from another node's cache."),
    ("grastate.dat", "A small file where a node records the last transaction it committed (its seqno). After a crash it says -1, and the position must be recovered from the log."),
    ("seqno", "A transaction's number in the cluster's single order of all transactions; the node with the highest has seen the most."),
    ("bootstrap", "Starting a new cluster from one node after every node went down: the others then join it, and anything only they had is lost or must be wiped."),
    ("log flush", "When a commit's log reaches the disk (innodb_flush_log_at_trx_commit): 1 writes the log to disk at every commit; 2 hands it to the operating system and flushes once a second, so a power cut loses up to a second."),
    ("hyperconverged", "Storage built from the virtual machines' own hosts: every disk write is copied to other hosts over the network."),
];
