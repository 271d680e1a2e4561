//! The Sahana scenario's page material, as data: its story, a six-step lesson whose numbers come from this run's
//! summary beside the seed's, and the figures the incident reported with their sources.
//!
//! The lesson's times assume the default profile: the quiet period ends at 7000 s, the first request on the
//! long-idle worker 3 lands within a minute, and its stall ends 924.6 s later.

use crate::engine::picture::{count, duration, human};
use crate::engine::scenario::{Act, LessonAction};
use crate::engine::scenario::{Challenge, Verdict};
use serde_json::{Map, Value};

use crate::engine::scenario::{Figure, LessonStep, Story, View};

const SEED: &str = "Sahana Eden wiki, InstallationGuidelines/Cluster";

/// The scenario's story.
pub const STORY: Story = Story {
    scenario: super::SCENARIO,
    title: "Sahana Eden's 15-minute blackout: a router forgets an idle connection",
    group: "Sahana Eden: the 15-minute blackout",
    headline: "Sahana Eden: the site goes dark for exactly 15 minutes",
    brief: "A disaster-management site on a small cluster went completely dark for about 15 minutes after quiet periods, with no errors and no load anywhere, then came back all at once. A router between the web servers and the database silently forgot connections that had been idle for an hour. The next query on such a connection went nowhere, and the operating system kept resending it for 924.6 seconds before giving up, while every other worker waited behind it.",
    incident: "After a quiet period the site went dark for about 900 s with every uWSGI worker stuck, no load and no error anywhere, then recovered all at once; killing the first stuck worker recovered it at once. A router between web2py and PostgreSQL forgot connections idle longer than its timeout; keepalive would only start after 7200 s; a worker idle for 4000+ s sent its query into the forgotten flow and the kernel retransmitted until its retry limit gave up (0.2 s doubling to 120 s, 15 retries: 924.6 s, which the Sahana wiki page rounds to 15 × 60 s). The Sahana wiki page blames \"one global libpq\" for the other workers hanging too; libpq has no process-wide lock and psycopg2 holds only a per-connection lock around PQexec, so the sources do not support it. web2py's file sessions, which hold an exclusive flock from Session.connect to the end of the request, fit every symptom; whether Eden used file sessions there is not known. The settings offer all three: one global lock (the Sahana wiki page's account), a lock per session file (web2py's), or no coupling at all.",
    watch: "Worker lanes: workers 3 and 4 idle since the start while 1 and 2 carry the quiet traffic; their flow idle age crosses the router's 3600 s line and the flow state turns 1 (forgotten). At 7000 s traffic rises; the first request on worker 3 goes into its dead flow (lane 3, retransmission ticks doubling), every other worker blocks (lane 2), the listen queue fills to 100 and requests are rejected. 924.6 s later all recover at once; worker 4's socket was closed by keepalive at 7875 s, so it reconnects fast.",
    try_this: "Start TCP keepalive's probes sooner than the router's idle timeout forgets a flow (after 600 s instead of 7200 s): the probes keep the flows alive and nothing stalls. Or let the router answer a forgotten flow with a reset (a fast reconnect), give up on unanswered data after 30 s (a 30 s stall), or hand requests to the most recently idle worker, or in turn (no worker idles for hours at busy rates). Killing the stuck worker w3 during the blackout does not end it: w4 then stalls in its turn; kill it too. Compare a lock per session file, and no coupling at all.",
    source: "Sahana Eden wiki, InstallationGuidelines/Cluster; Linux source, net/ipv4/tcp_timer.c (the retransmission ladder); psycopg2 source, psycopg/pqpath.c; web2py source, gluon/globals.py",
};

fn headline<'a>(s: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    s.get("headline").and_then(|h| h.get(key))
}

fn num(s: &Map<String, Value>, key: &str) -> f64 {
    headline(s, key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn now_list(s: &Map<String, Value>, key: &str) -> Vec<f64> {
    s.get("now")
        .and_then(|n| n.get(key))
        .and_then(Value::as_array)
        .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_f64).collect())
}

fn idle_ages(s: &Map<String, Value>) -> String {
    let ages: Vec<String> = now_list(s, "idle_age_s").iter().map(|a| format!("{} s", human(*a, 0))).collect();
    ages.join(", ")
}

fn shares(s: &Map<String, Value>) -> String {
    let list = headline(s, "worker_share").and_then(Value::as_array).cloned().unwrap_or_default();
    let pct: Vec<String> = list.iter().filter_map(Value::as_f64).map(|x| format!("{:.0}", x * 100.0)).collect();
    pct.join("/")
}

