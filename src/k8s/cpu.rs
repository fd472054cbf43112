//! CPU time of nodes while a test runs: `/proc/uptime`, `/proc/stat` and
//! `/proc/softirqs` read through a node session of each node, one command
//! per node per interval (and one at the start and one at the end), so
//! that a test's CPU cost (CPU-seconds per Gbit, per million packets) is
//! the difference of the counters over exactly the test.
//!
//! `/proc/stat` counts in USER_HZ ticks, 100 a second on every Linux
//! architecture a cluster runs on (`sysconf(_SC_CLK_TCK)`); the elapsed
//! time is the node's own `/proc/uptime` difference, so a slow exec does
//! not stretch it.

use super::session::Session;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Clock ticks per second of `/proc/stat`.
pub const USER_HZ: f64 = 100.0;

/// What one sample reads.
pub const READ: &str = "cat /proc/uptime /proc/stat /proc/softirqs";

/// The counters of one read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    /// seconds since boot (`/proc/uptime`)
    pub uptime: f64,
    /// the `cpu` line: user nice system idle (3) iowait irq softirq steal
    pub ticks: [u64; 8],
    /// `cpuN` lines
    pub cpus: u32,
    /// NET_RX and NET_TX softirqs run, summed over CPUs
    pub net_rx: u64,
    pub net_tx: u64,
}

const USER: usize = 0;
const NICE: usize = 1;
const SYSTEM: usize = 2;
const IOWAIT: usize = 4;
const IRQ: usize = 5;
const SOFTIRQ: usize = 6;
const STEAL: usize = 7;

/// Parse the output of [`READ`].
pub fn parse(text: &str) -> Result<Counters, String> {
    let mut c = Counters::default();
    let mut seen_cpu = false;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    c.uptime = first
        .split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| format!("no /proc/uptime line: {first:?}"))?;
    for l in lines {
        let mut words = l.split_whitespace();
        let Some(head) = words.next() else { continue };
        if head == "cpu" {
            for (i, w) in words.take(8).enumerate() {
                c.ticks[i] = w
                    .parse()
                    .map_err(|_| format!("/proc/stat: {w:?} is not a count in {l:?}"))?;
            }
            seen_cpu = true;
        } else if head.starts_with("cpu") && head[3..].bytes().all(|b| b.is_ascii_digit()) {
            c.cpus += 1;
        } else if head == "NET_RX:" || head == "NET_TX:" {
            let sum = words.filter_map(|w| w.parse::<u64>().ok()).sum();
            if head == "NET_RX:" {
                c.net_rx = sum;
            } else {
                c.net_tx = sum;
            }
        }
    }
    if !seen_cpu {
        return Err("no `cpu` line in /proc/stat".into());
    }
    Ok(c)
}

/// CPU time spent between two reads, in CPU-seconds.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Usage {
    /// the node's own elapsed time
    pub seconds: f64,
    pub cpus: u32,
    pub user: f64,
    pub system: f64,
    pub irq: f64,
    pub softirq: f64,
    pub iowait: f64,
    pub steal: f64,
    /// user + nice + system + irq + softirq: what the node worked
    pub busy: f64,
    /// busy over the elapsed time of all its CPUs, in percent
    pub busy_percent: f64,
    /// NET_RX and NET_TX softirqs run
    pub net_rx: u64,
    pub net_tx: u64,
}

/// The difference between two reads (counters that went down, as after
/// a CPU went offline, count as zero).
pub fn usage(a: &Counters, b: &Counters) -> Usage {
    let d = |i: usize| b.ticks[i].saturating_sub(a.ticks[i]) as f64 / USER_HZ;
    let busy = d(USER) + d(NICE) + d(SYSTEM) + d(IRQ) + d(SOFTIRQ);
    let seconds = (b.uptime - a.uptime).max(0.0);
    let cpus = b.cpus.max(1);
    Usage {
        seconds,
        cpus: b.cpus,
        user: d(USER) + d(NICE),
        system: d(SYSTEM),
        irq: d(IRQ),
        softirq: d(SOFTIRQ),
        iowait: d(IOWAIT),
        steal: d(STEAL),
        busy,
        busy_percent: if seconds > 0.0 {
            100.0 * busy / (seconds * cpus as f64)
        } else {
            0.0
        },
        net_rx: b.net_rx.saturating_sub(a.net_rx),
        net_tx: b.net_tx.saturating_sub(a.net_tx),
    }
}

/// One node's reads, in order, and why reading stopped early.
#[derive(Clone, Debug, Default)]
pub struct NodeReads {
    pub node: String,
    /// (unix ms on this machine, counters)
    pub reads: Vec<(i64, Counters)>,
    pub error: Option<String>,
}

impl NodeReads {
    /// Usage over all reads, and busy percent per interval (at each
    /// interval's start, unix ms).
    pub fn summary(&self) -> Option<(Usage, Vec<(i64, f64)>)> {
        let (first, last) = (self.reads.first()?, self.reads.last()?);
        if self.reads.len() < 2 {
            return None;
        }
        let series = self
            .reads
            .windows(2)
            .map(|w| (w[0].0, usage(&w[0].1, &w[1].1).busy_percent))
            .collect();
        Some((usage(&first.1, &last.1), series))
    }
}

