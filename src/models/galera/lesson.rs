//! The Galera scenarios' stories, lessons, reported figures and charts, as data for the page and `loadlab list`.
//! Each lesson step's `numbers` prints this run's figures beside the seed's.

use crate::engine::picture::{duration, human};
use crate::engine::scenario::{Act, Challenge, LessonAction, Verdict};
use serde_json::{Map, Value};

use super::keys::{CRASH, HCI, PERCONA};
use crate::engine::scenario::{Figure, LessonStep, Story, View};
use crate::engine::schema::{ChartSpec, Crowd, Scale};

const SEED_003: &str = "Percona blog \"High-load clusters and desynchronized nodes on Percona XtraDB Cluster\"; Galera's source, codership/galera gcs/src/gcs.cpp";
const SEED_004: &str = "Art van Scheppingen, \"Hyperconverging and Galera cluster\" and \"Is Galera trx_commit=2 and sync_binlog=0 evil?\"; MySQL reference manual (innodb_flush_log_at_trx_commit); Percona XtraDB Cluster documentation, crash recovery";

/// The three stories, in [`super::SCENARIOS`] order.
pub const STORIES: [Story; 3] = [
    Story {
        scenario: PERCONA,
        title: "A backup on one node throttles the whole cluster for hours",
        group: "Percona: a backup that throttles a cluster",
        headline: "Percona: a backup on one node slows every write for hours",
        brief: "A three-node database cluster took a backup on one node, which it had set aside so the others would not wait for it. When the node rejoined, it had millions of writes to catch up on, and each time it fell further behind it told the whole cluster to pause. Writes dropped by about a third, and the catch-up still ran almost four hours later.",
        incident: "A 3-node Percona XtraDB Cluster takes 5–6k writesets/s on node1. node3 is desynced (the cluster stops waiting for it) and locked with FLUSH TABLES WITH READ LOCK for a backup; its receive queue grows to about 16 million writesets while the cluster is unaffected. When desync is turned off, node3 sends about 30 flow-control STOPs a minute; the cluster is paused 20–25 s of every minute, writes drop by about a third, and the catch-up was still running after almost 4 hours.",
        watch: "node3's queue climbs at the full write rate during the lock, keeps climbing after UNLOCK while desync stays on (it applies slower than the writes arrive), then falls slowly once flow control starts: the STOP level sits 28 above the lowest queue seen, so each applier stall pauses everyone. Caveats: the applier's stalls (0.76 s every ~2 s, apply rate 7000/s between them) are fitted to Percona's blog post's figures, which never say what stalls; Percona's blog post's \"16m\" is read as 16 million writesets.",
        try_this: "Lower the write rate or add apply threads and watch the catch-up time fall sharply; raise the flow-control limit to 1,000 (fewer, longer pauses), stop scaling the limit by the number of nodes (the STOP level becomes 16), or make the cluster wait for the backup node (it is throttled during the backup instead).",
        source: SEED_003,
    },
    Story {
        scenario: HCI,
        title: "One transaction, 27 synchronous writes",
        group: "Galera: shared storage and a full-cluster crash",
        headline: "Galera on hyperconverged storage: 27 writes for every transaction",
        brief: "A three-node database cluster moved onto virtual machines whose storage copies every disk write to two other machines over the network. Each transaction now meant 27 writes, 18 of them over the network. Every half hour a bulk price update of a million rows pushed storage latency far past 80 ms for everyone sharing that storage.",
        incident: "A 3-node Galera cluster moved to hyperconverged infrastructure where every disk write is copied synchronously to 2 other hypervisors over the VMs' own network. Each node writes the InnoDB log, GCache and binlog, so one transaction is 3 nodes × 3 files × (1 + 2) = 27 writes, 18 of them over the network. Half-hourly stock pushes of over a million rows drove storage latency well past 80 ms for everyone on the storage layer.",
        watch: "At 200 tps the NICs carry under 2% and a write takes a fraction of a millisecond (the chart shows about 2 ms because the simulation commits up to 16 transactions at once, whose writes wait behind each other for a moment). During a bulk push the egress of each Galera host passes ρ = 1 and the backlog grows by (ρ − 1) every second: 80 ms within half a second, seconds by the end. Caveats: the write size, disk rate, round trip and push rate are assumptions (the settings' help says which), the storage does not slow Galera's appliers in this model, and the async replicas' writes are left out.",
        try_this: "Turn off the storage layer's copies (the article's conclusion: Galera already keeps three copies), or bond two network cards (twice the bandwidth, as the vendor's upgrade), or flush the log and the binary log at every commit to see commits wait for storage.",
        source: SEED_004,
    },
    Story {
        scenario: CRASH,
        title: "A power loss of every node loses the last second, differently on each",
        group: "Galera: shared storage and a full-cluster crash",
        headline: "Galera: a power cut on every node loses the last second of orders",
        brief: "A web shop's database cluster was tuned to flush its log to disk once a second instead of at every commit. When every node lost power at once, each lost the commits of its last fraction of a second, a different amount on each node. Which node you restart the cluster from decides how many orders are gone for good.",
        incident: "A shopping-cart Galera cluster flushed its log to disk once a second instead of at every commit, and left the binary log's flushing to the operating system. When all nodes crash at once, every node's grastate.dat (the small file where Galera records the last transaction a node holds) says seqno −1, \"unknown\", and asking each node to recover its position from its own log (mysqld's wsrep-recover option) gives a different last position on each, because each flushed its log at its own moment within the last second.",
        watch: "Each node's unflushed commits climb from 0 to 200 (200 tps × 1 s) and drop to 0 at its flush, once a second; the chart samples every half second, so it catches each node at two points of its cycle and draws a zig-zag below 200 (node1 between about 10 and 110). At the crash each node loses what it had not flushed: on average 100, the worst node about 150. Bootstrapping the highest position loses about 50 (the minimum of three); a random node about 100, and the nodes ahead of it must be wiped and copied whole (SST). Caveat: the article says killing the server process also loses commits when the log is flushed once a second; the MySQL manual says only an operating-system crash or power loss can, so a killed process loses nothing here.",
        try_this: "Restart the cluster from a random node or from node1 instead of the one with the highest position, and watch how many commits are lost and which nodes need a full copy (SST); flush the log at every commit, or kill the server processes instead of cutting the power, and nothing is lost.",
        source: SEED_004,
    },
];

