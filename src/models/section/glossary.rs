//! The section's words in plain terms, for the page's glossary and the lesson's links.

/// Each term with its definition.
pub const GLOSSARY: &[(&str, &str)] = &[
    ("load", "The weight an operator gives a server in the configuration (50, 200, 325): a server with load 200 should get four times the new connections of one with 50."),
    ("weight", "What the balancer makes of the loads from what it sees: each pick chooses a server at random with chance weight ÷ total weight."),
    ("in flight", "Connections an app server has open or opening to a database server right now; the only thing it knows about a server's health without asking."),
    ("active connections", "Connections open or opening to a server, averaged over each half second. By Little's law it is the server's rate of new connections × how long each lasts."),
    ("worker", "An app server process (PHP-FPM) that serves one request at a time and waits, doing nothing else, while that request's query runs."),
    ("PHP-FPM", "The PHP process manager on each app server: it keeps a pool of worker processes and a listen backlog for requests waiting for one."),
    ("backlog", "Requests waiting for a free worker on one app server; when it is full, new requests are turned away."),
    ("rejected", "A whole request turned away because its app server had no free worker and a full backlog: the user sees an error."),
    ("failed request", "A whole request that ended in an error: every server it tried failed, or its server crashed under it."),
    ("failed connect", "One connection attempt that failed (a timeout or a refusal). The request then tries another server, so many failed connects can mean no failed requests."),
    ("overloaded", "A request failed fast by the section's circuit breaker because every server looked full."),
    ("primary", "The server that takes writes (db1118): requests that must see their own writes go there, about 1.1% of them, never balanced, so it shows load 0."),
    ("replica", "A read copy of the primary; the balancer spreads read requests over the replicas."),
    ("replication lag", "How far a replica is behind the primary: the time since the oldest change it has not applied yet. Measured with a heartbeat row written once a second, so the measurement adds up to a second."),
    ("SQL thread", "The one thread on a replica that applies the primary's changes in order: while it works through a large write, everything behind it waits, so the replica's lag grows."),
    ("EWMA", "Exponentially weighted moving average: an average that forgets old samples gradually, so a balancer reacts to trends rather than single events."),
    ("probe", "A connection a balancer opens only to measure a server (LoadMonitor's gauge connections); it carries no user request."),
    ("p50 / p99", "The latency half of the requests beat (median), and the one 99 in 100 beat: p99 shows the slow tail."),
    ("Little's law", "Average number in a system = arrival rate × average time in it. 798 new connections a second × 0.862 s = 689 connections on a slowed db1119."),
    ("Erlang C", "The formula for how long requests wait for one of c identical servers when they arrive at random and take a random time: waiting grows sharply as the servers approach 100% busy."),
    ("M/M/c", "The textbook queue: requests arrive at random (a Poisson stream), each takes a random, exponentially distributed time, and c identical servers take them first come, first served."),
];
