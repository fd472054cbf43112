//! A pod's volumes: ConfigMaps and Secrets written as files, claims as a
//! directory per claim, hostPath as is, the rest as empty directories. As
//! on a real node, a ConfigMap, Secret or claim that does not exist yet is
//! a FailedMount, retried until it appears (the pod stays
//! ContainerCreating): manifests applied together may create a pod before
//! its ConfigMap. Only pods that run a process get files; the service
//! account's projected volume is not materialised.

use super::state::{Kubelet, PodRt};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The volume the API server adds for a pod's service account token.
pub(super) fn is_service_account(name: &str) -> bool {
    name.starts_with("kube-api-access-")
}

impl Kubelet {
    /// The pod's volumes (name → directory), once they can all be mounted;
    /// None when the pod stopped first.
    pub(super) async fn mount_volumes(
        &self,
        rt: &PodRt,
        pod: &Value,
    ) -> Option<HashMap<String, PathBuf>> {
        let with_files = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| self.is_runnable(c["image"].as_str().unwrap_or("")));
        let mut warned = false;
        loop {
            match self.volumes(rt, pod, with_files) {
                Ok(v) => return Some(v),
                Err(message) => {
                    if !warned {
                        self.event(
                            pod,
                            &rt.node,
                            "Warning",
                            "FailedMount",
                            &format!("MountVolume.SetUp failed: {message}"),
                            None,
                        );
                        warned = true;
                    }
                    if !self.pause(rt, Duration::from_millis(100)).await {
                        return None;
                    }
                }
            }
        }
    }

    fn volumes(
        &self,
        rt: &PodRt,
        pod: &Value,
        with_files: bool,
    ) -> Result<HashMap<String, PathBuf>, String> {
        let mut out = HashMap::new();
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            let name = v["name"].as_str().unwrap_or("").to_string();
            if is_service_account(&name) {
                continue;
            }
            let dir = rt.dir.join("volumes").join(&name);
            let dir = if let Some(cm) = v["configMap"]["name"].as_str() {
                self.source(&dir, "ConfigMap", &rt.ns, cm, &v["configMap"], with_files)?;
                dir
            } else if let Some(s) = v["secret"]["secretName"].as_str() {
                self.source(&dir, "Secret", &rt.ns, s, &v["secret"], with_files)?;
                dir
            } else if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() {
                let k = self.store.kind("", "PersistentVolumeClaim").unwrap();
                if self.store.get(&k, &rt.ns, claim).is_none() {
                    return Err(format!("persistentvolumeclaim \"{claim}\" not found"));
                }
                if !with_files {
                    continue;
                }
                self.pvc_dir(&rt.ns, claim)
            } else if let Some(p) = v["hostPath"]["path"].as_str() {
                PathBuf::from(p)
            } else {
                dir
            };
            if with_files {
                let _ = std::fs::create_dir_all(&dir);
                out.insert(name, dir);
            }
        }
        Ok(out)
    }

    /// Directory backing a PVC.
    pub fn pvc_dir(&self, ns: &str, name: &str) -> PathBuf {
        let d = self.root.join("pvc").join(ns).join(name);
        let _ = std::fs::create_dir_all(&d);
        d
    }

    /// A ConfigMap or Secret volume: its keys (or `items`) as files.
    fn source(
        &self,
        dir: &Path,
        kind: &str,
        ns: &str,
        name: &str,
        spec: &Value,
        with_files: bool,
    ) -> Result<(), String> {
        let k = self.store.kind("", kind).unwrap();
        let Some(obj) = self.store.get(&k, ns, name) else {
            if spec["optional"] == true {
                return Ok(());
            }
            return Err(format!("{} \"{name}\" not found", kind.to_lowercase()));
        };
        if !with_files {
            return Ok(());
        }
        std::fs::create_dir_all(dir).ok();
        use base64::Engine;
        let b64 = |v: &Value| {
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .unwrap_or_default()
        };
        let mut files: Vec<(String, Vec<u8>)> = vec![];
        for (key, v) in obj["data"].as_object().into_iter().flatten() {
            let bytes = if kind == "Secret" {
                b64(v)
            } else {
                v.as_str().unwrap_or("").as_bytes().to_vec()
            };
            files.push((key.clone(), bytes));
        }
        for (key, v) in obj["binaryData"].as_object().into_iter().flatten() {
            files.push((key.clone(), b64(v)));
        }
        for (key, bytes) in files {
            let path = match spec["items"].as_array() {
                Some(items) => match items.iter().find(|i| i["key"] == key.as_str()) {
                    Some(i) => i["path"].as_str().unwrap_or(&key).to_string(),
                    None => continue,
                },
                None => key.clone(),
            };
            let p = dir.join(path);
            if let Some(parent) = p.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(p, bytes);
        }
        Ok(())
    }
}