fn quiet_numbers(s: &Map<String, Value>) -> String {
    format!(
        "flow idle ages {}; flows forgotten so far {}; requests shared {} % (the Sahana wiki page saw 60/25/10/5 %)",
        idle_ages(s),
        s.get("flows_expired").and_then(Value::as_u64).unwrap_or(0),
        shares(s)
    )
}

fn idle_numbers(s: &Map<String, Value>) -> String {
    format!(
        "flow idle ages {}; the Sahana wiki page saw a worker idle 4000+ s; the router's timeout here is 3,600 s",
        idle_ages(s)
    )
}

fn stall_numbers(s: &Map<String, Value>) -> String {
    let worker = headline(s, "first_stall_worker").and_then(Value::as_str).unwrap_or("none yet");
    let retrans: Vec<String> = now_list(s, "retransmits").iter().map(|r| format!("{r:.0}")).collect();
    format!(
        "first stall at {} s on {worker}; retransmissions per worker {}; the ladder 0.2, 0.4, 0.8 … 102.4 s, then 120 s",
        human(num(s, "first_stall_s"), 1),
        retrans.join(", ")
    )
}

fn blocked_numbers(s: &Map<String, Value>) -> String {
    let lanes = now_list(s, "lane");
    let stuck_or_blocked = lanes.iter().filter(|l| **l >= 2.0).count();
    format!(
        "{stuck_or_blocked} of {} workers stuck or blocked; listen queue {}; rejected {} (the Sahana wiki page: all workers stuck at once)",
        lanes.len(),
        s.get("now").and_then(|n| n.get("listen_queue")).and_then(Value::as_u64).unwrap_or(0),
        s.get("rejected").and_then(Value::as_u64).unwrap_or(0)
    )
}

/// A stall in seconds to a tenth, with separators: the ladder's 924.6 s is worth all four figures.
fn stall(seconds: f64) -> String {
    let text = format!("{seconds:.1}");
    let (whole, tenth) = text.split_once('.').unwrap_or((&text, "0"));
    format!("{}.{tenth}", human(whole.parse().unwrap_or(0.0), 0))
}

fn recovery_numbers(s: &Map<String, Value>) -> String {
    format!(
        "longest stall {} s, blackout {} s, {} (the Sahana wiki page: 900 s, recovering at exactly the same time)",
        stall(num(s, "longest_stall_s")),
        stall(num(s, "blackout_s")),
        count(num(s, "fast_reconnects"), "fast reconnect", "fast reconnects")
    )
}

fn fix_numbers(s: &Map<String, Value>) -> String {
    let stalls = num(s, "stalls");
    let longest =
        if stalls > 0.0 { format!(", the longest {} s", stall(num(s, "longest_stall_s"))) } else { String::new() };
    format!(
        "this run: {}{longest}, blackout {} s; with keepalive's first probe after 600 s a week has none",
        count(stalls, "stall", "stalls"),
        stall(num(s, "blackout_s"))
    )
}

/// When traffic rises after the quiet period (`quiet_until_s`'s default), s. The first request on a worker with a
/// forgotten flow stalls within a second of it, for the RTO ladder's 924.6 s: the blackout steps' views start a
/// little before it, and the recovery step's ends 924.6 s after it with room to spare.
const RISE_S: f64 = 7000.0;

