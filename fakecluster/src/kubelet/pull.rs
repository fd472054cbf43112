//! Image pulls as a kubelet reports them (tests/traces/
//! image-pull-failure.json): Pulling and Pulled events; for an image that
//! cannot be pulled, Failed events and ErrImagePull, then the back-off
//! (BackOff events and ImagePullBackOff) and the pull again, the pod's
//! status alternating between the two, each repeated event counted up.
//! Back-off times are the real ones divided by [`SCALE`].

use super::state::{CState, ContainerRt, Kubelet, PodRt};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Real back-off times over the fake's (the only timing difference).
pub const SCALE: u32 = 10;

/// From a failed pull to its BackOff events: the first (0.8 s), then the
/// later ones (12 s), real time.
fn backoff_delay(attempt: u32) -> Duration {
    let real = if attempt == 1 { 800 } else { 12_000 };
    Duration::from_millis(real) / SCALE
}

/// From the BackOff events to the next pull: 11 s, doubling, at most 300 s.
fn retry_delay(attempt: u32) -> Duration {
    let real = (11_000u64 << (attempt - 1).min(5)).min(300_000);
    Duration::from_millis(real) / SCALE
}

/// `docker.io/library/busybox:latest` for `busybox`.
fn reference(image: &str) -> String {
    let first = image.split('/').next().unwrap_or("");
    let with_registry = if image.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        image.to_string()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    let last = with_registry.rsplit('/').next().unwrap_or("");
    if last.contains(':') || last.contains('@') {
        with_registry
    } else {
        format!("{with_registry}:latest")
    }
}

/// The runtime's error for an image that does not exist.
fn not_found(image: &str) -> String {
    let r = reference(image);
    format!("rpc error: code = NotFound desc = failed to pull and unpack image \"{r}\": failed to resolve reference \"{r}\": {r}: not found")
}

/// The error of a pull that a throttling registry refused.
fn throttled(image: &str) -> String {
    format!("failed to pull and unpack image \"{}\": unexpected status: 429 Too Many Requests (toomanyrequests: rate limit exceeded)", reference(image))
}

fn pull_policy(spec: &Value, image: &str) -> &'static str {
    match spec["imagePullPolicy"].as_str() {
        Some("Always") => "Always",
        Some("Never") => "Never",
        Some(_) => "IfNotPresent",
        None => {
            let last = image.rsplit('/').next().unwrap_or(image);
            if !last.contains(':') || last.ends_with(":latest") {
                "Always"
            } else {
                "IfNotPresent"
            }
        }
    }
}

impl Kubelet {
    fn is_unpullable(&self, image: &str) -> bool {
        self.unpullable.iter().any(|p| image.contains(p.as_str()))
    }

    fn take_flaky_pull(&self, image: &str) -> bool {
        let mut f = self.flaky_pulls.lock().unwrap();
        if f.1 > 0 && image.contains(f.0.as_str()) {
            f.1 -= 1;
            return true;
        }
        false
    }

    /// A container about to start (the first time or again): its image
    /// ensured as the pull policy says, then the Created event. False when
    /// the image cannot be had.
    pub(super) async fn pull_and_create(
        &self,
        rt: &Arc<PodRt>,
        c: &Arc<ContainerRt>,
        pod: &Value,
    ) -> bool {
        if !self.pull(rt, c, pod).await {
            return false;
        }
        let msg = format!("Created container: {}", c.name);
        self.event(pod, &rt.node, "Normal", "Created", &msg, Some(&c.name));
        true
    }

    /// Pull a container's image; false when the pod stopped first (an
    /// image that cannot be pulled is retried until then).
    pub(super) async fn pull(&self, rt: &Arc<PodRt>, c: &Arc<ContainerRt>, pod: &Value) -> bool {
        let key = (rt.node.clone(), c.image.clone());
        let present = self.pulled.lock().unwrap().contains(&key);
        if present && pull_policy(&c.spec, &c.image) != "Always" {
            let msg = format!("Container image \"{}\" already present on machine", c.image);
            self.event(pod, &rt.node, "Normal", "Pulled", &msg, Some(&c.name));
            return true;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                self.set_waiting(
                    c,
                    "ImagePullBackOff",
                    &format!(
                        "Back-off pulling image \"{}\": ErrImagePull: {}",
                        c.image,
                        self.pull_error(c)
                    ),
                );
                self.sync(rt).await;
            }
            self.event(
                pod,
                &rt.node,
                "Normal",
                "Pulling",
                &format!("Pulling image \"{}\"", c.image),
                Some(&c.name),
            );
            let error = if self.is_unpullable(&c.image) {
                Some(not_found(&c.image))
            } else if self.take_flaky_pull(&c.image) {
                Some(throttled(&c.image))
            } else {
                None
            };
            let Some(err) = error else {
                let msg = format!("Successfully pulled image \"{}\" in 10ms (10ms including waiting). Image size: 1089486 bytes.", c.image);
                self.event(pod, &rt.node, "Normal", "Pulled", &msg, Some(&c.name));
                self.pulled.lock().unwrap().insert(key);
                return true;
            };
            if !self.failed_pull(rt, c, pod, &err, attempt).await {
                return false;
            }
        }
    }

    fn pull_error(&self, c: &ContainerRt) -> String {
        if self.is_unpullable(&c.image) {
            not_found(&c.image)
        } else {
            throttled(&c.image)
        }
    }

    fn set_waiting(&self, c: &ContainerRt, reason: &str, message: &str) {
        *c.state.lock().unwrap() = CState::Waiting {
            reason: reason.into(),
            message: message.into(),
        };
    }

    /// A failed pull: its events, ErrImagePull reported with the back-off's
    /// events, then the wait before the next pull. False if the pod stopped.
    async fn failed_pull(
        &self,
        rt: &Arc<PodRt>,
        c: &Arc<ContainerRt>,
        pod: &Value,
        err: &str,
        attempt: u32,
    ) -> bool {
        let name = Some(c.name.as_str());
        let failed = format!("Failed to pull image \"{}\": {err}", c.image);
        for message in [failed.as_str(), "Error: ErrImagePull"] {
            self.event(pod, &rt.node, "Warning", "Failed", message, name);
        }
        self.set_waiting(c, "ErrImagePull", err);
        if !self.pause(rt, backoff_delay(attempt)).await {
            return false;
        }
        self.sync(rt).await;
        let back_off = format!("Back-off pulling image \"{}\"", c.image);
        let events = [
            ("Normal", "BackOff", back_off.as_str()),
            ("Warning", "Failed", "Error: ImagePullBackOff"),
        ];
        for (etype, reason, message) in events {
            self.event(pod, &rt.node, etype, reason, message, name);
        }
        self.pause(rt, retry_delay(attempt)).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn references() {
        assert_eq!(
            super::reference("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            super::reference("127.0.0.1:5000/does-not-exist:1"),
            "127.0.0.1:5000/does-not-exist:1"
        );
        assert_eq!(
            super::reference("quay.io/cilium/x:v1"),
            "quay.io/cilium/x:v1"
        );
        assert_eq!(
            super::reference("grafana/grafana"),
            "docker.io/grafana/grafana:latest"
        );
    }
}
