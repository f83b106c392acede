//! Latency percentiles from every recorded sample (microseconds), sorted once at the end.
//!
//! A run records at most a few million samples, so keeping them all (4 bytes each) is
//! cheaper to reason about than a histogram and exact.

/// Sorted latency samples in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted: Vec<u32>,
}

impl Latencies {
    /// Sorts the samples.
    pub fn from_samples(mut samples: Vec<u32>) -> Self {
        samples.sort_unstable();
        Self { sorted: samples }
    }

    /// The `p`-th percentile (0 < p ≤ 100) by the nearest-rank method, in microseconds;
    /// `None` without samples.
    pub fn percentile_us(&self, p: f64) -> Option<u32> {
        if self.sorted.is_empty() {
            return None;
        }
        let n = self.sorted.len();
        // The epsilon keeps 99.9 % of 1000 at rank 999 despite binary floating point.
        let rank = ((p / 100.0) * n as f64 - 1e-9).ceil() as usize;
        Some(self.sorted[rank.clamp(1, n) - 1])
    }

    /// The `p`-th percentile in milliseconds (0 without samples).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        self.percentile_us(p)
            .map_or(0.0, |us| f64::from(us) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let l = Latencies::from_samples((1..=1000).rev().collect());
        assert_eq!(l.percentile_us(50.0), Some(500));
        assert_eq!(l.percentile_us(99.0), Some(990));
        assert_eq!(l.percentile_us(99.9), Some(999));
        assert_eq!(l.percentile_us(100.0), Some(1000));
        assert_eq!(l.percentile_us(0.0), Some(1));
        assert_eq!(l.percentile_ms(50.0), 0.5);
    }

    #[test]
    fn small_and_empty_sets() {
        let one = Latencies::from_samples(vec![7]);
        assert_eq!(one.percentile_us(50.0), Some(7));
        assert_eq!(one.percentile_us(99.9), Some(7));
        let two = Latencies::from_samples(vec![10, 20]);
        assert_eq!(two.percentile_us(50.0), Some(10));
        assert_eq!(two.percentile_us(99.0), Some(20));
        let none = Latencies::default();
        assert_eq!(none.percentile_us(50.0), None);
        assert_eq!(none.percentile_ms(99.0), 0.0);
    }
}
