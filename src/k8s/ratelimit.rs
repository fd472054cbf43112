//! A client-side token bucket (kube-rs has none): `qps` tokens per second,
//! up to `burst` saved.

use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub struct RateLimit {
    /// seconds between requests
    interval: f64,
    /// how far ahead of the steady pace a request may go (the burst)
    tolerance: f64,
    /// the theoretical arrival time of the next request (GCRA)
    tat: Mutex<Option<Instant>>,
}

impl RateLimit {
    pub fn new(qps: f64, burst: u32) -> Self {
        let interval = 1.0 / qps.max(0.001);
        RateLimit {
            interval,
            tolerance: (burst.max(1) - 1) as f64 * interval,
            tat: Mutex::new(None),
        }
    }

    /// Wait for a token. Each caller reserves its moment under the lock and
    /// sleeps until then, so the rate holds whatever the timer's
    /// granularity (a bucket capped at `burst` loses what a late wake-up
    /// would have saved: 10% at qps 100 with burst 1).
    pub async fn acquire(&self) {
        let at = {
            let mut tat = self.tat.lock().await;
            let now = Instant::now();
            let t = tat.map_or(now, |t| t.max(now));
            let allowed = t
                .checked_sub(Duration::from_secs_f64(self.tolerance))
                .unwrap_or(now);
            *tat = Some(t + Duration::from_secs_f64(self.interval));
            allowed
        };
        if at > Instant::now() {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = RateLimit::new(100.0, 10);
            let t = Instant::now();
            for _ in 0..10 {
                l.acquire().await;
            }
            assert!(
                t.elapsed() < Duration::from_millis(20),
                "burst is immediate"
            );
            for _ in 0..10 {
                l.acquire().await;
            }
            let e = t.elapsed();
            assert!(
                e >= Duration::from_millis(80) && e < Duration::from_millis(400),
                "{e:?}"
            );
        });
    }

    /// Late wake-ups do not slow the pace: 100 requests at 400 per second
    /// take 99 intervals, however coarse the timer.
    #[test]
    fn the_rate_holds_with_burst_one() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = RateLimit::new(400.0, 1);
            let t = Instant::now();
            for _ in 0..100 {
                l.acquire().await;
            }
            let e = t.elapsed().as_secs_f64();
            assert!((0.2475..0.285).contains(&e), "{e}");
        });
    }
}
