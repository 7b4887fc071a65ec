//! The checkpoint low-water mark: a page's cursor may be committed only when every record of
//! that page and of every earlier page is acknowledged.

use std::collections::VecDeque;

use crate::core::Cursor;

#[derive(Debug)]
struct PageAcks {
    seq: u64,
    remaining: usize,
    cursor: Option<Cursor>,
}

/// Tracks outstanding records per page, in page order.
#[derive(Debug, Default)]
pub(crate) struct AckTracker {
    pages: VecDeque<PageAcks>,
    next_seq: u64,
}

impl AckTracker {
    /// Registers a page of `records` records; returns its sequence number.
    pub fn open(&mut self, cursor: Option<Cursor>, records: usize) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pages.push_back(PageAcks {
            seq,
            remaining: records,
            cursor,
        });
        seq
    }

    /// Acknowledges one record of page `seq`. Returns the cursor to commit when the low-water
    /// mark advanced past at least one page that carries a cursor.
    pub fn ack(&mut self, seq: u64) -> Option<Cursor> {
        let front = self.pages.front()?.seq;
        let idx = usize::try_from(seq.checked_sub(front)?).ok()?;
        let page = self.pages.get_mut(idx)?;
        debug_assert!(page.remaining > 0, "page {seq} acknowledged too often");
        page.remaining = page.remaining.saturating_sub(1);
        self.settle()
    }

    /// Pops every fully acknowledged page at the front; returns the last cursor among them.
    pub fn settle(&mut self) -> Option<Cursor> {
        let mut out = None;
        while self.pages.front().is_some_and(|p| p.remaining == 0) {
            if let Some(c) = self.pages.pop_front().and_then(|p| p.cursor) {
                out = Some(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(i: u64) -> Option<Cursor> {
        Some(Cursor(serde_json::json!(i)))
    }

    #[test]
    fn commits_only_contiguous_fully_acked_pages() {
        let mut t = AckTracker::default();
        let p0 = t.open(c(0), 2);
        let p1 = t.open(c(1), 1);
        let p2 = t.open(None, 1);
        let p3 = t.open(c(3), 1);
        assert_eq!(t.ack(p1), None, "page 1 done but page 0 is not");
        assert_eq!(t.ack(p0), None, "page 0 half done");
        assert_eq!(t.ack(p3), None);
        assert_eq!(t.ack(p0), c(1), "pages 0 and 1 done");
        assert_eq!(t.ack(p2), c(3), "a page without cursor passes through");
        let empty = t.open(c(4), 0);
        assert_eq!(t.settle(), c(4), "an empty page commits at once");
        assert_eq!(t.ack(empty), None, "nothing outstanding");
    }

    proptest! {
        /// Whatever order the acks arrive in, a committed cursor never passes an unacked record.
        #[test]
        fn never_passes_an_unacked_record(sizes in prop::collection::vec(0usize..4, 1..8), seed in any::<u64>()) {
            let mut t = AckTracker::default();
            let mut records = Vec::new();
            for (i, n) in sizes.iter().enumerate() {
                let seq = t.open(c(i as u64), *n);
                records.extend(std::iter::repeat_n(seq, *n));
            }
            let mut committed: Option<u64> = t.settle().map(|c| c.0.as_u64().unwrap());
            let mut rng = fastrand::Rng::with_seed(seed);
            rng.shuffle(&mut records);
            let mut acked = vec![0usize; sizes.len()];
            for seq in records {
                acked[seq as usize] += 1;
                if let Some(cur) = t.ack(seq) {
                    let page = cur.0.as_u64().unwrap();
                    prop_assert!(committed.is_none_or(|p| page > p));
                    for (i, n) in sizes.iter().enumerate().take(page as usize + 1) {
                        prop_assert_eq!(acked[i], *n, "committed page {} while page {} had unacked records", page, i);
                    }
                    committed = Some(page);
                }
            }
            prop_assert_eq!(committed, Some(sizes.len() as u64 - 1));
        }
    }
}
