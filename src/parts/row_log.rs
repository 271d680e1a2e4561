//! A bounded log of step rows between a model's recording and the shell's draining: when the reader falls behind
//! by `capacity` rows, the oldest are dropped and counted, so memory never grows with the run and the summary can
//! say how many were lost (`rows_dropped`).

use std::collections::VecDeque;

/// Rows waiting to be drained, at most `capacity` of them.
#[derive(Clone, Debug)]
pub struct RowLog<T> {
    rows: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> RowLog<T> {
    /// An empty log that keeps at most `capacity` rows (at least one).
    pub fn new(capacity: usize) -> RowLog<T> {
        RowLog { rows: VecDeque::new(), capacity: capacity.max(1), dropped: 0 }
    }

    /// Records a row, dropping (and counting) the oldest first when the log is full.
    pub fn push(&mut self, row: T) {
        if self.rows.len() >= self.capacity {
            self.rows.pop_front();
            self.dropped += 1;
        }
        self.rows.push_back(row);
    }

    /// Takes every row recorded since the last drain, oldest first.
    pub fn drain(&mut self) -> std::collections::vec_deque::Drain<'_, T> {
        self.rows.drain(..)
    }

    /// Rows waiting.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row is waiting.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Rows dropped so far because the reader fell `capacity` rows behind.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::RowLog;

    #[test]
    fn a_full_log_drops_and_counts_its_oldest_rows() {
        let mut log = RowLog::new(2);
        for i in 0..5 {
            log.push(i);
        }
        assert_eq!((log.len(), log.dropped()), (2, 3));
        assert_eq!(log.drain().collect::<Vec<_>>(), [3, 4]);
        assert!(log.is_empty());
        log.push(5);
        assert_eq!(log.drain().collect::<Vec<_>>(), [5]);
    }
}