fn headline<'a>(s: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    s.get("headline").and_then(|h| h.get(key)).filter(|v| !v.is_null())
}

fn num(s: &Map<String, Value>, key: &str) -> String {
    match headline(s, key) {
        Some(Value::Number(n)) => human(n.as_f64().unwrap_or(0.0), 3),
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(items)) if items.is_empty() => "none".into(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        Some(v) => v.to_string(),
        None => "not yet".into(),
    }
}

/// A column of the newest row (None when absent).
fn now(s: &Map<String, Value>, column: &str) -> Option<f64> {
    s.get("now").and_then(|n| n.get(column)).and_then(Value::as_f64)
}

fn p_backup(s: &Map<String, Value>) -> String {
    format!(
        "queue peak so far {} writesets; flow control resumes below {} and pauses above {} (Galera: 16·√3 + 0.5 → 28)",
        num(s, "recv_queue_peak"),
        num(s, "fc_lower_limit"),
        num(s, "fc_upper_limit")
    )
}
fn p_desync(s: &Map<String, Value>) -> String {
    format!("queue peak {} writesets; Percona's blog post's node3 reached about 16 million", num(s, "recv_queue_peak"))
}
fn p_fc(s: &Map<String, Value>) -> String {
    format!(
        "paused fraction {} (Percona's blog post: about 23 s a minute, 0.38); {} STOPs a minute (Percona's blog post: about 29–30); throughput drop {} (Percona's blog post: about a third, 3,337/s of 5–6k)",
        num(s, "fc_paused_fraction"),
        num(s, "fc_stops_per_min"),
        num(s, "throughput_drop")
    )
}
/// The catch-up's length in this run, in seconds and hours, or `missing` while it is not over.
fn catch_up_words(s: &Map<String, Value>, missing: &str) -> String {
    let secs = headline(s, "catch_up_s").and_then(Value::as_f64);
    secs.map_or(missing.to_string(), |t| format!("{} s, {}", human(t, 0), duration(t)))
}
fn p_catch(s: &Map<String, Value>) -> String {
    format!(
        "catch-up {} (theory: 16 million ÷ 930 a second ≈ 17,200 s, 4 h 47 min; Percona's blog post: about 4 h so far, 1–2 h to go)",
        catch_up_words(s, "not over yet")
    )
}
/// The knobs' step: what a button changed, beside the incident's settings.
fn p_knobs(s: &Map<String, Value>) -> String {
    format!(
        "this run: catch-up {}, paused fraction {}, {} STOPs a minute (with the incident's settings: about 17,200 s, 4 h 47 min, and 0.38)",
        catch_up_words(s, "not over by now"),
        num(s, "fc_paused_fraction"),
        num(s, "fc_stops_per_min")
    )
}
fn p_writes(s: &Map<String, Value>) -> String {
    format!(
        "{} writes per transaction, {} over the network (the article: 27 and 18)",
        num(s, "writes_per_trx"),
        num(s, "network_writes_per_trx")
    )
}
/// The fixes' step: the writes a transaction costs, and what the pushes did to storage in this run, so each
/// button's replay shows what it changed.
fn p_fixes(s: &Map<String, Value>) -> String {
    format!(
        "{}; storage p99 during the pushes {} ms (the article: well beyond 80 ms)",
        p_writes(s),
        num(s, "storage_p99_ms_bulk")
    )
}
fn p_baseline(s: &Map<String, Value>) -> String {
    format!(
        "storage p99 over the last half second {} ms, commit p99 {} ms; no push yet (the first starts at 300 s). A write on its own takes {} ms, one round trip and a disk write; the chart's 2 ms is the simulation committing up to 16 transactions in one event (its batch setting), whose 96 network copies queue behind each other at the NIC",
        now(s, "storage_p99_ms").map_or("–".into(), |v| human(v, 3)),
        now(s, "commit_p99_ms").map_or("–".into(), |v| human(v, 3)),
        num(s, "storage_p99_ms_baseline")
    )
}
fn p_latency(s: &Map<String, Value>) -> String {
    format!(
        "storage p99 over the last half second {} ms; over the pushes so far {} ms (the article: well beyond 80 ms)",
        now(s, "storage_p99_ms").map_or("–".into(), |v| human(v, 3)),
        num(s, "storage_p99_ms_bulk")
    )
}
fn p_commit(s: &Map<String, Value>) -> String {
    format!(
        "commit p99 during the pushes so far {} ms, over the last half second {} ms; storage p99 during the pushes {} ms. A commit that flushes at every commit waits for storage; one that does not, only for certification",
        num(s, "commit_p99_ms_bulk"),
        now(s, "commit_p99_ms").map_or("not measured yet".into(), |v| human(v, 3)),
        num(s, "storage_p99_ms_bulk")
    )
}
fn p_flush(s: &Map<String, Value>) -> String {
    let nodes: Vec<String> = (1..=3)
        .filter_map(|i| now(s, &format!("node{i}.unflushed_trx")).map(|v| format!("node{i} {}", human(v, 0))))
        .collect();
    if nodes.is_empty() {
        return "not yet".into();
    }
    format!("unflushed commits now: {} (each between 0 and 200; 100 on average over a cycle)", nodes.join(", "))
}
fn p_lost(s: &Map<String, Value>) -> String {
    format!("lost per node {} (theory: on average λ × interval ÷ 2 = 100 at 200 tps)", num(s, "lost_trx_per_node"))
}
fn p_boot(s: &Map<String, Value>) -> String {
    let positions: Vec<f64> = match headline(s, "recovered_positions") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect(),
        _ => return "not yet: the power cut comes at 30 s".into(),
    };
    let name = |i: usize| format!("node{}", i + 1);
    let read: Vec<String> =
        positions.iter().enumerate().map(|(i, p)| format!("{} {}", name(i), human(*p, 0))).collect();
    let best = positions.iter().copied().fold(0.0, f64::max);
    if headline(s, "restarted") == Some(&Value::Bool(true)) {
        return format!(
            "positions read back from each node's log: {}; bootstrapping {} loses {} acknowledged commits in all, {} more than the highest would; rejoin by IST: {}; wiped for a full copy (SST): {}",
            read.join(", "),
            num(s, "bootstrap_node"),
            num(s, "lost_after_bootstrap"),
            num(s, "lost_by_choice"),
            num(s, "ist_nodes"),
            num(s, "sst_nodes")
        );
    }
    let choices: Vec<String> = positions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ahead: Vec<String> = (0..positions.len()).filter(|&j| positions[j] > *p).map(name).collect();
            let loses = if best - p > 0.0 {
                format!("loses {} more", human(best - p, 0))
            } else {
                "loses nothing more".to_string()
            };
            if ahead.is_empty() {
                format!("{} {loses}, the others join by IST", name(i))
            } else {
                format!("{} {loses}, {} wiped for a full copy (SST)", name(i), ahead.join(" and "))
            }
        })
        .collect();
    let crash_loss = field(s, "lost_after_bootstrap").zip(field(s, "lost_by_choice")).map(|(a, b)| a - b);
    format!(
        "positions read back from each node's log: {}; the power cut itself took {} acknowledged commits that no node holds; bootstrapping {}",
        read.join(", "),
        crash_loss.map_or("–".into(), |v| human(v, 0)),
        choices.join("; ")
    )
}