/// The lesson, six steps.
pub const LESSON: &[LessonStep] = &[
    LessonStep {
        title: "A quiet period",
        at_s: 3700.0,
        text: "At 0.1 req/s worker 1 serves nearly everything and worker 2 the few overlaps: ordered dispatch hands each request to the lowest-numbered idle worker. The last workers go for hours without a request; once a worker's connection has been idle past the router's 3600 s timeout, the router forgets its flow. Neither end knows.",
        chart: "idle",
        view: View::Whole,
        numbers: quiet_numbers,
        actions: &[],
    },
    LessonStep {
        title: "The worker idle too long",
        at_s: 6990.0,
        text: "Watch the idle ages: the last workers' connections are past the router's timeout but short of keepalive's 7200 s first probe, so nothing will ever refresh their flows.",
        chart: "flows",
        view: View::Whole,
        numbers: idle_numbers,
        actions: &[],
    },
    LessonStep {
        title: "A query into a dead flow, and the RTO ladder",
        at_s: 7300.0,
        text: "Traffic rises to 2 req/s; soon workers 1 and 2 are both busy and a request lands on worker 3. Its query's segments vanish at the router, so the kernel retransmits after 0.2 s, 0.4 s, 0.8 s and so on, doubling up to 120 s.",
        chart: "retransmits",
        view: View::Span(RISE_S - 50.0, 7300.0),
        numbers: stall_numbers,
        actions: &[],
    },
    LessonStep {
        title: "Every other worker blocked",
        at_s: 7500.0,
        text: "With one global lock (the Sahana wiki page's account) every other worker's database call waits behind the stuck one; with a lock per session file, requests sharing its session do. The listen queue fills to 100 within a minute and the rest are rejected. The database sees nothing. In the incident, killing the stuck worker ended it at once. Try it here: w3's lock is released and the queue flows for a moment, but the queued requests now reach w4, idle since the start, whose flow the router forgot too: w4 stalls next, for the full 924.6 s, and the blackout goes on. Kill w4 as well and it ends, since a killed worker's fresh process connects at once.",
        chart: "queue",
        view: View::Span(RISE_S - 50.0, 7500.0),
        numbers: blocked_numbers,
        actions: &[LessonAction { label: "Kill the stuck worker w3", act: Act::Command("kill-worker:w3") }, LessonAction { label: "Kill w4 too", act: Act::Command("kill-worker:w4") }],
    },
    LessonStep {
        title: "924.6 s later, instant recovery",
        at_s: 8100.0,
        text: "After 15 retransmissions the kernel's retry limit gives up: 0.2·(2¹⁰−1) + 6·120 = 924.6 s. The worker reconnects, its query succeeds at once, the lock is free and every worker drains the queue together. Worker 4, left idle, had its socket closed by unanswered keepalive probes at 7875 s, so it reconnects fast instead of stalling (after a kill of w3 it stalls instead, and the blackout ends 924.6 s after that).",
        chart: "lanes",
        view: View::Span(RISE_S - 100.0, 8100.0),
        numbers: recovery_numbers,
        actions: &[],
    },
    LessonStep {
        title: "The fixes",
        at_s: 9000.0,
        text: "The Sahana wiki page's fix: TCP keepalive probes more often than the router forgets (every 600 s against its 3600 s), so every flow stays alive. Others: a router that answers forgotten flows with a reset (a fast reconnect instead of a stall), a limit on how long sent data may go unanswered (TCP_USER_TIMEOUT: a 30 s stall instead of 924.6 s), and sessions that take no file lock. Each button replays the run with one of them; the challenge below says whether the blackout is gone.",
        chart: "lanes",
        view: View::Whole,
        numbers: fix_numbers,
        actions: &[LessonAction { label: "Keepalive every 600 s", act: Act::Set("keepalive_idle_s", "600") }, LessonAction { label: "Router answers with a reset", act: Act::Set("router_on_expiry", "rst") }, LessonAction { label: "Give up after 30 s", act: Act::Set("tcp_user_timeout_ms", "30000") }],
    },
];

/// What the incident reported, to set beside this run's numbers.
pub const FIGURES: &[Figure] = &[
    Figure {
        field: "headline.longest_stall_s",
        reported: "900 s (the Sahana wiki page's 15 × 60 s; Linux's ladder gives 924.6 s)",
        source: "Sahana Eden wiki; Linux source, net/ipv4/tcp_timer.c (tcp_retries2 15, retransmission timeout 200 ms to 120 s)",
    },
    Figure { field: "headline.blackout_s", reported: "about 900 s, constant", source: SEED },
    Figure { field: "headline.worker_share", reported: "60/25/10/5 %", source: SEED },
    Figure { field: "now.idle_age_s", reported: "4000+ s idle before the hanging request", source: SEED },
    Figure {
        field: "headline.worker_share",
        reported: "60.2/28.4/9.3/2.1 % (ordered hunting, a = 0.67)",
        source: "not reported: Erlang B's ordered-hunting shares fitted to the Sahana wiki page's 60/25/10/5 %",
    },
];

fn blackout_challenge(s: &Map<String, Value>, now_s: f64, end_s: f64) -> Verdict {
    let longest = num(s, "longest_stall_s");
    let words = format!("longest stall so far {}", duration(longest).replace('–', "none"));
    if longest >= 60.0 {
        Verdict::Missed(words)
    } else if now_s + 1e-6 >= end_s {
        Verdict::Met(words)
    } else {
        Verdict::Open(words)
    }
}

/// The lesson's challenge.
pub const CHALLENGES: &[Challenge] = &[Challenge {
    goal: "End the blackout without touching the database: no request stuck for a minute or more, all the way to the end of the run.",
    hint: "Keepalive, a router that answers with a reset, a shorter give-up time, or a different way of handing requests to workers.",
    check: blackout_challenge,
}];
