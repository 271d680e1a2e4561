//! The section as a picture: app servers, the balancer they all run, and the database servers.

use crate::engine::picture::{Flow, Group, Line, Max, Members, Meter, PictureSpec, Rate, Show};

/// The section as drawn: app hosts whose workers each wait on one query, the balancer every host runs, and
/// the database servers with their open connections. Dots are new connections; red ones failed connects.
pub const PICTURE: PictureSpec = PictureSpec {
    caption: "Every app server runs the same balancer: for each request it opens a new connection to one database server, chosen by the balancer's weights. Each dot is a stream of new connections; red dots are connects that failed. A server's bar is its open connections now, each one an app worker waiting for an answer.",
    groups: &[
        Group {
            id: "hosts",
            label: "App servers",
            help: "The web servers running MediaWiki. Each request holds one worker until its database query answers; with every worker busy, new requests wait in a short backlog, then are turned away.",
            tier: 0,
            members: Members::One("app workers"),
            meter: Some(Meter { value: "active_workers", max: Max::Column("@workers"), unit: "workers busy" }),
            lines: &[
                Line { label: "requests", column: "requests", unit: "/s", show: Show::PerSecond },
                Line { label: "turned away", column: "rejected", unit: "/s", show: Show::PerSecond },
            ],
            verbs: &["surge"],
            ..Group::PLAIN
        },
        Group {
            id: "balancer",
            label: "Balancer",
            help: "The code on every app server that picks a database server for each new connection, from the weights it last computed.",
            tier: 1,
            members: Members::One("picks a server"),
            lines: &[Line { label: "failed requests", column: "failed", unit: "/s", show: Show::PerSecond }],
            verbs: &["controller-off", "controller-on"],
            controller: true,
            ..Group::PLAIN
        },
        Group {
            id: "servers",
            label: "Database servers",
            help: "The primary (writes) and the replicas (reads). A server's open connections are the app workers waiting on it right now.",
            tier: 2,
            members: Members::Each(".active_conns"),
            meter: Some(Meter { value: ".active_conns", max: Max::Peak(100.0), unit: "open connections" }),
            lines: &[
                Line { label: "open", column: ".active_conns", unit: "", show: Show::Number(0) },
                Line { label: "gets", column: ".total_conns", unit: "", show: Show::Share },
            ],
            target: Some("server"),
            ..Group::PLAIN
        },
    ],
    flows: &[
        Flow { from: "hosts", to: "balancer", rate: Rate::Shared("requests"), failed: Some(Rate::Shared("rejected")) },
        Flow { from: "balancer", to: "servers", rate: Rate::To(".total_conns"), failed: Some(Rate::To(".failed_conns")) },
    ],
};
