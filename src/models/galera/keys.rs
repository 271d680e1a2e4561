//! Every `--set` key of the Galera model, declared once with unit, default, range or choices, and the scenarios it
//! applies to. Defaults come from Galera's `gcs/src/gcs_params.cpp` (fc_limit 16, fc_factor 1.0, fc_master_slave
//! and sync_donor off), the seeds (5–6k writesets/s, 200 tps, 3 files × 2 copies, 10 Gbit/s) and SEED-MODELS.md
//! (the fitted applier, the assumed storage service times), which says which is which.

use crate::engine::keys::{choice_key, number_key, opt, word, KeyInfo, KeyKind, Opt};

/// The Percona desync scenario.
pub const PERCONA: &str = "percona-desync";
/// The hyperconverged storage scenario.
pub const HCI: &str = "galera-hyperconverged";
/// The full-cluster crash scenario.
pub const CRASH: &str = "galera-full-crash";

const ALL: &[&str] = &[];
const P: &[&str] = &[PERCONA];
const H: &[&str] = &[HCI];
const C: &[&str] = &[CRASH];
const HC: &[&str] = &[HCI, CRASH];

/// A number key of `scenarios` in `range` (min, max).
const fn num(
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    default: &'static str,
    help: &'static str,
    scenarios: &'static [&'static str],
    range: (f64, f64),
) -> KeyInfo {
    number_key(key, label, unit, default, help, range.0, range.1).for_scenarios(scenarios)
}

const fn pick(
    key: &'static str,
    label: &'static str,
    default: &'static str,
    help: &'static str,
    scenarios: &'static [&'static str],
    options: &'static [Opt],
) -> KeyInfo {
    choice_key(key, label, default, help, options).for_scenarios(scenarios)
}

