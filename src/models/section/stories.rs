//! Each scenario's short story for people who never read the seeds: what happened in the original incident,
//! what to watch on the charts, and which knob reproduces the fix.
//!
//! The facts come from the seed documents in `shared/seeds/` (002: Wikimedia's "LoadMonitor connection
//! weighting reimagined", with Tim Starling's EventSimulator runs) and REFERENCE.md. Plain data, no behaviour.

use crate::engine::scenario::Story;

const SEED_002: &str =
    "Wikimedia Phabricator task \"LoadMonitor connection weighting reimagined\" and the simulation runs published in it";

/// Every scenario's story, in the order of [`super::SCENARIOS`].
pub const STORIES: &[Story] = &[
    Story {
        scenario: "plain-s1",
        title: "A healthy section: Wikimedia's s1 at production rates",
        group: "Wikimedia: one slow database, a whole site waiting",
        headline: "Wikimedia: a healthy database section, for comparison",
        brief: "Wikipedia's busiest database section: 139 app servers send about 7,600 requests a second to one primary and eleven replicas. Each request opens a connection to one replica, chosen by a fixed weight per server, and runs one short query. Nothing is broken here: this is what normal looks like, so you can tell when something is not.",
        incident: "139 app servers send 7,573 requests a second to one primary and eleven replicas. Each request opens a new connection to a replica chosen by its configured load (50, 200 or 325) and runs one query of about 90 ms.",
        watch: "Each replica's active connections sit near load share × rate × latency (Little's law): about 69 on db1119. The share chart shows every server on its configured share.",
        try_this: "Switch to a reactive controller and check that it leaves a healthy section alone; then raise the surge to see all servers fill up together.",
        source: SEED_002,
    },
    Story {
        scenario: "slow",
        title: "One replica gets slow, and static weights feed it anyway",
        group: "Wikimedia: one slow database, a whole site waiting",
        headline: "Wikimedia: one slow replica takes every app worker",
        brief: "In 2022 and 2023 Wikimedia's database engineers saw it more than once: one replica got slow, and the site went down with it. The balancer kept sending that replica its usual share of requests, each request held an app worker while it waited, and soon almost every worker in the data centre was waiting on one server. Here the same thing happens at 30 s: one replica's queries become ten times slower.",
        incident: "When a database server becomes slow (T313197, T311106), MediaWiki keeps giving it its configured share of new connections until it holds thousands of them. \"A single slow server will suck up all PHP-FPM workers, and if the number of workers is not sufficient, the site will go down.\"",
        watch: "At 30 s db1119's queries take 10× longer. Under static weights its connections climb to about 540 and stay there, every one an app worker waiting on it. Little's law would put them at about 690, ten times the healthy count (799 connects a second × 0.862 s), but the lesson gives each app host 8 workers: they are soon all busy, new requests wait in the hosts' backlogs, and db1119 gets its share only of the requests the workers can start. With workers set to unlimited, as in Wikimedia's own simulation, it reaches about 690.",
        try_this: "Pick mw-loadmonitor: every request reads the shared copy of the connection counts while it is under 10 s old, and each read may refresh it, so it is refreshed about every 5.6 s. db1119 gathers about 560 connections (about 760 with unlimited workers), is taken out of rotation, and then swings back and forth with a period of about 11 s, two refreshes, the swings dying down. The incident report saw about 700 connections before the reaction and a period of about 12 s (which exact code that run used is not public). Then try conn-p, pid or p2c, and compare the settled count and the swings.",
        source: SEED_002,
    },
    Story {
        scenario: "connect-timeout",
        title: "A replica stops answering connects",
        group: "Wikimedia: one slow database, a whole site waiting",
        headline: "Wikimedia: a replica stops answering, and requests pile up for 3 seconds each",
        brief: "A replica that stops answering connection attempts is worse than one that refuses them: each attempt waits the full 3-second timeout before the request tries elsewhere. In Wikimedia's simulation of its own balancer about 2,500 connections piled up on the dead replica before the balancer noticed and stopped using it. Here the replica goes silent at 30 s.",
        incident: "From 30 s every connect to db1119 hangs until the 3 s connect timeout, then fails and the request tries another server. In Wikimedia's own simulation about 2,500 connections piled up waiting before its balancer (LoadMonitor) took it out of rotation; after that only occasional probes reached it, about one per second cluster-wide.",
        watch: "db1119's active connections jump to about 2,400 (798 connects a second × 3 s) under static. Every one is a user request stalled for 3 s. Watch failed connects and p99 latency.",
        try_this: "Pick mw-loadmonitor: at the next refresh of the shared copy its 1 s gauge connection fails, it marks db1119 down, every app host sees that at its next request, and the pile-up drains. How high it gets depends on where the fault falls in the refresh cycle of about 5.6 s: most fault times reach the ceiling of about 2,500 to 2,700, and about a quarter stop lower, some under 1,000 (the incident report: about 2,500). Afterwards about one probe every three seconds reaches db1119 cluster-wide, a third of the incident report's one a second. mw-legacy's gauge is an ordinary connection that waits the full 3 s, so it peaks near 2,290. Envoy's outlier detection ejects it after 5 consecutive failures.",
        source: SEED_002,
    },
    Story {
        scenario: "refuse",
        title: "A replica refuses connections instantly",
        group: "Wikimedia: one slow database, a whole site waiting",
        headline: "Wikimedia: a replica refuses every connection, and looks idle",
        brief: "A server that is up but has nothing listening refuses each connection at once. It then holds almost no connections, so a balancer that prefers the least busy server sees it as the best one and sends it more. Wikimedia's engineers wrote down this trap as a goal for their new balancer. Here the replica starts refusing at 30 s.",
        incident: "A host that is up with nothing listening answers every connect with a reset within one round trip. The task's fourth objective: \"If all connection attempts to a given server fail fast with an error, so that the number of open connections is approximately zero, MW shouldn't send all traffic to that server.\"",
        watch: "db1119 holds almost no connections, so a balancer that prefers the least-loaded server sees it as the best one. Watch its share of new connections and the failed-connect count.",
        try_this: "The lesson runs least-conn: watch db1119 attract far more than its share. Then compare with conn-p, which counts recent failures as connections, or envoy-least-request with outlier ejection.",
        source: SEED_002,
    },
    Story {
        scenario: "quiet",
        title: "A quiet section: a few requests a second",
        group: "Wikimedia: one slow database, a whole site waiting",
        headline: "Wikimedia: a quiet section, where one connection must not look like a crisis",
        brief: "The same section at a thousandth of the traffic: a few requests a second. A balancer that reacts to load must not panic when a server happens to hold one connection. This run checks that the balancer leaves a healthy, quiet section alone.",
        incident: "The same section at a thousandth of the traffic. \"If all servers have zero connections, the rate of new connections should reflect the configured loads\", and \"a small deviation should cause a small response\": one open connection must not take a server out of rotation.",
        watch: "Shares of new connections stay on the configured loads; a controller that reacts to single connections shows wild swings here.",
        try_this: "Compare conn-p's E parameter (the total at which adjustments halve) at low traffic with pid's gains.",
        source: SEED_002,
    },
    Story {
        scenario: "mmc",
        title: "Textbook queues: M/M/c",
        group: "Queueing theory",
        headline: "Textbook queues: identical servers, random arrivals",
        brief: "Not an incident but the theory behind them: identical servers, requests arriving at random, each served in a random time. Queueing theory says exactly how long requests wait, and the simulation matches it. Raise the load towards 100% and watch waiting grow long before the servers are full.",
        incident: "Identical servers with c query slots, exponential service times and Poisson arrivals, routed uniformly at random. The engine's mean response time matches Erlang C's formula within 2%.",
        watch: "Raise utilization towards 1 and watch latency grow as 1/(1−ρ): queues form long before the servers are fully busy.",
        try_this: "Switch from static to p2c or least-conn: choosing the less busy of two servers cuts the queueing delay sharply at high load.",
        source: "Queueing theory's Erlang C formula for the M/M/c queue (A. K. Erlang, 1917; any queueing textbook, e.g. Kleinrock, Queueing Systems, vol. 1)",
    },
    Story {
        scenario: "large-write",
        title: "Lag is the wrong load signal: a busy writer is dropped, a drowning reader is not",
        group: "Wikimedia: one slow database, a whole site waiting",
        headline: "Wikimedia: replication lag is the wrong load signal",
        brief: "Until 2024 Wikimedia's balancer judged replicas only by replication lag: how far behind the primary they are. A replica busy with one large write lags and is taken out of service, while a replica drowning in reads does not lag and keeps getting traffic. Here one replica is drowning from 20 s and another runs a 15-second write at 30 s.",
        incident: "Until 2024 MediaWiki's only load signal was replication lag, read through pt-heartbeat. A Wikimedia DBA: \"Almost all replag we have in production is due to large write or lots of writes and in no way indicator of read pressure\"; LoadMonitor \"treats a replica that is going through a large write the same as a replica that's having too many read connections\", and one \"on the verge of going down\" as fine. And since measured lag carries half a second of heartbeat age on top of the usual 50–100 ms (T327852), \"80 to 90% of the replag being measured is just randomness\".",
        watch: "From 20 s db1163 (the largest load, 325) runs its queries at half speed with 200 slots: its connections climb by hundreds a second, yet its lag stays at 0.075 s true, 0.075–1.075 s measured. At 30 s db1119 starts a 15 s transaction: its lag ramps to 15 s by 45 s and drains by 60 s. Under mw-legacy db1119's share drops to 0 while its measured lag is over 6 s, and db1163 keeps its share, which even grows as db1119's is spread over the rest.",
        try_this: "Run mw-legacy and watch the lag and share charts; then mw-loadmonitor, which counts connections: db1163's pile-up lowers its weight; with its lag check on, as in production, it still drops db1119 for lag, and with the check off (the default) lets it serve. Make the heartbeat less frequent to see the measured lag's noise grow, or shorten the large write to 5 s, under the 6 s lag limit, to see nothing happen.",
        source: "Wikimedia Phabricator task \"LoadMonitor connection weighting reimagined\" (the DBA's comment, T327852); MediaWiki 1.35 LoadBalancer::getRandomNonLagged, LoadMonitor::computeServerStates, DatabaseMysqlBase::getLagFromPtHeartbeat",
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_scenario_has_a_story() {
        for s in super::super::SCENARIOS {
            assert!(super::STORIES.iter().any(|story| story.scenario == s.name), "{} has no story", s.name);
        }
    }
}