const PERCONA_LESSON: &[LessonStep] = &[
    LessonStep { title: "The backup starts", at_s: 600.0, text: "At 60 s node3 is set aside for a backup: desynced, it tells the cluster not to wait for it, and FLUSH TABLES WITH READ LOCK freezes its tables so the copy is consistent. Its applier (the thread that applies the other nodes' writes) stops, and its queue of writes to apply grows at the full write rate, while node1 and node2 carry on at 5.5k/s. A desynced node never sends flow control, Galera's brake: a node that falls behind asks every node to pause writing.", chart: "queue", view: View::Whole, numbers: p_backup, actions: &[] },
    LessonStep { title: "Unlocked, still desynced", at_s: 3700.0, text: "UNLOCK TABLES at 2760 s: node3 applies again, but between its stalls it averages less than the write rate, so with desync still on the queue keeps growing. A node near the red line may never catch up on its own.", chart: "queue", view: View::Whole, numbers: p_desync, actions: &[] },
    LessonStep { title: "Desync off: flow control", at_s: 4300.0, text: "At 3760 s desync is turned off. node3 rejoins (JOINED) and counts its queue from where it stands, so it sends STOP, the request that every node pause its writes, whenever its queue rises 28 above the lowest value it has seen: each applier stall pauses every writer in the cluster. Writes drop by about a third.", chart: "paused", view: View::Span(3500.0, 4300.0), numbers: p_fc, actions: &[] },
    LessonStep { title: "Hours of catch-up", at_s: 25_200.0, text: "The backlog only shrinks while node3 applies faster than the throttled writes arrive: T = backlog ÷ (apply − incoming). Fast-forward and watch the time left until node3 is SYNCED (its queue empty, a full member again); node3's state reads Donor/Desynced until the rejoin message reaches the head of its own queue, then Joined.", chart: "throughput", view: View::Whole, numbers: p_catch, actions: &[] },
    LessonStep { title: "The knobs", at_s: 25_200.0, text: "Fewer writes shorten the catch-up sharply; more apply threads raise the apply rate; a flow-control limit of 1,000 makes pauses fewer and longer; a limit not scaled by the number of nodes puts the STOP level at 16; making the cluster wait for the backup node throttles it during the backup instead of after it.", chart: "queue", view: View::Whole, numbers: p_knobs, actions: &[LessonAction { label: "Fewer writes (4,000/s)", act: Act::Set("write_rate", "4000") }, LessonAction { label: "Four apply threads", act: Act::Set("apply_threads", "4") }, LessonAction { label: "Flow-control limit 1,000", act: Act::Set("fc_limit", "1000") }] },
];