/// The Galera model's keys. A key listed twice has a different default per scenario.
#[rustfmt::skip]
pub const KEYS: &[KeyInfo] = &[
    num("nodes", "Nodes", "nodes", "3", "Galera nodes node1…nodeN (whole number); the writer is on node1", ALL, (1.0, 9.0)),
    pick("writer", "Writer waits or queues", "closed", "closed: client threads wait while flow control pauses, as sysbench's do; open: transactions keep arriving at the write rate", P, &[opt("closed", "clients wait out a pause"), opt("open", "transactions keep arriving")]),
    pick("writer", "Writer waits or queues", "open", "closed: client threads wait while flow control pauses, as sysbench's do; open: transactions keep arriving at the write rate", HC, &[opt("closed", "clients wait out a pause"), opt("open", "transactions keep arriving")]),
    num("write_rate", "Write rate", "trx/s", "5500", "the writer's natural rate on node1 (Percona's blog post: 5–6k writesets/s)", P, (0.0, 1e6)),
    num("write_rate", "Write rate", "trx/s", "200", "the shop's transactions per second on node1 (the article: 200 tps)", HC, (0.0, 1e6)),
    num("threads", "Client threads", "threads", "16", "closed writer's client threads: the commits that wait out a pause and go at once after it (more than the upper limit re-trigger STOP at every CONT) (an assumption)", ALL, (1.0, 100_000.0)),
    num("client_backlog", "Writes that may wait", "trx", "100000", "open writer: transactions that may wait out a pause; more are rejected", ALL, (0.0, 1e8)),
    num("apply_rate", "Apply rate per node", "writesets/s", "7000", "writesets a node applies per second while its applier is up, with one apply thread (μ_f, fitted to Percona's blog post's figures)", P, (1.0, 1e7)),
    num("apply_rate", "Apply rate per node", "writesets/s", "20000", "writesets a node applies per second with one apply thread, single-row updates (an assumption)", HC, (1.0, 1e7)),
    num("apply_threads", "Apply threads", "threads", "1", "applier threads per node, a whole number; more speed up only the parallel share of the work, Amdahl's law (wsrep_slave_threads: rate × 1/((1−φ)+φ/threads))", ALL, (1.0, 512.0)),
    num("apply_parallel_fraction", "Share of apply work in parallel", "fraction", "0.5", "φ, the share of apply work that runs in parallel (an assumption)", ALL, (0.0, 1.0)),
    pick("stalls", "When appliers stall", "catching-up", "applier stalls: only while a node is not SYNCED (fitted), always, or never", P, &[opt("catching-up", "only while catching up"), word("always"), opt("none", "never")]),
    pick("stalls", "When appliers stall", "none", "applier stalls: only while a node is not SYNCED (fitted), always, or never", HC, &[opt("catching-up", "only while catching up"), word("always"), opt("none", "never")]),
    num("stall_mean_s", "Mean stall length", "s", "0.76", "mean applier stall, exponential (fitted to Percona's blog post's 23 s a minute paused)", ALL, (0.001, 3600.0)),
    num("up_mean_s", "Mean time between stalls", "s", "1.24", "mean applier run between stalls, exponential (fitted to Percona's blog post's ~30 STOPs a minute)", ALL, (0.001, 3600.0)),
    num("fc_limit", "Flow-control limit", "writesets", "16", "writesets that may wait in a node's queue before it asks the writer to pause; the limit grows with the square root of the cluster size (gcs.fc_limit: upper = fc_limit·√N + 0.5, floored)", ALL, (1.0, 1e7)),
    num("fc_factor", "Flow-control resume fraction", "fraction", "1.0", "how far a paused node's queue must shrink, as a fraction of the limit, before writes resume (gcs.fc_factor: lower = upper·fc_factor + 0.5, floored)", ALL, (0.0, 1.0)),
    pick("fc_master_slave", "Flow-control limit ignores cluster size", "no", "yes: the flow-control limit stays as set, whatever the cluster size (gcs.fc_master_slave: upper = fc_limit, without √N)", ALL, &[word("no"), word("yes")]),
    pick("sync_donor", "Donor sends flow control too", "no", "yes: a desynced node, or one sending a full state copy, still asks the writer to pause (gcs.sync_donor: a DONOR/DESYNCED node sends flow control too)", ALL, &[word("no"), word("yes")]),
    num("delivery_ms", "Group delivery delay", "ms", "1", "group delivery delay of writesets and FC messages (Percona's blog post: 0.9 ms latency)", ALL, (0.001, 10_000.0)),
    num("batch", "Writesets per writer event", "writesets", "16", "most writesets one writer event carries (1 = one per event, the exact reference)", ALL, (1.0, 1000.0)),
    KeyInfo { key: "fault", label: "Scheduled faults", unit: "", default: "none", help: "a scheduled command VERB[:NODE][:ARG]@SECONDS, repeatable", scenarios: ALL, kind: KeyKind::FaultSpec },
    num("backup_node", "Backup node", "node", "3", "the node taking the backup (whole number)", P, (1.0, 9.0)),
    num("desync_at", "Backup node desyncs at", "s", "60", "when the backup node stops asking the writer to pause (SET GLOBAL wsrep_desync=ON)", P, (0.0, 1e6)),
    num("ftwrl_at", "Backup locks the tables at", "s", "60", "when the backup locks every table, which stops the node's applier (FLUSH TABLES WITH READ LOCK, FTWRL)", P, (0.0, 1e6)),
    num("unlock_at", "Backup unlocks the tables at", "s", "2760", "when the backup unlocks the tables and the applier runs again (UNLOCK TABLES; the queue is ~14.9M by then)", P, (0.0, 1e6)),
    num("desync_off_at", "Backup node rejoins at", "s", "3760", "when the backup node asks for pauses again, and flow control starts (SET GLOBAL wsrep_desync=OFF; the queue is ~16M)", P, (0.0, 1e6)),
    num("files_per_trx", "Files written per commit", "files", "3", "files each commit writes on each node: InnoDB log, GCache, binlog", H, (1.0, 10.0)),
    num("storage_replicas", "Storage copies per write", "copies", "2", "synchronous copies of every write on other hypervisors", H, (0.0, 8.0)),
    num("hypervisors", "Hypervisors", "hosts", "4", "hypervisors; node i runs on hypervisor i, copies go to the next ones", H, (1.0, 16.0)),
    num("nic_gbps", "Network card speed", "Gbit/s", "10", "each hypervisor's NIC, per direction (the article: 10G)", H, (0.1, 800.0)),
    pick("nic_bonded", "Two bonded network cards", "no", "two bonded NICs: twice the bandwidth (the upgrade the article tried)", H, &[word("no"), word("yes")]),
    num("write_kib", "Size of one write", "KiB", "16", "size of one write (an assumption)", H, (0.5, 4096.0)),
    num("disk_iops", "Disk writes per second", "writes/s", "200000", "each storage controller's write rate (0.2 ms × 40 channels) (an assumption)", H, (100.0, 1e9)),
    num("rtt_ms", "Round trip between hypervisors", "ms", "0.1", "round trip between hypervisors (an assumption)", H, (0.0, 100.0)),
    num("bulk_every_s", "Time between stock pushes", "s", "1800", "stock-level pushes every this often (the article: every half hour)", H, (1.0, 1e6)),
    num("bulk_first_s", "First stock push at", "s", "300", "the first push", H, (0.0, 1e6)),
    num("bulk_rows", "Rows per stock push", "rows", "1000000", "rows per push, one single-row transaction each (the article: >1M products)", H, (0.0, 1e9)),
    num("bulk_rate", "Stock push rate", "rows/s", "15000", "the push's rate (an assumption)", H, (1.0, 1e7)),
    pick("trx_commit", "Log flush at commit", "2", "1 writes the log to disk at every commit, 2 about once per log flush interval (innodb_flush_log_at_trx_commit)", HC, &[opt("1", "at every commit"), opt("2", "once per flush interval (1 s unless changed)")]),
    pick("sync_binlog", "Binary log sync at commit", "0", "1 also forces the binary log to disk at every commit (sync_binlog)", HC, &[opt("0", "left to the operating system"), opt("1", "at every commit")]),
    num("cert_ms", "Certification time per commit", "ms", "1", "replication and certification time of a commit (an assumption)", HC, (0.0, 1000.0)),
    num("flush_interval_s", "Log flush interval", "s", "1", "how often the log is written to disk when commits do not do it themselves (innodb_flush_log_at_timeout, with trx_commit=2)", C, (0.01, 3600.0)),
    pick("crash_kind", "Kind of crash", "power", "power: the OS cache is lost too; kill9: only the process dies", C, &[opt("power", "power cut: the OS cache is lost too"), opt("kill9", "only the database process dies")]),
    num("crash_at", "Crash at", "s", "30", "every node crashes at once", C, (0.0, 1e6)),
    pick("bootstrap", "Node that restarts the cluster", "highest", "which node starts the new cluster after each node's position is recovered from its log", C, &[opt("highest", "the node with the most transactions"), opt("random", "any node"), word("node1")]),
];
