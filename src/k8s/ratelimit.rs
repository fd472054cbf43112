//! A client-side token bucket (kube-rs has none): `qps` tokens per second,
//! up to `burst` saved.

use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub struct RateLimit {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = (burst.max(1)) as f64;
        RateLimit {
            qps: qps.max(0.001),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Wait for a token.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.qps).min(self.burst);
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.0) / self.qps)
            };
            tokio::time::sleep(wait).await;
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
}
