//! The Koha model's words in plain terms, for the page's glossary and the lesson's links.

/// Each term with its definition.
pub const GLOSSARY: &[(&str, &str)] = &[
    ("memcached", "A shared in-memory cache. Koha keeps preferences and lookups there so pages do not ask the database each time."),
    ("memcached client", "The library in each Koha process (Cache::Memcached::Fast) that sends each key to one memcached server, chosen by a hash of the key."),
    ("CRC32", "The hash the client uses to place a key: the same key always lands on the same server, even when that server is dead."),
    ("ketama", "Another way to place keys (consistent hashing): dropping a server moves only that server's keys."),
    ("connect timeout", "How long the client waits for a server to answer a new connection: 250 ms. A powered-off server never answers, so every try waits the full time."),
    ("refused", "A machine that is up but has nothing listening answers a connection at once with a reset, so the client fails in one round trip instead of waiting."),
    ("RST", "A TCP reset: the packet a machine that is up sends back at once when nothing listens on the port, so the caller learns of the failure in one round trip instead of waiting for a timeout."),
    ("failure timer", "The client's own failure handling (max_failures): after this many failures in a row the client skips a server for a while. Koha leaves it off, so a dead server is tried on every page."),
    ("HAProxy", "The load balancer in front of the Koha nodes. It health-checks each node every 2 s and takes it out after 3 failed checks."),
    ("Starman", "The Perl web server that runs Koha's pages on each node: a few worker processes, each serving one page at a time."),
    ("Starman worker", "A Koha web process: it serves one page at a time and is busy for the whole page, cache waits included."),
    ("last page", "How long a node's most recently finished page took, from arriving to its answer, waiting in the backlog included: at a few pages a minute it holds between pages."),
];
