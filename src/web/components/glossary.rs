//! Plain-words definitions of the terms the charts and lessons use, each with an anchor (`#term-load`) so
//! any text can link to it.

use yew::prelude::*;

/// Every term, with its definition.
pub const TERMS: &[(&str, &str)] = &[
    ("load", "The weight an operator gives a server in the configuration (50, 200, 325): a server with load 200 should get four times the new connections of one with 50."),
    ("weight", "What the controller makes of the loads from what it sees: each pick chooses a server at random with chance weight ÷ total weight."),
    ("in flight", "Connections an app host has open or opening to a server right now; the only thing a host knows about a server's health without asking."),
    ("active connections", "Connections open or opening to a server, averaged over each half second. By Little's law it is the server's rate of new connections × how long each lasts."),
    ("worker", "An app server process (PHP-FPM child) that serves one request at a time and waits, doing nothing else, while that request's query runs."),
    ("backlog", "Requests waiting for a free worker on one app host; when it is full, new requests are rejected."),
    ("rejected", "A whole request turned away because its app host had no free worker and a full backlog: the user sees an error."),
    ("failed request", "A whole request that ended in an error: every server it tried failed, or its server crashed under it."),
    ("failed connect", "One connect attempt that failed (a timeout or a refusal). The request then tries another server, so many failed connects can mean zero failed requests."),
    ("overloaded", "A request failed fast by the section breaker because every server looked full."),
    ("primary", "The server that takes writes (db1118): requests that must see their own writes go there, about 1.1% of them, never balanced, so it shows load 0."),
    ("replica", "A read copy of the primary; the balancer spreads read requests over the replicas."),
    ("EWMA", "Exponentially weighted moving average: an average that forgets old samples gradually, so a controller reacts to trends rather than single events."),
    ("probe", "A connection a controller opens only to measure a server (LoadMonitor's gauge connections, when a cached count is due for refresh); it carries no user request."),
    ("p50 / p99", "The latency half of the requests beat (median), and the one 99 in 100 beat: p99 shows the slow tail."),
    ("Little's law", "Average number in a system = arrival rate × average time in it. 798 connects/s × 0.862 s = 689 connections on a slowed db1119."),
    ("seed", "The one number that decides every random choice of a run: the same seed and settings replay the same run, event for event."),
];

/// The anchor id of a term.
pub fn anchor(term: &str) -> String {
    let slug: String =
        term.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    format!("term-{slug}")
}

/// A link to a term's definition.
pub fn term(word: &str) -> Html {
    html! { <a class="term" href={format!("#{}", anchor(word))}>{ word.to_string() }</a> }
}

/// The glossary.
#[component]
pub fn Glossary() -> Html {
    html! {
        <details class="glossary" id="glossary" open={true}>
            <summary><h2>{ "Glossary: the words in plain terms" }</h2></summary>
            <dl>
                { for TERMS.iter().map(|(t, d)| html! {
                    <div id={anchor(t)}><dt>{ *t }</dt><dd>{ *d }</dd></div>
                }) }
            </dl>
        </details>
    }
}
