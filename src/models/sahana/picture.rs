//! The Sahana site as a picture: visitors, uWSGI's listen queue, the workers, the router and PostgreSQL.

use crate::engine::picture::{Flow, Group, Line, Max, Members, Meter, PictureSpec, Rate, Show, States, Tone};

/// What a worker's flow looks like to the router, by the `flow_state` code.
const FLOW_WORDS: &[&str] = &["open", "forgotten", "resending", "closed"];

/// Requests wait in the listen queue for one of the workers; each worker keeps one database connection open
/// through the router, which forgets a flow that stays idle past its timeout.
pub const PICTURE: PictureSpec = PictureSpec {
    caption: "Requests wait in a short queue for one of four web workers. Each worker keeps one connection to PostgreSQL open through a router, and the router silently forgets a connection that stays idle too long. A worker that writes into a forgotten connection waits for TCP to give up; the others wait behind its lock.",
    groups: &[
        Group {
            id: "visitors",
            label: "Visitors",
            help: "People using the site.",
            tier: 0,
            members: Members::One("people using the site"),
            lines: &[
                Line { label: "requests", column: "arrivals", unit: "/s", show: Show::PerSecond },
                Line { label: "turned away", column: "rejected", unit: "/s", show: Show::PerSecond },
            ],
            verbs: &["set-rate"],
            ..Group::PLAIN
        },
        Group {
            id: "queue",
            label: "Listen queue",
            help: "Requests waiting for a free worker. When it is full, new requests are refused.",
            tier: 1,
            members: Members::One("waiting"),
            meter: Some(Meter { value: "listen_queue", max: Max::Column("@listen_queue"), unit: "requests waiting" }),
            lines: &[Line { label: "answered", column: "completed", unit: "/s", show: Show::PerSecond }],
            ..Group::PLAIN
        },
        Group {
            id: "workers",
            label: "Web workers",
            help: "uWSGI workers. Each serves one request at a time over its own PostgreSQL connection.",
            tier: 2,
            members: Members::Each(".lane"),
            meter: Some(Meter { value: ".busy_fraction", max: Max::Const(1.0), unit: "of the time busy" }),
            lines: &[
                Line { label: "flow idle", column: ".idle_age_s", unit: " s", show: Show::Number(0) },
                Line { label: "flow", column: ".flow_state", unit: "", show: Show::Words(FLOW_WORDS) },
                Line { label: "resent packets", column: ".retransmits", unit: "", show: Show::Number(0) },
            ],
            state: Some(States {
                column: ".lane",
                codes: &[
                    ("idle", Tone::Calm),
                    ("serving", Tone::Busy),
                    ("blocked on a lock", Tone::Warn),
                    ("stuck: dead connection", Tone::Bad),
                ],
            }),
            target: Some("worker"),
            ..Group::PLAIN
        },
        Group {
            id: "router",
            label: "Router",
            help: "Keeps a table of open connections and silently forgets one that has been idle longer than its timeout.",
            tier: 3,
            members: Members::One("flow table"),
            lines: &[Line { label: "idle timeout", column: "@router_idle_timeout_s", unit: " s", show: Show::Number(0) }],
            verbs: &["router-drop", "router-rst", "set-router-timeout"],
            ..Group::PLAIN
        },
        Group {
            id: "database",
            label: "PostgreSQL",
            help: "The database. It never sees the forgotten connections fail: the packets never reach it.",
            tier: 4,
            members: Members::One("the database"),
            ..Group::PLAIN
        },
    ],
    flows: &[
        Flow { from: "visitors", to: "queue", rate: Rate::Shared("arrivals"), failed: Some(Rate::Shared("rejected")) },
        Flow { from: "queue", to: "workers", rate: Rate::To(".served"), failed: None },
        Flow { from: "workers", to: "router", rate: Rate::From(".served"), failed: None },
        Flow { from: "router", to: "database", rate: Rate::Shared("completed"), failed: None },
    ],
};
