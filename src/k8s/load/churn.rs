//! Churn (`load.churn()`), as kube-burner's churn: each cycle deletes a
//! share of a load's objects, creates them again, and waits until they are
//! ready; a different share each cycle.

use super::delivery::{Delivery, Timing};
use super::{Load, Rate};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How to churn.
#[derive(Clone, Copy, Debug)]
pub struct Churn {
    /// the share of the objects per cycle, in (0, 100]
    pub percent: f64,
    /// the pause between cycles
    pub interval: Duration,
    pub cycles: usize,
    /// each cycle's deletes and wait for ready
    pub timeout: Duration,
}

/// What churning did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Churned {
    pub deleted: usize,
    pub created: usize,
    pub failed: u64,
    /// the creates of every cycle, offered against achieved (times from
    /// the churn's start; the pauses between cycles offer nothing)
    pub delivery: Delivery,
}

impl Load {
    /// Churn `c.cycles` times at `rate`; `on_cycle(cycle, objects)` is
    /// called as each cycle starts.
    pub async fn churn(
        &self,
        c: Churn,
        rate: Rate,
        mut on_cycle: impl FnMut(usize, usize),
    ) -> Result<Churned, String> {
        if !(c.percent > 0.0 && c.percent <= 100.0) {
            return Err(format!("percent {} must be in (0, 100]", c.percent));
        }
        let mut done = Churned::default();
        let mut timings: Vec<Timing> = vec![];
        let start = std::time::Instant::now();
        let failed_before = self.failed.load(Ordering::Relaxed);
        for cycle in 0..c.cycles {
            let pick = self.share(cycle, c.percent);
            if pick.is_empty() {
                break;
            }
            on_cycle(cycle, pick.len());
            let left = self.delete_items(&pick, rate, Some(c.timeout)).await;
            if !left.is_empty() {
                return Err(format!("cannot delete: {}", left.join("; ")));
            }
            done.deleted += pick.len();
            let before = self.created_count();
            let at = start.elapsed().as_secs_f32();
            let shift = |x: Option<f32>| x.map(|v| v + at);
            timings.extend(self.create(&pick, rate).await.into_iter().map(|t| Timing {
                intended: t.intended + at,
                sent: shift(t.sent),
                answered: shift(t.answered),
            }));
            done.created += self.created_count() - before;
            self.wait_ready(c.timeout, |_, _| {}).await?;
            if cycle + 1 < c.cycles {
                tokio::time::sleep(c.interval).await;
            }
        }
        done.failed = self.failed.load(Ordering::Relaxed) - failed_before;
        done.delivery = Delivery::of(&timings, 1.0 / rate.qps.max(0.001));
        Ok(done)
    }

    /// The objects of cycle `cycle`: `percent` of those that exist,
    /// starting where the last cycle's share ended.
    fn share(&self, cycle: usize, percent: f64) -> Vec<usize> {
        let mut have: Vec<usize> = self.created.lock().unwrap().iter().copied().collect();
        have.sort_unstable();
        let k = ((have.len() as f64) * percent / 100.0).ceil() as usize;
        if k == 0 {
            return vec![];
        }
        let start = (cycle * k) % have.len();
        (0..k).map(|j| have[(start + j) % have.len()]).collect()
    }
}