const HCI_LESSON: &[LessonStep] = &[
    LessonStep { title: "One transaction, 27 writes", at_s: 60.0, text: "Each of the 3 nodes writes InnoDB log, GCache and binlog (9 writes), and the storage layer copies each to 2 other hypervisors (18 network writes).", chart: "storage_load", view: View::Whole, numbers: p_writes, actions: &[] },
    LessonStep { title: "Baseline", at_s: 290.0, text: "At 200 tps each Galera host sends 6 copies per transaction: under 2% of a 10 Gbit/s NIC, and a write on its own takes a fraction of a millisecond. The chart shows about 2 ms because the simulation commits transactions in small batches, whose writes wait behind each other for a moment.", chart: "storage_latency", view: View::Whole, numbers: p_baseline, actions: &[] },
    LessonStep { title: "The stock push", at_s: 360.0, text: "At 300 s a million single-row updates arrive at 15k/s. Each Galera host's egress needs 1.2× its capacity: the backlog grows by 0.2 s every second, past the 80 ms line within half a second.", chart: "storage_latency", view: View::Span(270.0, 360.0), numbers: p_latency, actions: &[] },
    LessonStep { title: "Commits can follow storage", at_s: 360.0, text: "With the log flushed once a second and the binary log left to the operating system, a commit waits only for certification; flush both at every commit and it waits for two storage writes, so commit latency follows the storage backlog.", chart: "storage_latency", view: View::Span(270.0, 360.0), numbers: p_commit, actions: &[LessonAction { label: "Flush at every commit", act: Act::Set("trx_commit", "1") }, LessonAction { label: "Flush the binary log too", act: Act::Set("sync_binlog", "1") }] },
    LessonStep { title: "The fixes", at_s: 2_400.0, text: "Without the storage layer's copies the 18 network writes are gone (Galera already keeps three copies, and wipes a crashed node by SST anyway); two bonded network cards double the bandwidth. Here that halves each card's load during a push to about 0.6 of what it carries, so the backlog never forms; the article still saw latency after bonding, which this model does not show: its push rate is fitted to the article's 80 ms, not reported by it, and a heavier push would still overflow two cards.", chart: "storage_load", view: View::Whole, numbers: p_fixes, actions: &[LessonAction { label: "No storage copies", act: Act::Set("storage_replicas", "0") }, LessonAction { label: "Bonded network cards", act: Act::Set("nic_bonded", "yes") }] },
];

