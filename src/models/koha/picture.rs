//! The Koha cluster as a picture: browsers, HAProxy, the three Koha nodes and the memcached on each.

use crate::engine::picture::{Flow, Group, Line, Max, Members, Meter, PictureSpec, Rate, Show, States, Tone};

/// Pages come in through HAProxy to a node; every page's cache lookups go to whichever memcached server the
/// key hashes to, on any node. Red dots are lookups that waited out the connect timeout.
pub const PICTURE: PictureSpec = PictureSpec {
    caption: "Library pages come in through HAProxy to one of three Koha nodes. Every page looks up a few keys in memcached, and each key lives on one node's memcached, whichever node served the page. Red dots are lookups that waited out the client's timeout on a server that does not answer.",
    groups: &[
        Group {
            id: "browsers",
            label: "Library users",
            help: "Staff and patrons loading pages.",
            tier: 0,
            members: Members::One("browsers"),
            lines: &[
                Line { label: "pages", column: "pages", unit: "/s", show: Show::PerSecond },
                Line { label: "failed", column: "failed", unit: "/s", show: Show::PerSecond },
            ],
            ..Group::PLAIN
        },
        Group {
            id: "haproxy",
            label: "HAProxy",
            help: "The load balancer in front of the nodes. It health-checks each node and stops sending pages to one that fails its checks.",
            tier: 1,
            members: Members::One("two instances, one address"),
            ..Group::PLAIN
        },
        Group {
            id: "nodes",
            label: "Koha nodes",
            help: "Each node runs Koha's web workers (Starman). A worker is busy for the whole page, including every cache lookup it waits on.",
            tier: 2,
            members: Members::Each(".busy_workers"),
            meter: Some(Meter { value: ".busy_workers", max: Max::Column("@workers"), unit: "workers busy" }),
            lines: &[
                Line { label: "last page", column: ".last_page_ms", unit: " ms", show: Show::Number(0) },
                Line { label: "waiting", column: ".backlog", unit: "", show: Show::Number(0) },
            ],
            state: Some(States {
                column: ".haproxy_up",
                codes: &[("HAProxy: out", Tone::Bad), ("HAProxy: in", Tone::Calm)],
            }),
            target: Some("node"),
            ..Group::PLAIN
        },
        Group {
            id: "memcached",
            label: "memcached",
            help: "One memcached server on each node; the client spreads keys over all three by a hash of the key.",
            tier: 3,
            members: Members::Each(".hits"),
            lines: &[
                Line { label: "hits", column: ".hits", unit: "/s", show: Show::PerSecond },
                Line { label: "misses", column: ".misses", unit: "/s", show: Show::PerSecond },
                Line { label: "timeouts", column: ".timeouts", unit: "/s", show: Show::PerSecond },
            ],
            ..Group::PLAIN
        },
    ],
    flows: &[
        Flow { from: "browsers", to: "haproxy", rate: Rate::Shared("pages"), failed: Some(Rate::Shared("failed")) },
        Flow { from: "haproxy", to: "nodes", rate: Rate::Shared("completed"), failed: None },
        Flow { from: "nodes", to: "memcached", rate: Rate::To(".hits"), failed: Some(Rate::To(".timeouts")) },
    ],
};
