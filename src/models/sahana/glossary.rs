//! The Sahana model's words in plain terms, for the page's glossary and the lesson's links.

/// Each term with its definition.
pub const GLOSSARY: &[(&str, &str)] = &[
    ("worker", "A uWSGI web worker: one process serving one request at a time over its own PostgreSQL connection."),
    ("listen queue", "Requests waiting for a free worker. When it is full (100 here), new requests are refused."),
    ("flow", "What a router remembers about one open TCP connection so it can pass its packets. A router that forgets an idle flow drops its next packets without telling either end."),
    ("idle timeout", "How long a router keeps a flow that carries no packets: 3600 s here. After that the connection is dead, though both ends think it is open."),
    ("retransmission", "TCP sending a packet again because no answer came. The wait doubles each time (0.2 s, 0.4 s … up to 120 s)."),
    ("RTO", "Retransmission timeout: how long TCP waits for an answer before sending again."),
    ("retry limit", "How many times Linux resends (its tcp_retries2 setting) before giving up on a connection: 15 by default, which adds up to 924.6 s."),
    ("keepalive", "Small probe packets TCP sends on an idle connection. They keep a router's flow alive and find a dead connection early; Linux starts them after 7200 s by default."),
    ("TCP_USER_TIMEOUT", "A per-connection limit on how long sent data may go unanswered before the connection is closed, instead of the whole retransmission ladder."),
    ("lock", "Only one worker at a time can use a shared resource (a global database lock in the incident's account, a session file in web2py's): the others wait."),
    ("ordered dispatch", "Handing each request to the lowest-numbered idle worker, so at quiet times the last workers stay idle for hours."),
];