const CRASH_LESSON: &[LessonStep] = &[
    LessonStep { title: "The flush clock", at_s: 25.0, text: "With its log flushed once a second, each node hands every commit to the operating system at once but forces its log to disk only once a second, each node at its own moment: its commits not yet on disk climb from 0 to 200 (200 a second) and drop to 0 at each flush. The chart samples every half second, so it catches each node at only two points of that one-second cycle, half a second apart: node1, flushed just before a sample, zig-zags between about 10 and 110; node3, caught just before its flush, between about 80 and 190. None is drawn at its full 200.", chart: "flush", view: View::Span(15.0, 25.0), numbers: p_flush, actions: &[] },
    LessonStep { title: "Power loss", at_s: 31.0, text: "At 30 s every node loses power. Each loses what it had not flushed to disk. Galera keeps a small file on each node, grastate.dat, with the number (seqno) of the last transaction the node holds; after a crash it says −1, unknown, on all of them, so each node's position is read back from its own log instead (mysqld's wsrep-recover option).", chart: "lost", view: View::Span(20.0, 31.0), numbers: p_lost, actions: &[] },
    LessonStep { title: "Which node to bootstrap", at_s: 45.0, text: "After a power cut every node's grastate.dat (the small file with seqno, the number of the last transaction the node holds) reads −1, unknown, and none is marked safe to bootstrap, so each node's position is read back from its own log. The operator then bootstraps one node: it starts a new cluster from what it holds, and the others join it. Bootstrap the node with the highest position and nothing is lost beyond what the power cut took from every node; the others, at or behind it, join by IST and receive just the transactions they miss. Bootstrap another and the cluster also loses the transactions that node had not applied: the nodes ahead of it hold commits the new cluster never had, so they are wiped and sent a full copy by SST. Each button below restarts the cluster from that node now (the transfers are drawn as instant) and commits climb back to 200 a second; Back replays the run to choose again.", chart: "throughput", view: View::Span(20.0, 60.0), numbers: p_boot, actions: &[LessonAction { label: "Bootstrap node1", act: Act::Command("bootstrap:node1") }, LessonAction { label: "Bootstrap node2", act: Act::Command("bootstrap:node2") }, LessonAction { label: "Bootstrap node3", act: Act::Command("bootstrap:node3") }, LessonAction { label: "Flush at every commit", act: Act::Set("trx_commit", "1") }] },
];

