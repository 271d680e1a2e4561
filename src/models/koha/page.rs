//! One OPAC page as a Starman worker runs it: its own work, then for each cache key a get, and on a miss a
//! database query and a set (Koha's `C4::Context->preference`: `get_from_cache("syspref_$var")`, on a miss the
//! DB, then `set_in_cache`; Koha C4/Context.pm, Koha/Cache.pm). The page keeps the split of its time that the
//! "time per page" chart shows: work, database, cache round trips, timeouts.

use crate::time::{SimDuration, SimTime};

/// The operation a page runs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The page's own work (templates, Perl).
    Work,
    /// A get of key `k`.
    Get(u16),
    /// The database query after a miss of key `k`.
    Db(u16),
    /// The set of key `k` after its query.
    Set(u16),
    /// Finished.
    Done,
}

/// Where a page's time went, µs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Own work.
    pub work: SimDuration,
    /// Database queries.
    pub db: SimDuration,
    /// Cache commands that got an answer (round trips, connects, refusals).
    pub cache: SimDuration,
    /// Cache commands that waited for a timeout (connect or io).
    pub timeouts: SimDuration,
    /// Connect timeouts.
    pub connect_timeouts: u32,
    /// io timeouts.
    pub io_timeouts: u32,
    /// Commands skipped by the failure timer.
    pub skips: u32,
}

/// A page in a worker or in the backlog.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    /// When it reached HAProxy, µs.
    pub arrived: SimTime,
    /// When a worker took it, µs.
    pub started: SimTime,
    /// The summary phase it started in.
    pub phase: u16,
    /// What it runs next.
    pub stage: Stage,
    /// Where its time went so far.
    pub split: Split,
}

impl Page {
    /// A page that arrived at `arrived` and waits for a worker.
    pub fn new(arrived: SimTime) -> Page {
        Page { arrived, started: arrived, phase: 0, stage: Stage::Work, split: Split::default() }
    }

    /// The stage after the current one, given whether a get hit, for a page of `keys` keys.
    pub fn next_stage(&self, hit: bool, keys: usize) -> Stage {
        let after = |k: u16| if (k as usize + 1) < keys { Stage::Get(k + 1) } else { Stage::Done };
        match self.stage {
            Stage::Work if keys == 0 => Stage::Done,
            Stage::Work => Stage::Get(0),
            Stage::Get(k) if hit => after(k),
            Stage::Get(k) => Stage::Db(k),
            Stage::Db(k) => Stage::Set(k),
            Stage::Set(k) => after(k),
            Stage::Done => Stage::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_miss_adds_a_query_and_a_set_and_a_hit_moves_on() {
        let mut p = Page::new(0);
        let mut stages = Vec::new();
        let hits = [true, false];
        loop {
            let hit = match p.stage {
                Stage::Get(k) => hits[k as usize],
                _ => false,
            };
            p.stage = p.next_stage(hit, 2);
            stages.push(p.stage);
            if p.stage == Stage::Done {
                break;
            }
        }
        assert_eq!(stages, [Stage::Get(0), Stage::Get(1), Stage::Db(1), Stage::Set(1), Stage::Done]);
    }
}
