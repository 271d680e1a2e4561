//! One memcached server (one per node, port 11211): which of a page's keys it holds, its incarnation (a restart
//! empties it and breaks every open connection), and what the clients did to it. Counted per server, as the
//! page's "cache operations per server" chart shows them: hits, misses, timeouts (connect and io) and skips.

/// What happened to one command addressed to this server, as its counters see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    /// A get that found the key.
    Hit,
    /// A get that did not find it, or failed fast (refused): the page goes to the database.
    Miss,
    /// A get or set that waited for a timeout.
    Timeout,
    /// A get or set the client's failure timer skipped.
    Skip,
    /// A set that stored the key, or failed fast.
    Set,
}

/// Counters of one server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Gets that hit.
    pub hits: u64,
    /// Gets that missed (including refused ones).
    pub misses: u64,
    /// Commands that timed out (connect or io).
    pub timeouts: u64,
    /// Commands skipped by a failure timer.
    pub skips: u64,
    /// Sets sent (stored or refused).
    pub sets: u64,
}

impl Counts {
    fn add(&mut self, t: Tally) {
        match t {
            Tally::Hit => self.hits += 1,
            Tally::Miss => self.misses += 1,
            Tally::Timeout => self.timeouts += 1,
            Tally::Skip => self.skips += 1,
            Tally::Set => self.sets += 1,
        }
    }
}

/// One memcached server.
#[derive(Clone, Debug)]
pub struct Memcached {
    stored: Vec<bool>,
    incarnation: u32,
    /// Since the start of the run.
    pub total: Counts,
    /// Since the last row.
    pub step: Counts,
}

impl Memcached {
    /// A warm server: it holds every key it owns (`owned[k]`), as after a long healthy run.
    pub fn warm(owned: &[bool]) -> Memcached {
        Memcached { stored: owned.to_vec(), incarnation: 0, total: Counts::default(), step: Counts::default() }
    }

    /// The incarnation open connections must match.
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// memcached restarted (the node came back): empty, and every open connection to it is dead.
    pub fn restart(&mut self) {
        self.stored.iter_mut().for_each(|s| *s = false);
        self.incarnation = self.incarnation.wrapping_add(1);
    }

    /// True when key `k` is cached here.
    pub fn holds(&self, k: usize) -> bool {
        self.stored.get(k).copied().unwrap_or(false)
    }

    /// Stores key `k` (a set that reached a live server).
    pub fn store(&mut self, k: usize) {
        if let Some(s) = self.stored.get_mut(k) {
            *s = true;
        }
    }

    /// Counts one command.
    pub fn tally(&mut self, t: Tally) {
        self.total.add(t);
        self.step.add(t);
    }
}