/// The lessons, in [`super::SCENARIOS`] order.
pub const LESSONS: [&[LessonStep]; 3] = [PERCONA_LESSON, HCI_LESSON, CRASH_LESSON];

/// The figures each incident reported.
pub const FIGURES: [&[Figure]; 3] = [
    &[
        Figure {
            field: "headline.fc_paused_fraction",
            reported: "about 23 s of every minute (0.38)",
            source: "Percona blog \"High-load clusters and desynchronized nodes\", node1's myq_status rows",
        },
        Figure {
            field: "headline.fc_stops_per_min",
            reported: "about 30 (FlowC snt on node3)",
            source: "Percona blog \"High-load clusters and desynchronized nodes\", node3's myq_status rows",
        },
        Figure {
            field: "headline.throughput_drop",
            reported: "about a third (3337/s outbound of 5–6k/s)",
            source: "Percona blog \"High-load clusters and desynchronized nodes\"",
        },
        Figure { field: "headline.recv_queue_peak", reported: "16m (read as 16 million)", source: "Percona blog \"High-load clusters and desynchronized nodes\", node3's inbound queue" },
        Figure { field: "headline.catch_up_s", reported: "about 4 h elapsed and 1–2 h to go", source: "Percona blog \"High-load clusters and desynchronized nodes\"" },
    ],
    &[
        Figure { field: "headline.writes_per_trx", reported: "27", source: "Art van Scheppingen, \"Hyperconverging and Galera cluster\"" },
        Figure { field: "headline.network_writes_per_trx", reported: "18", source: "Art van Scheppingen, \"Hyperconverging and Galera cluster\"" },
        Figure { field: "headline.storage_p99_ms_bulk", reported: "well beyond 80 ms", source: "Art van Scheppingen, \"Hyperconverging and Galera cluster\"" },
    ],
    &[
        Figure {
            field: "headline.lost_trx_per_node",
            reported: "up to one second of transactions, different on each node",
            source: "Art van Scheppingen, \"Is Galera trx_commit=2 and sync_binlog=0 evil?\"",
        },
        Figure {
            field: "headline.lost_after_bootstrap",
            reported: "not given (theory: λ/4 = 50 bootstrapping the highest)",
            source: "not reported; the theory: with three nodes flushing at random moments, the highest loses a quarter second of commits on average",
        },
    ],
];

