//! A Galera cluster as a picture: the application writing, the nodes with their receive queues, and (on
//! hyperconverged storage) the hypervisors every write lands on.

use crate::engine::picture::{Flow, Group, Line, Max, Members, Meter, PictureSpec, Rate, Show, States, Tone};

const CAPTION: &str = "The application's writes are copied to every node before they commit. Each node applies them from a receive queue; the bar is that queue against the level at which the node tells the whole cluster to pause (flow control). A slow node's queue pauses everyone's writes.";

/// The writer sends every transaction to all nodes; a node whose receive queue passes its flow-control limit
/// pauses every writer.
pub const PICTURE: PictureSpec = PictureSpec { caption: CAPTION, groups: &[WRITER, NODES, HYPERVISORS], flows: FLOWS };

/// Percona's picture: the writer's figures over the last minute, all of them. Over hours of flow control a
/// one-second step is either paused or not, so its committed rate reads the full rate or zero beside a pause
/// counted per minute; the minute's committed rate, pause and pause requests are one window, the one the blog's
/// figures use.
pub const PERCONA_PICTURE: PictureSpec = PictureSpec {
    caption: "The application's writes are copied to every node before they commit. Each node applies them from a receive queue; the bar is that queue against the level at which the node tells the whole cluster to pause (flow control). A slow node's queue pauses everyone's writes. The application's figures are over the last minute.",
    groups: &[Group { lines: MINUTE_LINES, ..WRITER }, NODES, HYPERVISORS],
    flows: FLOWS,
};

const MINUTE_LINES: &[Line] = &[
    Line { label: "committed, last min", column: "committed_per_s_1m", unit: "/s", show: Show::Number(0) },
    Line { label: "wanted", column: "offered_per_s", unit: "/s", show: Show::Number(0) },
    Line { label: "paused, last min", column: "paused_s_per_min", unit: " s of 60", show: Show::Number(1) },
    Line { label: "pause requests, last min", column: "fc_stops_per_min", unit: "", show: Show::Number(0) },
    Line { label: "back in sync in", column: "eta_synced_s", unit: "", show: Show::Duration },
];

const WRITER: Group = Group {
    id: "writer",
    label: "Application",
    help: "The clients writing to the cluster.",
    tier: 0,
    members: Members::One("writes"),
    lines: &[
        Line { label: "committed now", column: "committed_per_s", unit: "/s", show: Show::Number(0) },
        Line { label: "wanted", column: "offered_per_s", unit: "/s", show: Show::Number(0) },
        Line { label: "paused, last min", column: "paused_s_per_min", unit: " s of 60", show: Show::Number(1) },
        Line { label: "pause requests", column: "fc_stops", unit: "/s", show: Show::PerSecond },
        Line { label: "back in sync in", column: "eta_synced_s", unit: "", show: Show::Duration },
    ],
    verbs: &["crash-all", "restart-all", "bulk-start", "bulk-stop"],
    ..Group::PLAIN
};

const NODES: Group = Group {
    id: "nodes",
    label: "Galera nodes",
    help: "Each node holds a full copy. Writes wait in its receive queue until its appliers apply them.",
    tier: 1,
    members: Members::Each(".recv_queue"),
    meter: Some(Meter { value: ".recv_queue", max: Max::Column(".fc_stop_level"), unit: "writes queued" }),
    lines: &[
        Line { label: "queued", column: ".recv_queue", unit: "", show: Show::Number(0) },
        Line { label: "applies", column: ".applied_per_s", unit: "/s", show: Show::Number(0) },
        Line { label: "not on disk", column: ".unflushed_trx", unit: "", show: Show::Number(0) },
        Line { label: "lost", column: ".lost_trx", unit: "", show: Show::Number(0) },
    ],
    state: Some(States {
        column: ".state",
        codes: &[
            ("synced", Tone::Calm),
            ("joined, catching up", Tone::Warn),
            ("desynced (backup)", Tone::Warn),
            ("down", Tone::Bad),
        ],
    }),
    target: Some("node"),
    ..Group::PLAIN
};

const HYPERVISORS: Group = Group {
            id: "hypervisors",
            label: "Hypervisors",
            help: "The machines under the nodes. Their shared storage copies every disk write to other hypervisors over the network. Demand is the work asked of the network card and of the disk against what each can do: past 100% writes queue.",
            tier: 2,
            members: Members::Each(".nic_load"),
            meter: Some(Meter { value: ".nic_load", max: Max::Const(1.0), unit: "of the network card" }),
            lines: &[
                Line { label: "network demand", column: ".nic_load", unit: "", show: Show::Percent },
                Line { label: "disk demand", column: ".disk_load", unit: "", show: Show::Percent },
            ],
            ..Group::PLAIN
};

const FLOWS: &[Flow] = &[
    Flow { from: "writer", to: "nodes", rate: Rate::PerSecond("committed_per_s"), failed: None },
    Flow { from: "nodes", to: "hypervisors", rate: Rate::PerSecond("committed_per_s"), failed: None },
];
