//! The Koha scenario as the page tells it: the story, the lesson's steps with this run's numbers beside the
//! seed's, the figures the seed reported, and the charts. Plain data plus small formatting functions.
//!
//! Facts: seed 000 (Koha bug 27078, comments 0–14), SEED-MODELS.md §000, REFERENCE.md §3–4.

use crate::engine::picture::{count, human};
use crate::engine::scenario::{Act, LessonAction};
use serde_json::{Map, Value};

use crate::engine::scenario::{Figure, LessonStep, Story, View};
use crate::engine::schema::{ChartSpec, Crowd, Scale};

const SEED: &str = "Koha bug 27078";

/// The scenario's story.
pub const STORY: Story = Story {
    scenario: super::SCENARIO,
    title: "Koha's sluggish cluster: a memcached client that keeps calling a node that lost power",
    group: "Koha: one node loses power",
    headline: "Koha: one node loses power and the other two crawl",
    brief: "A library's three-node Koha cluster became very slow whenever one node lost power or network, though stopping that node's services did nothing. The cache client on the two healthy nodes kept trying the dead node's memcached for every page, and each try waited for an answer that never came. A blank machine on the dead node's address fixed it at once, because it refused the connections instead of ignoring them.",
    incident: "Three Koha nodes, each running Starman, memcached and a Galera node, sit behind HAProxy with sticky sessions; every node's koha-conf.xml lists all three memcached servers. Stopping every service on node A changed nothing for B and C. Pulling A's cable made B and C \"very very slow\" until A's IP answered again, and a blank Debian install on A's IP fixed it at once. Cache::Memcached::Fast places each key on one server by CRC-32 and never moves a dead server's keys; Koha leaves the client's failure timer off, so every get and every set of a key on A waits the 250 ms connect timeout for a SYN nobody answers. A host that is up answers RST at once, which costs one round trip: hence \"no effect\".",
    watch: "After the cable is pulled, koha2's and koha3's page latency jumps from about a quarter second to seconds: the time-per-page chart shows it is all connect timeouts, keys on koha1 × (get + set) × 250 ms. HAProxy marks koha1 down after three failed checks two seconds apart, which stops pages going to koha1 but not the cache clients on koha2 and koha3: mc1's timeouts keep coming. Stopping the services, or a blank host on the IP, gives refusals instead: each refused key costs a database query and a round trip, about 30 ms on a page of a quarter second, and the pages are fast again.",
    try_this: "Turn on the client's failure timer (after three failures in a row it skips mc1 for 10 s), or shorten the connect timeout to 20 ms, or drop koha1's memcached from the list (keys move once, then no penalty), or let each node use only its own memcached. Ketama placement moves fewer keys when a server is dropped, but never skips a dead one by itself.",
    source: "Koha bug 27078; Cache::Memcached::Fast v0.26 source (client.c, dispatch_key.c); HAProxy configuration manual, server options (fall, inter). Caveats: comment 12 says local-only memcached behaved the same, which this model does not reproduce and nobody explained (a candidate, not verified: Search::Elasticsearch pinging a dead node on each recycled worker). Galera is healthy here: it drops a node after evs.suspect_timeout (5 s), one write stall, not a lasting slowdown, and the bug report's wsrep status showed the cluster fine. The 66 real syspref names split 23/22/21 by CRC-32; the model's synthetic names split differently. Not modelled: Koha::Cache checks each new worker's memcached with a set of the key 'ismemcached' and, if that fails, runs the worker without memcached; CRC-32 puts that key on the second listed server, koha2's, so a failed koha1 never trips it, while a failed koha2 would leave recycled workers reading every key from the database, with no timeouts. Koha's in-process cache is emptied at the start of every page, so it saves nothing across pages.",
};

/// The lesson's run: the bug report's sequence on koha1 instead of the command line's single default incident.
pub const LESSON_SETS: &[(&str, &str)] = &[
    ("fault_kind", "none"),
    ("fault", "services-stopped:koha1@30"),
    ("fault", "recover:koha1@80"),
    ("fault", "power-off:koha1@90"),
    ("fault", "virgin-node:koha1@240"),
];

/// When the lesson pulls koha1's cable, s (the `power-off` step of [`LESSON_SETS`]).
pub const PULL_AT_S: f64 = 90.0;

fn phase<'a>(s: &'a Map<String, Value>, command: &str) -> Option<&'a Map<String, Value>> {
    s.get("phases")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .find(|p| p.get("command").and_then(Value::as_str) == Some(command))
}