const QUEUE: ChartSpec = ChartSpec {
    id: "queue",
    title: "Receive queue and the flow-control STOP level",
    hint: "A JOINED node sends STOP when its queue passes the STOP level, 28 above the lowest queue it has seen.",
    columns: &[".recv_queue", ".fc_stop_level"],
    labels: &["queue", "pause (STOP) level"],
    unit: "writesets",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::Each,
};
const PAUSED: ChartSpec = ChartSpec {
    id: "paused",
    title: "Flow-control pause, seconds per minute",
    hint:
        "Seconds of the last minute that every writer spent paused; Percona's blog post saw about 23 s of every minute.",
    columns: &["paused_s_per_min"],
    labels: &["paused, seconds of the last minute"],
    unit: "s/min",
    scale: Scale::Linear,
    reference: Some(("blog ≈ 23 s/min", 23.0)),
    crowd: Crowd::Each,
};
const THROUGHPUT: ChartSpec = ChartSpec {
    id: "throughput",
    title: "Committed writes against offered",
    hint: "Committed = offered × (1 − paused fraction) while flow control throttles.",
    columns: &["committed_per_s", "offered_per_s"],
    labels: &["committed", "wanted"],
    unit: "trx/s",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::Each,
};
/// Percona's throughput over the last minute: per one-second step, committed writes read the full rate or zero
/// depending on whether that second was paused, a barcode over hours; the minute's average is the rate the
/// blog's "writes dropped by about a third" describes.
const THROUGHPUT_MINUTE: ChartSpec = ChartSpec {
    id: "throughput",
    title: "Committed writes against offered, averaged over a minute",
    hint: "Committed = offered × (1 − paused fraction) while flow control throttles.",
    columns: &["committed_per_s_1m", "offered_per_s"],
    labels: &["committed, last minute", "wanted"],
    unit: "trx/s",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::Each,
};
const ETA: ChartSpec = ChartSpec {
    id: "eta",
    title: "Time left until node3 is SYNCED",
    hint:
        "Its queue ÷ how fast the queue shrank over the last minute: an estimate that moves as the pauses come and go.",
    columns: &["eta_synced_s"],
    labels: &["time left"],
    unit: "s",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::Each,
};
// Network and disk load were one chart of eight lines, each hypervisor named twice: two charts of four, one
// line per hypervisor each.
const STORAGE_LOAD: ChartSpec = ChartSpec {
    id: "storage_load",
    title: "Network card load per hypervisor",
    hint: "ρ = work offered ÷ capacity; past 1 the backlog grows. The storage layer's copies travel over the network.",
    columns: &[".nic_load"],
    labels: &["network card load"],
    unit: "ρ",
    scale: Scale::Linear,
    reference: Some(("ρ = 1", 1.0)),
    crowd: Crowd::Each,
};
const DISK_LOAD: ChartSpec = ChartSpec {
    id: "disk_load",
    title: "Disk load per hypervisor",
    hint: "ρ = work offered ÷ capacity; past 1 the backlog grows.",
    columns: &[".disk_load"],
    labels: &["disk load"],
    ..STORAGE_LOAD
};
const STORAGE_LATENCY: ChartSpec = ChartSpec {
    id: "storage_latency",
    title: "Storage write and commit latency, p99",
    hint: "The article saw storage latency well beyond 80 ms during pushes.",
    columns: &["storage_p99_ms", "commit_p99_ms"],
    labels: &["storage write p99", "commit p99"],
    unit: "ms",
    scale: Scale::Log,
    reference: Some(("80 ms", 80.0)),
    crowd: Crowd::Each,
};
const FLUSH: ChartSpec = ChartSpec {
    id: "flush",
    title: "Unflushed commits per node",
    hint: "What a power loss would take from each node now.",
    columns: &[".unflushed_trx"],
    labels: &["not yet on disk"],
    unit: "trx",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::Each,
};
const LOST: ChartSpec = ChartSpec {
    id: "lost",
    title: "Commits lost per node",
    hint: "Each node's loss at the crash.",
    columns: &[".lost_trx"],
    labels: &["lost"],
    unit: "trx",
    scale: Scale::Linear,
    reference: None,
    crowd: Crowd::Each,
};

