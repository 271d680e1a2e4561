//! One app host's local server cache (APCu in production; in EventSimulator a `HashBagOStuff` per `ClientHost`,
//! on the simulated clock): per key a value with a physical expiry, and the non-blocking scoped lock
//! `getScopedLock($key, 0, 10)` that `LoadMonitor::getServerStates` takes before going to the cluster cache.
//!
//! Source: `BagOStuff::getScopedLock` / `MediumSpecificBagOStuff::lock` (timeout 0: one try; the lock expires
//! after its `exptime`, 10 s here; a second `lock` of a key this instance already holds fails) and
//! `HashBagOStuff` (an entry is gone once its expiry has passed). Every request on a host shares the host's
//! instance, so the lock is host-wide: while one request regenerates a key (its probe out), the host's other
//! requests fail the lock and use the value they have.

use crate::time::{SimDuration, SimTime};

#[derive(Clone, Copy, Debug)]
struct Slot<S> {
    value: Option<(S, SimTime)>,
    /// The key's lock is held until this time; 0 when free.
    locked_until: SimTime,
}

/// The local cache of one host: one slot per server key.
#[derive(Debug)]
pub struct SrvCache<S> {
    slots: Vec<Slot<S>>,
}

impl<S: Copy> SrvCache<S> {
    /// An empty cache for `keys` keys.
    pub fn new(keys: usize) -> SrvCache<S> {
        SrvCache { slots: vec![Slot { value: None, locked_until: 0 }; keys] }
    }

    /// `get`: the value, unless its physical expiry has passed.
    pub fn get(&self, now: SimTime, key: usize) -> Option<S> {
        self.slots[key].value.filter(|&(_, expires)| now < expires).map(|(s, _)| s)
    }

    /// The stored value and when it expires, whether or not it has (for an index that extends expiries lazily).
    pub fn entry(&self, key: usize) -> Option<(S, SimTime)> {
        self.slots[key].value
    }

    /// Until when the key's lock is held (0 or a past time: free).
    pub fn locked_until(&self, key: usize) -> SimTime {
        self.slots[key].locked_until
    }

    /// `set($key, $value, $ttl)`.
    pub fn set(&mut self, now: SimTime, key: usize, value: S, ttl: SimDuration) {
        self.slots[key].value = Some((value, now.saturating_add(ttl)));
    }

    /// `getScopedLock($key, 0, $exptime)`: true if taken (it then stays held until [`SrvCache::unlock`] or
    /// `exptime` passes).
    pub fn try_lock(&mut self, now: SimTime, key: usize, exptime: SimDuration) -> bool {
        let slot = &mut self.slots[key];
        if now < slot.locked_until {
            return false;
        }
        slot.locked_until = now.saturating_add(exptime);
        true
    }

    /// The scoped lock's release.
    pub fn unlock(&mut self, key: usize) {
        self.slots[key].locked_until = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    #[test]
    fn values_expire_physically_and_locks_are_one_try_with_an_expiry() {
        let mut c: SrvCache<u8> = SrvCache::new(2);
        c.set(0, 0, 5, 60 * SECOND);
        assert_eq!(c.get(60 * SECOND - 1, 0), Some(5));
        assert_eq!(c.get(60 * SECOND, 0), None);
        assert_eq!(c.get(0, 1), None);
        assert!(c.try_lock(0, 0, 10 * SECOND));
        assert!(!c.try_lock(SECOND, 0, 10 * SECOND), "held");
        assert!(c.try_lock(SECOND, 1, 10 * SECOND), "keys lock independently");
        assert!(c.try_lock(10 * SECOND, 0, 10 * SECOND), "expired after exptime");
        c.unlock(0);
        assert!(c.try_lock(10 * SECOND + 1, 0, 10 * SECOND));
    }
}
