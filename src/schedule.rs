//! When to poll a job, planned from the branch's recent history: sparse while the job surely
//! runs, dense around the end its past successful jobs predict, then the plain growth. Pure
//! arithmetic on seconds since the job started, so it is simulated with no clock at all
//! (`benches/polls.rs`).
//!
//! Without history (fewer than [`MIN_HISTORY`] successful jobs) it is the plain growth: the
//! poll interval, growing by half each poll, to 30 s.

use std::time::Duration;

/// Successful jobs needed to predict an end.
pub const MIN_HISTORY: usize = 3;
/// Polls in the dense window are this far apart; no poll ever follows another within 2 s.
pub const DENSE: f64 = 5.0;
const MIN_GAP: f64 = 2.0;
/// The dense window reaches this share of the expected duration either side of it (and at
/// least [`MIN_HALF_WINDOW`] seconds).
const WINDOW_SHARE: f64 = 0.10;
const MIN_HALF_WINDOW: f64 = 8.0;
/// The sparse polls before the window double to at most this far apart, or a quarter of the
/// expected duration when that is more (progress stays visible).
const MAX_SPARSE: f64 = 120.0;
/// The plain growth's ceiling.
pub const MAX_GROWTH: f64 = 30.0;

#[derive(Debug, Clone)]
pub struct Schedule {
    /// The first interval of the plain growth (`poll-interval`).
    first: f64,
    /// The current interval of the plain growth (or of the sparse phase).
    interval: f64,
    /// The dense window, in seconds since the job started.
    window: Option<(f64, f64)>,
    /// The sparse phase's ceiling.
    max_sparse: f64,
}

impl Schedule {
    /// `history`: durations in seconds of the branch's recent successful jobs.
    pub fn new(poll_interval: Duration, history: &[f64]) -> Schedule {
        let first = poll_interval.as_secs_f64();
        let expected = expected(history);
        Schedule {
            first,
            interval: first,
            window: expected.map(|e| {
                let half = (e * WINDOW_SHARE).max(MIN_HALF_WINDOW);
                ((e - half).max(0.0), e + half)
            }),
            max_sparse: expected.map_or(MAX_SPARSE, |e| (e / 4.0).max(MAX_SPARSE)),
        }
    }

    /// The expected end, if the history gave one.
    pub fn expected_end(&self) -> Option<f64> {
        self.window.map(|(a, b)| (a + b) / 2.0)
    }

    /// After a poll at `t` seconds since the job started: how long until the next one.
    pub fn next_delay(&mut self, t: f64) -> f64 {
        let Some((start, end)) = self.window else {
            return self.grow();
        };
        let d = if t < start {
            // Sparse, doubling, and landing on the window's start.
            let d = self.interval.min(start - t);
            self.interval = (self.interval * 2.0).min(self.max_sparse);
            d
        } else if t <= end {
            DENSE
        } else {
            // Later than the history says: as slow as the plain growth gets.
            self.interval = MAX_GROWTH;
            MAX_GROWTH
        };
        d.max(MIN_GAP)
    }

    /// A failed or throttled poll: the interval doubles (to the ceiling), as before.
    pub fn back_off(&mut self) -> f64 {
        self.interval = (self.interval * 2.0).min(MAX_GROWTH);
        self.interval
    }

    fn grow(&mut self) -> f64 {
        let d = self.interval;
        self.interval = (self.interval * 1.5).min(MAX_GROWTH);
        d.max(MIN_GAP.min(self.first))
    }
}

/// The median of the durations, when there are enough of them.
fn expected(history: &[f64]) -> Option<f64> {
    let mut d: Vec<f64> = history.iter().copied().filter(|x| *x > 0.0).collect();
    if d.len() < MIN_HISTORY {
        return None;
    }
    d.sort_by(|a, b| a.total_cmp(b));
    let n = d.len();
    Some(if n % 2 == 1 {
        d[n / 2]
    } else {
        (d[n / 2 - 1] + d[n / 2]) / 2.0
    })
}

/// Today's schedule before history planning, for comparison: the first poll at the poll
/// interval, growing by half to 30 s.
pub fn plain(poll_interval: Duration) -> Schedule {
    Schedule::new(poll_interval, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polls(s: &mut Schedule, until: f64) -> Vec<f64> {
        let mut t = 0.0;
        let mut out = vec![t];
        while t < until {
            t += s.next_delay(t);
            out.push(t);
        }
        out
    }

    #[test]
    fn without_history_it_is_the_plain_growth() {
        let mut s = Schedule::new(Duration::from_secs(5), &[300.0, 310.0]);
        assert_eq!(s.expected_end(), None);
        let p = polls(&mut s, 60.0);
        assert_eq!(p[..4], [0.0, 5.0, 12.5, 23.75]);
    }

    #[test]
    fn with_history_it_is_dense_around_the_expected_end_and_never_tighter_than_2s() {
        let history = [290.0, 300.0, 310.0, 305.0, 295.0];
        let mut s = Schedule::new(Duration::from_secs(5), &history);
        assert_eq!(s.expected_end(), Some(300.0));
        let p = polls(&mut s, 400.0);
        assert!(p.contains(&270.0), "the window starts at 270 s: {p:?}");
        let dense: Vec<&[f64]> = p
            .windows(2)
            .filter(|w| w[0] >= 270.0 && w[1] <= 330.0)
            .collect();
        assert!(dense.iter().all(|w| w[1] - w[0] == DENSE), "{p:?}");
        assert!(p.windows(2).all(|w| w[1] - w[0] >= 2.0), "{p:?}");
        let before = p.iter().filter(|t| **t < 270.0).count();
        let plain_before = polls(&mut plain(Duration::from_secs(5)), 270.0)
            .iter()
            .filter(|t| **t < 270.0)
            .count();
        assert!(before < plain_before, "sparser before the window: {p:?}");
    }
}
