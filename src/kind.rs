//! kind helpers: cluster configs, node images pinned by digest (from
//! `data/lazyget.yaml`), and the commands that create and delete clusters.

use serde_json::Value;
use std::sync::OnceLock;

/// The data file, embedded.
pub fn data() -> &'static Value {
    static D: OnceLock<Value> = OnceLock::new();
    D.get_or_init(|| {
        crate::yaml::parse_docs(include_str!("../data/lazyget.yaml"))
            .ok()
            .and_then(|d| d.into_iter().next())
            .unwrap_or(Value::Null)
    })
}

/// (k8s minor, image) pairs, newest first.
pub fn images() -> Vec<(String, String)> {
    data()["kind_images"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["k8s"].as_str().unwrap_or("").to_string(),
                        e["image"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The pinned node image for `1.33`, `v1.33`, `1.33.4` or `v1.33.4`.
pub fn image(version: &str) -> Result<String, String> {
    let v = version.trim().trim_start_matches('v');
    let parts: Vec<&str> = v.split('.').collect();
    let ok_number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !(parts.len() == 2 || parts.len() == 3) || !parts.iter().all(|p| ok_number(p)) {
        return Err(format!(
            "'{version}' is not a Kubernetes version; use e.g. 1.33 or v1.33.4"
        ));
    }
    let minor = format!("{}.{}", parts[0], parts[1]);
    let known = images();
    let list = || {
        known
            .iter()
            .map(|(k, i)| format!("{k} ({})", i.split('@').next().unwrap_or(i)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((_, img)) = known.iter().find(|(k, _)| *k == minor) else {
        return Err(format!(
            "no kind node image is pinned for Kubernetes {version}; known: {}",
            list()
        ));
    };
    if parts.len() == 3 {
        let tag = img
            .split('@')
            .next()
            .unwrap_or("")
            .rsplit(':')
            .next()
            .unwrap_or("")
            .trim_start_matches('v');
        if tag != v {
            return Err(format!("kind publishes Kubernetes {minor} as v{tag}, not v{v}; ask for {minor} or v{tag} (known: {})", list()));
        }
    }
    Ok(img.clone())
}

/// What `kind_config` / `lazyget kind-config` take.
#[derive(Clone, Debug)]
pub struct ConfigOptions {
    pub name: String,
    pub workers: i64,
    pub control_planes: i64,
    pub with_cni: bool,
    pub image: Option<String>,
}

impl Default for ConfigOptions {
    fn default() -> Self {
        ConfigOptions {
            name: "kind".into(),
            workers: 0,
            control_planes: 1,
            with_cni: false,
            image: None,
        }
    }
}

/// A kind cluster config (SPEC.md "kind").
pub fn config(o: &ConfigOptions) -> Result<String, String> {
    if o.control_planes < 1 {
        return Err(format!(
            "a kind cluster needs at least 1 control-plane node, got {}",
            o.control_planes
        ));
    }
    if o.workers < 0 {
        return Err(format!(
            "the number of workers cannot be negative, got {}",
            o.workers
        ));
    }
    if o.name.is_empty()
        || !o
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err(format!(
            "cluster name '{}' must be lowercase letters, digits, '-' or '.'",
            o.name
        ));
    }
    let image = match &o.image {
        Some(i) => i.clone(),
        None => images()
            .first()
            .map(|(_, i)| i.clone())
            .ok_or("no kind images in the data file")?,
    };
    let mut s = format!(
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: {}\n",
        o.name
    );
    if !o.with_cni {
        s.push_str("networking:\n  disableDefaultCNI: true\n");
    }
    s.push_str("nodes:\n");
    for _ in 0..o.control_planes {
        s.push_str(&format!("- role: control-plane\n  image: {image}\n"));
    }
    for _ in 0..o.workers {
        s.push_str(&format!("- role: worker\n  image: {image}\n"));
    }
    Ok(s)
}

/// Why kind cannot run here, if it cannot.
pub fn missing_tools() -> Option<String> {
    if crate::shell::which("kind").is_none() {
        return Some("kind is not installed: get it from https://kind.sigs.k8s.io/docs/user/quick-start/#installation (or `go install sigs.k8s.io/kind@latest`)".into());
    }
    let provider = std::env::var("KIND_EXPERIMENTAL_PROVIDER").unwrap_or_else(|_| "docker".into());
    if crate::shell::which(&provider).is_none()
        && crate::shell::which("podman").is_none()
        && crate::shell::which("nerdctl").is_none()
    {
        return Some(format!("kind needs a container engine and {provider} is not installed: install Docker (https://docs.docker.com/engine/install/) or Podman with KIND_EXPERIMENTAL_PROVIDER=podman"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let i = image("1.33").unwrap();
        assert!(i.starts_with("kindest/node:v1.33.4@sha256:25a6"));
        assert_eq!(image("v1.33").unwrap(), i);
        assert_eq!(image("1.33.4").unwrap(), i);
        assert_eq!(image("v1.33.4").unwrap(), i);
        let e = image("1.29").unwrap_err();
        assert!(e.contains("known: 1.35") && e.contains("1.30"), "{e}");
        assert!(image("1.33.2").unwrap_err().contains("v1.33.4"));
        assert!(image("latest").is_err());
    }

    #[test]
    fn config_validation() {
        assert!(config(&ConfigOptions {
            control_planes: 0,
            ..Default::default()
        })
        .unwrap_err()
        .contains("at least 1"));
        assert!(config(&ConfigOptions {
            workers: -1,
            ..Default::default()
        })
        .unwrap_err()
        .contains("negative"));
        let c = config(&ConfigOptions {
            with_cni: true,
            ..Default::default()
        })
        .unwrap();
        assert!(!c.contains("disableDefaultCNI"));
    }
}