/// The charts of a scenario.
pub fn charts(scenario: &str) -> &'static [ChartSpec] {
    match scenario {
        PERCONA => &[QUEUE, PAUSED, THROUGHPUT_MINUTE, ETA],
        HCI => &[STORAGE_LOAD, DISK_LOAD, STORAGE_LATENCY, THROUGHPUT, QUEUE],
        _ => &[FLUSH, LOST, THROUGHPUT],
    }
}

fn field(s: &Map<String, Value>, key: &str) -> Option<f64> {
    headline(s, key).and_then(Value::as_f64)
}

fn now_value(s: &Map<String, Value>, column: &str) -> Option<f64> {
    s.get("now").and_then(|n| n.get(column)).and_then(Value::as_f64)
}

/// Catch-up of the desynced node within three hours of desync going off.
fn catch_up_challenge(s: &Map<String, Value>, now_s: f64, end_s: f64) -> Verdict {
    const GOAL_S: f64 = 3.0 * 3600.0;
    match field(s, "catch_up_s") {
        Some(t) if t < GOAL_S => Verdict::Met(format!("back in sync {} after desync went off", duration(t))),
        Some(t) => Verdict::Missed(format!("back in sync only {} after desync went off", duration(t))),
        None if now_s + 1e-6 >= end_s => Verdict::Missed("still catching up at the end of the run".into()),
        None => {
            let eta = now_value(s, "eta_synced_s").map_or("–".into(), duration);
            Verdict::Open(format!("still catching up; at this rate back in sync in {eta}"))
        }
    }
}

/// Storage latency through a bulk push.
fn push_challenge(s: &Map<String, Value>, _now_s: f64, _end_s: f64) -> Verdict {
    match field(s, "storage_p99_ms_bulk").filter(|v| *v > 0.0) {
        Some(p) if p < 80.0 => Verdict::Met(format!("storage p99 {} ms in the push", human(p, 1))),
        Some(p) => Verdict::Missed(format!("storage p99 {} ms in the push", human(p, 1))),
        None => Verdict::Open("waiting for the first bulk push".into()),
    }
}

/// Nothing lost in the full-cluster crash.
fn crash_challenge(s: &Map<String, Value>, _now_s: f64, _end_s: f64) -> Verdict {
    match field(s, "lost_after_bootstrap") {
        None => Verdict::Open("waiting for the crash".into()),
        Some(n) if n > 0.0 => Verdict::Missed(format!("{} commits lost", human(n, 0))),
        Some(_) => Verdict::Met("no commit lost".into()),
    }
}

/// Each scenario's challenges, in [`super::SCENARIOS`] order.
pub const CHALLENGES: [&[Challenge]; 3] = [
    &[Challenge {
        goal: "Get the desynced node back in sync within three hours of the backup ending.",
        hint: "Fewer writes, more apply threads, or a different flow-control limit.",
        check: catch_up_challenge,
    }],
    &[Challenge {
        goal: "Keep storage writes under 80 ms (p99) through the bulk price update.",
        hint: "Fewer storage copies, or a faster network.",
        check: push_challenge,
    }],
    &[Challenge {
        goal: "Lose no order in the power cut.",
        hint: "How often does each node flush its log to disk?",
        check: crash_challenge,
    }],
];