fn num(p: Option<&Map<String, Value>>, field: &str) -> f64 {
    p.and_then(|p| p.get(field)).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn head(s: &Map<String, Value>, field: &str) -> f64 {
    num(s.get("headline").and_then(Value::as_object), field)
}

/// Keys of a page on koha1's memcached, as koha2's client places them.
fn keys_on_koha1(s: &Map<String, Value>) -> (u64, u64) {
    let grid = s.get("placement").and_then(|p| p.pointer("/koha2/server_of_key")).and_then(Value::as_array);
    let on = grid.map_or(0, |g| g.iter().filter(|v| v.as_str() == Some("mc1")).count() as u64);
    (on, grid.map_or(0, |g| g.len() as u64))
}

fn healthy(s: &Map<String, Value>) -> String {
    let p = phase(s, "healthy");
    format!(
        "cache and database {} ms a page over the {} finished so far, {} ms end to end (the rest is the page's own work, a random draw of mean 250 ms, so a handful of pages average anywhere from about 150 to 350 ms); the bug report: \"everything is snappy\"",
        human(num(p, "cache_db_ms"), 0),
        count(num(p, "pages"), "page", "pages"),
        human(num(p, "page_latency_ms"), 0)
    )
}

fn stopped(s: &Map<String, Value>) -> String {
    let (h, p) = (phase(s, "healthy"), phase(s, "services-stopped:koha1"));
    let (on, _) = keys_on_koha1(s);
    format!(
        "cache and database {} ms a page against {} ms healthy ({} ms more: {on} refused keys, each a database query and a refused set); {} connect timeouts a page. A page's own work, a random draw of mean 250 ms, moves its total more than that between a handful of pages; the bug report: \"no effect on Node B and C\"",
        human(num(p, "cache_db_ms"), 0),
        human(num(h, "cache_db_ms"), 0),
        human(num(p, "cache_db_ms") - num(h, "cache_db_ms"), 0),
        human(num(p, "connect_timeouts_per_page"), 2)
    )
}

/// What the pulled cable cost this run beside the mechanism's bound: the figures "Pull the cable" and "The
/// fixes" both print.
struct CableCost {
    /// Keys placed on mc1, of all a page reads.
    keys_on_mc1: u64,
    keys: u64,
    /// The connect timeout, ms.
    timeout_ms: f64,
    /// The bound: keys on mc1 × (get + set) × the timeout, s.
    bound_s: f64,
    /// Measured: cache and database time a page over the healthy phase's, s.
    extra_s: f64,
    timeouts_per_page: f64,
    page_s: f64,
}

fn cable_cost(s: &Map<String, Value>) -> CableCost {
    let (h, p) = (phase(s, "healthy"), phase(s, "power-off:koha1"));
    let (keys_on_mc1, keys) = keys_on_koha1(s);
    let timeout_ms = head(s, "connect_timeout_ms");
    CableCost {
        keys_on_mc1,
        keys,
        timeout_ms,
        bound_s: keys_on_mc1 as f64 * 2.0 * timeout_ms / 1e3,
        extra_s: (num(p, "cache_db_ms") - num(h, "cache_db_ms")) / 1e3,
        timeouts_per_page: num(p, "connect_timeouts_per_page"),
        page_s: num(p, "page_latency_ms") / 1e3,
    }
}

fn pulled(s: &Map<String, Value>) -> String {
    let c = cable_cost(s);
    format!(
        "{} of {} keys on mc1 × (get + set) × {} ms = {} s; measured {} s more a page ({} connect timeouts a page), pages take {} s end to end. With Koha's real preference names 23 keys land there: 23 × 2 × 0.25 s = 11.5 s",
        c.keys_on_mc1,
        c.keys,
        human(c.timeout_ms, 0),
        human(c.bound_s, 1),
        human(c.extra_s, 1),
        human(c.timeouts_per_page, 1),
        human(c.page_s, 1)
    )
}

fn haproxy(s: &Map<String, Value>) -> String {
    let down = s.get("haproxy_transitions").and_then(Value::as_array).and_then(|t| {
        t.iter().filter_map(Value::as_array).find(|e| {
            e.first().and_then(Value::as_f64).is_some_and(|at| at >= PULL_AT_S)
                && e.get(1).and_then(Value::as_str) == Some("koha1")
        })
    });
    let after = down.and_then(|e| e.first()).and_then(Value::as_f64).map(|t| t - PULL_AT_S);
    let p = phase(s, "power-off:koha1");
    format!(
        "HAProxy marked koha1 down {} after the cable was pulled (fall 3 × inter 2 s = 6 s, plus the check timeout); the cache clients still paid {} connect timeouts a page",
        after.map_or("not yet".to_string(), |a| format!("{} s", human(a, 1))),
        human(num(p, "connect_timeouts_per_page"), 1)
    )
}

fn virgin(s: &Map<String, Value>) -> String {
    let (h, p) = (phase(s, "healthy"), phase(s, "virgin-node:koha1"));
    format!(
        "cache and database {} ms a page again over {} (healthy {} ms over {}; the refusals cost what stopped services did), {} connect timeouts a page; the bug report: \"the other two nodes immediately start performing as expected again\"",
        human(num(p, "cache_db_ms"), 0),
        count(num(p, "pages"), "page", "pages"),
        human(num(h, "cache_db_ms"), 0),
        count(num(h, "pages"), "page", "pages"),
        human(num(p, "connect_timeouts_per_page"), 2)
    )
}

/// The fixes' step: what this run paid while the cable was out (so each button's replay shows its effect), then
/// what each fix gives by the mechanism.
fn fixes(s: &Map<String, Value>) -> String {
    let c = cable_cost(s);
    format!(
        "this run, while koha1's cable was out: {} s more cache and database time a page, {} connect timeouts a page (with {} keys on the dead server × (get + set) × {} ms, at most {} s). By the mechanism: a 20 ms connect timeout makes it {} s a page; skipping a server after 3 failures bounds it to 3 timeouts per worker every 10 s; with each node on its own memcached no key lives on the dead server",
        human(c.extra_s, 2),
        human(c.timeouts_per_page, 1),
        c.keys_on_mc1,
        human(c.timeout_ms, 0),
        human(c.bound_s, 2),
        human(c.keys_on_mc1 as f64 * 2.0 * 0.020, 2)
    )
}

/// The lesson.
pub const LESSON: &[LessonStep] = &[
    LessonStep {
        title: "A healthy cluster",
        at_s: 28.0,
        text: "Three nodes, two Starman workers each, and every page reads 70 keys from memcached: a quarter second of work and a few milliseconds of cache. This lesson replays the bug report's sequence on koha1: stop its services, start them, pull its cable, then put a blank host on its IP.",
        chart: "latency",
        view: View::Whole,
        numbers: healthy,
        actions: &[],
    },
    LessonStep {
        title: "Stop every service on koha1: nothing happens",
        at_s: 78.0,
        text: "HAProxy's checks fail and it stops sending to koha1. The clients on koha2 and koha3 still try mc1 for its keys, but the host answers RST: each get and set fails in one round trip, and the page reads those keys from the database instead, a millisecond each. Koha's own in-process cache does not help, since it is emptied at the start of every page, but the cost is tens of milliseconds on pages of a quarter second: too little to notice.",
        chart: "split",
        view: View::Whole,
        numbers: stopped,
        actions: &[],
    },
    LessonStep {
        title: "Pull the cable: every page on koha2 and koha3 slows by seconds",
        at_s: 150.0,
        text: "Now nothing answers on koha1's IP. The client reconnects on every command that finds no open connection and waits the full connect timeout, for the get and again for the set after the database query. The keys stay on mc1: CRC-32 placement never moves them.",
        chart: "split",
        view: View::Whole,
        numbers: pulled,
        actions: &[],
    },
    LessonStep {
        title: "HAProxy takes koha1 out, but the clients keep trying",
        at_s: 200.0,
        text: "Health checks are HAProxy's business; the memcached client has its own failure handling, and Koha leaves it off: its failure timer never skips a server. Watch mc1's timeouts and the backlog on koha2 and koha3: with pages of seconds two workers serve far fewer pages a second.",
        chart: "cache",
        view: View::Span(80.0, 200.0),
        numbers: haproxy,
        actions: &[],
    },
    LessonStep {
        title: "The blank-machine trick",
        at_s: 290.0,
        text: "A fresh install on koha1's IP runs no memcached, so it refuses at once, like the stopped services. The penalty disappears the moment anything answers, which is what the bug report saw and could not explain.",
        chart: "latency",
        view: View::Whole,
        numbers: virgin,
        actions: &[],
    },
    LessonStep {
        title: "The fixes",
        at_s: 300.0,
        text: "Turn on the client's failure timer, shorten the connect timeout, drop the dead server from the list (with a graceful restart of the web workers), or keep each node's cache local (at the price of each node invalidating only its own cache). Ketama moves only the dropped server's keys when the list changes, but does not skip a dead server by itself.",
        chart: "workers",
        view: View::Whole,
        numbers: fixes,
        actions: &[LessonAction { label: "Skip a server after 3 failures", act: Act::Set("max_failures", "3") }, LessonAction { label: "Connect timeout 20 ms", act: Act::Set("connect_timeout_ms", "20") }, LessonAction { label: "Each node uses its own memcached", act: Act::Set("memcached_servers", "local") }],
    },
];

/// What the seed and its sources reported.
pub const FIGURES: &[Figure] = &[
    Figure {
        field: "headline.extra_cache_db_ms_per_page",
        reported: "not measured; 23 keys × 2 × 250 ms = 11,500 ms by the mechanism",
        source: "Koha bug 27078 (\"very very slow\") and Cache::Memcached::Fast's connect timeout",
    },
    Figure {
        field: "headline.keys_on_failed_node_count",
        reported: "23 of 66 sysprefs (Koha's real names, placed by CRC-32)",
        source: "Koha's system preference names and Cache::Memcached::Fast's CRC-32 placement",
    },
    Figure {
        field: "headline.haproxy_down_after_s",
        reported: "fall 3 × inter 2 s",
        source: "HAProxy configuration manual (server options fall and inter); Koha bug 27078, comment 6",
    },
    Figure { field: "headline.page_work_ms_before", reported: "\"snappy\"", source: SEED },
];

/// The charts.
pub const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        id: "latency",
        title: "Page latency per node",
        hint: "p50 and p95 of pages finished in each step, end to end with the backlog; koha1 goes blank when it dies.",
        columns: &[
            "koha1.latency_p50_ms",
            "koha1.latency_p95_ms",
            "koha2.latency_p50_ms",
            "koha2.latency_p95_ms",
            "koha3.latency_p50_ms",
            "koha3.latency_p95_ms",
        ],
        labels: &["median (p50)", "slowest 5% (p95)", "median (p50)", "slowest 5% (p95)", "median (p50)", "slowest 5% (p95)"],
        unit: "ms",
        scale: Scale::Log,
        reference: None,
        crowd: Crowd::Each,
    },
    ChartSpec {
        id: "split",
        title: "Time per page",
        hint: "Mean per finished page: own work, database, cache round trips, and time waiting for timeouts.",
        columns: &["work_ms", "db_ms", "cache_ms", "timeouts_ms"],
        labels: &["own work", "database", "cache round trips", "waiting for timeouts"],
        unit: "ms",
        scale: Scale::Linear,
        reference: None,
        crowd: Crowd::Each,
    },
    ChartSpec {
        id: "workers",
        title: "Busy workers and backlog per node",
        hint: "Two workers a node; when pages take seconds the backlog grows on the surviving nodes.",
        columns: &[
            "koha1.busy_workers",
            "koha1.backlog",
            "koha2.busy_workers",
            "koha2.backlog",
            "koha3.busy_workers",
            "koha3.backlog",
        ],
        labels: &["busy workers", "waiting pages", "busy workers", "waiting pages", "busy workers", "waiting pages"],
        unit: "pages",
        scale: Scale::Linear,
        reference: None,
        crowd: Crowd::Each,
    },
    // Twelve series on one chart (three servers × four counts) repeat colours: two charts of six, each
    // server once per count, so every line has its own colour and legend entry.
    ChartSpec {
        id: "cache",
        title: "Cache commands that waited for a timeout or were skipped, per server",
        hint: "Commands that waited the full timeout for a dead server, and commands its failure timer skipped instead (none while the timer is off), per step.",
        columns: &["mc1.timeouts", "mc1.skips", "mc2.timeouts", "mc2.skips", "mc3.timeouts", "mc3.skips"],
        labels: &["mc1 waited for a timeout", "mc1 skipped", "mc2 waited for a timeout", "mc2 skipped", "mc3 waited for a timeout", "mc3 skipped"],
        unit: "ops",
        scale: Scale::Linear,
        reference: None,
        crowd: Crowd::Each,
    },
    ChartSpec {
        id: "cache_gets",
        title: "Cache gets per server: hits and misses",
        hint: "Gets that found their key and gets that missed, per step: mc1's stop when its node dies, its keys never move.",
        columns: &["mc1.hits", "mc1.misses", "mc2.hits", "mc2.misses", "mc3.hits", "mc3.misses"],
        labels: &["mc1 hits", "mc1 misses", "mc2 hits", "mc2 misses", "mc3 hits", "mc3 misses"],
        unit: "ops",
        scale: Scale::Linear,
        reference: None,
        crowd: Crowd::Each,
    },
];