async fn read(s: &Session) -> Result<(i64, Counters), String> {
    let cmd = crate::shell::Cmd::Shell(READ.into());
    let at = crate::results::unix_ms(std::time::SystemTime::now());
    let out = s
        .exec(&cmd, Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    if out.code != 0 {
        return Err(format!(
            "`{READ}` exited with {}: {}",
            out.code,
            out.stderr.trim()
        ));
    }
    Ok((at, parse(&out.stdout)?))
}

/// A sampling in progress: one task per node.
pub struct Sampler {
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<NodeReads>>,
}

impl Sampler {
    /// Read every session once (the start), then every `interval` (never,
    /// with zero) until [`Sampler::finish`].
    pub async fn start(sessions: Vec<Arc<Session>>, interval: Duration) -> Result<Sampler, String> {
        let firsts = futures::future::join_all(sessions.iter().map(|s| read(s))).await;
        let stop = CancellationToken::new();
        let mut tasks = vec![];
        for (s, first) in sessions.into_iter().zip(firsts) {
            let first = first.map_err(|e| format!("cannot read CPU time on {}: {e}", s.node))?;
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let mut r = NodeReads {
                    node: s.node.clone(),
                    reads: vec![first],
                    error: None,
                };
                loop {
                    let tick = async {
                        if interval.is_zero() {
                            std::future::pending::<()>().await
                        } else {
                            tokio::time::sleep(interval).await
                        }
                    };
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tick => {}
                    }
                    match read(&s).await {
                        Ok(x) => r.reads.push(x),
                        Err(e) => {
                            r.error = Some(e);
                            return r;
                        }
                    }
                }
                match read(&s).await {
                    Ok(x) => r.reads.push(x),
                    Err(e) => r.error = Some(e),
                }
                r
            }));
        }
        Ok(Sampler { stop, tasks })
    }

    /// Stop: one last read of each node, and every node's reads.
    pub async fn finish(self) -> Vec<NodeReads> {
        self.stop.cancel();
        let mut out = vec![];
        for t in self.tasks {
            match t.await {
                Ok(r) => out.push(r),
                Err(e) => out.push(NodeReads {
                    error: Some(format!("the sampling task failed: {e}")),
                    ..Default::default()
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/uptime`, `/proc/stat` and `/proc/softirqs` of a 2-CPU node,
    /// with `add` ticks of user, system and softirq, and `rx` NET_RX.
    fn proc_text(uptime: f64, add: [u64; 3], rx: u64) -> String {
        format!(
            "{uptime:.2} 1000.00\n\
             cpu  {u} 5 {s} 9000 20 3 {si} 0 0 0\n\
             cpu0 50 2 30 4500 10 1 4 0 0 0\n\
             cpu1 50 3 30 4500 10 2 4 0 0 0\n\
             intr 12345 0 0\n\
             ctxt 999\n\
                                 CPU0       CPU1\n\
                       HI:          1          0\n\
                   NET_TX:         10         20\n\
                   NET_RX:        {rx}        100\n\
                    BLOCK:          5          5\n",
            u = 100 + add[0],
            s = 60 + add[1],
            si = 8 + add[2],
        )
    }

    #[test]
    fn reads_the_counters() {
        let c = parse(&proc_text(12.5, [0, 0, 0], 7)).unwrap();
        assert_eq!(c.uptime, 12.5);
        assert_eq!(c.ticks, [100, 5, 60, 9000, 20, 3, 8, 0]);
        assert_eq!(c.cpus, 2);
        assert_eq!((c.net_rx, c.net_tx), (107, 30));
        assert!(parse("1.0 2.0\nintr 5\n")
            .unwrap_err()
            .contains("no `cpu` line"));
        assert!(parse("").unwrap_err().contains("uptime"));
    }

    #[test]
    fn a_sequence_with_known_deltas() {
        // three reads one second apart: +50 user, +20 system, +30 softirq
        // ticks, then +150/+0/+10, and 1000 then 3000 more NET_RX
        let reads: Vec<(i64, Counters)> = [
            (100.0, [0, 0, 0], 0),
            (101.0, [50, 20, 30], 1000),
            (102.0, [200, 20, 40], 4000),
        ]
        .iter()
        .enumerate()
        .map(|(i, (up, add, rx))| (i as i64 * 1000, parse(&proc_text(*up, *add, *rx)).unwrap()))
        .collect();
        let r = NodeReads {
            node: "n1".into(),
            reads,
            error: None,
        };
        let (u, series) = r.summary().unwrap();
        assert_eq!(u.seconds, 2.0);
        assert!((u.user - 2.0).abs() < 1e-9, "{u:?}");
        assert!((u.system - 0.2).abs() < 1e-9);
        assert!((u.softirq - 0.4).abs() < 1e-9);
        assert!((u.busy - 2.6).abs() < 1e-9);
        // 2.6 CPU-seconds in 2 s of 2 CPUs
        assert!((u.busy_percent - 65.0).abs() < 1e-9);
        assert_eq!(u.net_rx, 4000);
        assert_eq!(series.len(), 2);
        assert!((series[0].1 - 50.0).abs() < 1e-9, "{series:?}");
        assert!((series[1].1 - 80.0).abs() < 1e-9);
        // a single read says nothing
        let one = NodeReads {
            reads: r.reads[..1].to_vec(),
            ..r.clone()
        };
        assert!(one.summary().is_none());
    }
}
