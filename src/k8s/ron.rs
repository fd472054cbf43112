//! ron, Run On Node: a privileged pod pinned to a node runs a command;
//! files go in through a ConfigMap at /configs, artifacts out of a PVC at
//! /store (tar.gz through exec); everything created is labelled and deleted
//! per the cleanup policy, also after errors and Ctrl-C (the caller runs
//! `cleanup` with what `Created` recorded).

use super::http::{self, K8sError};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const RUN_ID: &str = "scaffold.run/id";

#[derive(Clone, Debug, PartialEq)]
pub enum Cleanup {
    All,
    Pod,
    Pvc,
    None,
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub node: String,
    /// argv of the command (a shell string is `["sh", "-c", s]`)
    pub argv: Vec<String>,
    pub pod_name: String,
    pub image: String,
    pub namespace: String,
    pub nsenter: bool,
    pub nsenter_binary: String,
    pub nsenter_opts: String,
    /// (base name, contents)
    pub files: Vec<(String, Vec<u8>)>,
    pub configmap_name: String,
    pub pvc: bool,
    pub pvc_name: String,
    pub pvc_size: String,
    pub pvc_access_mode: String,
    pub manage_pvc: bool,
    pub auto_copy: bool,
    pub auto_copy_dest: PathBuf,
    pub cleanup: Cleanup,
    pub retry_attempts: u32,
    pub retry_delay: Duration,
    pub show_events: bool,
    pub run_id: String,
    pub timeout: Duration,
    /// prefix for log lines (`[node] `), empty for one node
    pub prefix: String,
}

/// What a run created (filled as it goes, so cleanup works after any failure).
#[derive(Default, Debug, Clone)]
pub struct Created {
    pub pod: Option<String>,
    pub configmap: Option<String>,
    pub pvc: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: i32,
    pub logs: String,
    pub artifacts: Option<PathBuf>,
}

/// A DNS-1123 name from parts, at most 63 characters.
pub fn dns_name(parts: &[&str]) -> String {
    let mut s: String = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.to_lowercase()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-");
    s.truncate(63);
    s.trim_matches('-').to_string()
}

fn labels(run_id: &str) -> Value {
    json!({MANAGED_BY: "scaffold", RUN_ID: run_id})
}

fn ours(obj: &Value) -> bool {
    obj["metadata"]["labels"][MANAGED_BY] == "scaffold"
}

/// Our pod spec for a ron run (or a node session when `argv` is a sleep).
pub fn pod_manifest(s: &Spec) -> Value {
    let mut argv = vec![];
    if s.nsenter {
        argv.push(s.nsenter_binary.clone());
        argv.extend(s.nsenter_opts.split_whitespace().map(str::to_string));
    }
    argv.extend(s.argv.iter().cloned());
    let mut mounts = vec![];
    let mut volumes = vec![];
    if !s.files.is_empty() {
        mounts.push(json!({"name": "configs", "mountPath": "/configs"}));
        volumes.push(json!({"name": "configs", "configMap": {"name": s.configmap_name}}));
    }
    if s.pvc {
        mounts.push(json!({"name": "store", "mountPath": "/store"}));
        volumes.push(json!({"name": "store", "persistentVolumeClaim": {"claimName": s.pvc_name}}));
    }
    let mut containers = vec![json!({
        "name": "main", "image": s.image, "command": argv,
        "securityContext": {"privileged": true}, "volumeMounts": mounts,
    })];
    if s.pvc {
        containers.push(json!({
            "name": "sleep", "image": s.image, "command": ["sleep", "infinity"],
            "volumeMounts": [{"name": "store", "mountPath": "/store"}],
        }));
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": s.pod_name, "namespace": s.namespace, "labels": labels(&s.run_id)},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": s.node},
            "tolerations": [{"operator": "Exists"}],
            "hostPID": true, "hostNetwork": true, "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": containers, "volumes": volumes,
        },
    })
}

fn item(kind: &str, ns: &str, name: &str) -> String {
    format!(
        "/api/v1/namespaces/{}/{kind}/{}",
        http::urlencode(ns),
        http::urlencode(name)
    )
}

/// Make room for an object name: replace it only if it carries our label.
async fn claim(
    client: &kube::Client,
    kind: &str,
    what: &str,
    ns: &str,
    name: &str,
    flag: &str,
) -> Result<(), String> {
    match http::get_json(client, &item(kind, ns, name)).await {
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(format!("cannot check {what} '{ns}/{name}': {e}")),
        Ok(o) if ours(&o) => delete_and_wait(client, kind, ns, name).await.map_err(|e| format!("cannot replace {what} '{ns}/{name}': {e}")),
        Ok(_) => Err(format!(
            "{what} '{ns}/{name}' already exists and was not created by scaffold; delete it or pick another name with {flag}"
        )),
    }
}

async fn delete_and_wait(
    client: &kube::Client,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<(), K8sError> {
    let path = item(kind, ns, name);
    match http::request(
        client,
        "DELETE",
        &format!("{path}?gracePeriodSeconds=0"),
        None,
        vec![],
        true,
    )
    .await
    {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    }
    let mut rx = super::objects::watch_object(client, &path).await?;
    let r = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(ev) = rx.recv().await {
            if ev.is_none() {
                return;
            }
        }
    })
    .await;
    r.map_err(|_| K8sError::Transport(format!("{kind} {ns}/{name} still exists after 60 s")))
}

/// Create with our retries: transient failures are retried, and a create
/// whose answer was lost is recognised by its run label, never duplicated.
async fn create(client: &kube::Client, s: &Spec, kind: &str, obj: &Value) -> Result<(), String> {
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let coll = format!(
        "/api/v1/namespaces/{}/{kind}",
        http::urlencode(&s.namespace)
    );
    let body = serde_json::to_vec(obj).unwrap_or_default();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match http::request(
            client,
            "POST",
            &coll,
            Some("application/json"),
            body.clone(),
            false,
        )
        .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Some(409) => {
                if let Ok(o) = http::get_json(client, &item(kind, &s.namespace, name)).await {
                    if o["metadata"]["labels"][RUN_ID] == s.run_id.as_str() {
                        return Ok(());
                    }
                }
                return Err(format!(
                    "cannot create {kind} '{}/{name}': {e}",
                    s.namespace
                ));
            }
            Err(e) if matches!(e.code(), Some(400..=499)) || attempt > s.retry_attempts => {
                return Err(format!(
                    "cannot create {kind} '{}/{name}': {e}",
                    s.namespace
                ))
            }
            Err(_) => tokio::time::sleep(s.retry_delay).await,
        }
    }
}

/// Why a pod cannot run, if the cluster already says so.
fn fatal_reason(pod: &Value) -> Option<String> {
    for cs in pod["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let w = &cs["state"]["waiting"];
        if let Some(r) = w["reason"].as_str() {
            if [
                "ErrImagePull",
                "ImagePullBackOff",
                "InvalidImageName",
                "CreateContainerConfigError",
                "CreateContainerError",
                "RunContainerError",
            ]
            .contains(&r)
            {
                return Some(format!(
                    "container {} {r}: {}",
                    cs["name"].as_str().unwrap_or(""),
                    w["message"].as_str().unwrap_or("")
                ));
            }
        }
    }
    let sched = pod["status"]["conditions"].as_array().and_then(|a| {
        a.iter()
            .find(|c| c["type"] == "PodScheduled" && c["status"] == "False")
            .cloned()
    });
    if let Some(c) = sched {
        if c["reason"] == "Unschedulable" {
            return Some(format!(
                "Unschedulable: {}",
                c["message"].as_str().unwrap_or("")
            ));
        }
    }
    if pod["status"]["phase"] == "Failed"
        && pod["status"]["containerStatuses"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    {
        return Some(format!(
            "pod failed: {}",
            pod["status"]["message"].as_str().unwrap_or("")
        ));
    }
    None
}

fn main_state(pod: &Value) -> (bool, Option<i32>) {
    let cs = pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "main").cloned())
        .unwrap_or(Value::Null);
    let running = cs["state"]["running"].is_object();
    let code = cs["state"]["terminated"]["exitCode"]
        .as_i64()
        .map(|c| c as i32);
    (running || code.is_some(), code)
}

/// Run the command; `created` records what exists for `cleanup`.
pub async fn run(
    client: &kube::Client,
    s: &Spec,
    created: Arc<Mutex<Created>>,
    out: Arc<dyn Fn(&str) + Send + Sync>,
) -> Result<Outcome, String> {
    // names first: nothing is created when one is taken by someone else
    claim(
        client,
        "pods",
        "pod",
        &s.namespace,
        &s.pod_name,
        "--pod-name / pod_name",
    )
    .await?;
    if !s.files.is_empty() {
        claim(
            client,
            "configmaps",
            "ConfigMap",
            &s.namespace,
            &s.configmap_name,
            "--configmap-name / configmap_name",
        )
        .await?;
    }
    if s.pvc && s.manage_pvc {
        claim(
            client,
            "persistentvolumeclaims",
            "PVC",
            &s.namespace,
            &s.pvc_name,
            "--pvc-name / pvc_name",
        )
        .await?;
    }
    if !s.files.is_empty() {
        let mut data = serde_json::Map::new();
        let mut binary = serde_json::Map::new();
        for (k, v) in &s.files {
            match std::str::from_utf8(v) {
                Ok(t) => data.insert(k.clone(), json!(t)),
                Err(_) => {
                    use base64::Engine;
                    binary.insert(
                        k.clone(),
                        json!(base64::engine::general_purpose::STANDARD.encode(v)),
                    )
                }
            };
        }
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": s.configmap_name, "namespace": s.namespace, "labels": labels(&s.run_id)}, "data": data, "binaryData": binary});
        create(client, s, "configmaps", &cm).await?;
        created.lock().unwrap().configmap = Some(s.configmap_name.clone());
    }
    if s.pvc && s.manage_pvc {
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": s.pvc_name, "namespace": s.namespace, "labels": labels(&s.run_id)},
            "spec": {"accessModes": [s.pvc_access_mode], "resources": {"requests": {"storage": s.pvc_size}}}});
        create(client, s, "persistentvolumeclaims", &pvc).await?;
        created.lock().unwrap().pvc = Some(s.pvc_name.clone());
    }
    create(client, s, "pods", &pod_manifest(s)).await?;
    created.lock().unwrap().pod = Some(s.pod_name.clone());
    let events = s.show_events.then(|| {
        tokio::spawn(show_events(
            client.clone(),
            s.namespace.clone(),
            s.pod_name.clone(),
            s.prefix.clone(),
            out.clone(),
        ))
    });
    let result = tokio::time::timeout(s.timeout, follow(client, s, out.clone())).await;
    if let Some(e) = events {
        e.abort();
    }
    let (code, logs) = match result {
        Err(_) => {
            return Err(format!(
                "command did not finish within {}s",
                s.timeout.as_secs()
            ))
        }
        Ok(r) => r?,
    };
    let artifacts = if s.pvc && s.auto_copy {
        Some(copy_out(client, s).await?)
    } else {
        None
    };
    Ok(Outcome {
        code,
        logs,
        artifacts,
    })
}

/// Watch the pod; stream main's logs once it runs; return its exit code.
async fn follow(
    client: &kube::Client,
    s: &Spec,
    out: Arc<dyn Fn(&str) + Send + Sync>,
) -> Result<(i32, String), String> {
    use futures::{AsyncBufReadExt, StreamExt};
    let path = item("pods", &s.namespace, &s.pod_name);
    let mut rx = super::objects::watch_object(client, &path)
        .await
        .map_err(|e| e.to_string())?;
    let mut logs_task: Option<tokio::task::JoinHandle<String>> = None;
    loop {
        let Some(ev) = rx.recv().await else {
            // the watch ended: resume
            rx = super::objects::watch_object(client, &path)
                .await
                .map_err(|e| e.to_string())?;
            continue;
        };
        let Some(pod) = ev else {
            return Err(format!(
                "pod {}/{} was deleted while running",
                s.namespace, s.pod_name
            ));
        };
        if let Some(why) = fatal_reason(&pod) {
            return Err(format!(
                "pod {}/{} cannot run: {why}",
                s.namespace, s.pod_name
            ));
        }
        let (started, code) = main_state(&pod);
        if started && logs_task.is_none() {
            let url = format!("{path}/log?container=main&follow=true");
            let (c, prefix, out) = (client.clone(), s.prefix.clone(), out.clone());
            logs_task = Some(tokio::spawn(async move {
                let mut all = String::new();
                let req = ::http::Request::get(url).body(vec![]).expect("log request");
                if let Ok(stream) = c.request_stream(req).await {
                    let mut lines = stream.lines();
                    while let Some(Ok(l)) = lines.next().await {
                        out(&format!("{prefix}{l}"));
                        all.push_str(&l);
                        all.push('\n');
                    }
                }
                all
            }));
        }
        if let Some(code) = code {
            let logs = match logs_task.take() {
                Some(t) => tokio::time::timeout(Duration::from_secs(10), t)
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                    .unwrap_or_default(),
                None => String::new(),
            };
            return Ok((code, logs));
        }
    }
}

async fn show_events(
    client: kube::Client,
    ns: String,
    pod: String,
    prefix: String,
    out: Arc<dyn Fn(&str) + Send + Sync>,
) {
    use futures::StreamExt;
    let sel = http::urlencode(&format!("involvedObject.name={pod}"));
    let path = format!(
        "/api/v1/namespaces/{}/events?watch=1&fieldSelector={sel}",
        http::urlencode(&ns)
    );
    let req = ::http::Request::get(path)
        .body(vec![])
        .expect("events request");
    let Ok(stream) = client.request_events::<Value>(req).await else {
        return;
    };
    futures::pin_mut!(stream);
    while let Some(Ok(kube::api::WatchEvent::Added(e))) = stream.next().await {
        out(&format!(
            "{prefix}event: {} {}: {}",
            e["type"].as_str().unwrap_or(""),
            e["reason"].as_str().unwrap_or(""),
            e["message"].as_str().unwrap_or("")
        ));
    }
}

/// `tar czf - /store` in the sleep container, streamed to the destination.
async fn copy_out(client: &kube::Client, s: &Spec) -> Result<PathBuf, String> {
    copy_tar(
        client,
        &s.namespace,
        &s.pod_name,
        "sleep",
        vec![
            "tar".into(),
            "czf".into(),
            "-".into(),
            "-C".into(),
            "/".into(),
            "store".into(),
        ],
        &s.auto_copy_dest,
    )
    .await
}

/// Run a tar command in a container and stream its stdout to `dest`.
pub async fn copy_tar(
    client: &kube::Client,
    ns: &str,
    pod: &str,
    container: &str,
    argv: Vec<String>,
    dest: &std::path::Path,
) -> Result<PathBuf, String> {
    use tokio::io::AsyncWriteExt;
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client.clone(), ns);
    let ap = kube::api::AttachParams::default()
        .container(container)
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let mut p = api
        .exec(pod, argv, &ap)
        .await
        .map_err(|e| format!("cannot exec tar in {ns}/{pod}: {e}"))?;
    if let Some(parent) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| e.to_string())?;
    }
    let tmp = dest.with_extension("part");
    let f = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let mut f = tokio::io::BufWriter::with_capacity(1 << 20, f);
    // large buffers: fewer, bigger writes while the archive streams through
    let mut stdout =
        tokio::io::BufReader::with_capacity(1 << 20, p.stdout().ok_or("no stdout from tar")?);
    let mut stderr = p.stderr().ok_or("no stderr from tar")?;
    let mut err = Vec::new();
    let (copied, _) = tokio::join!(
        tokio::io::copy_buf(&mut stdout, &mut f),
        tokio::io::AsyncReadExt::read_to_end(&mut stderr, &mut err)
    );
    copied.map_err(|e| format!("copying {ns}/{pod}: {e}"))?;
    f.flush().await.map_err(|e| e.to_string())?;
    let status = p.take_status().ok_or("no status")?.await;
    if let Some(st) = status {
        if st.status.as_deref() != Some("Success") {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(format!(
                "tar in {ns}/{pod} failed: {} {}",
                st.message.unwrap_or_default(),
                String::from_utf8_lossy(&err).trim()
            ));
        }
    }
    tokio::fs::rename(&tmp, dest)
        .await
        .map_err(|e| e.to_string())?;
    Ok(dest.to_path_buf())
}

/// Delete what a run created, per the policy (and the PVC only if managed).
pub async fn cleanup(
    client: &kube::Client,
    ns: &str,
    created: &Created,
    policy: &Cleanup,
    manage_pvc: bool,
) -> Vec<String> {
    let mut errors = vec![];
    let pod = matches!(policy, Cleanup::All | Cleanup::Pod);
    let pvc = matches!(policy, Cleanup::All | Cleanup::Pvc) && manage_pvc;
    let mut jobs: Vec<(&str, String)> = vec![];
    if pod {
        if let Some(p) = &created.pod {
            jobs.push(("pods", p.clone()));
        }
    }
    if matches!(policy, Cleanup::All) {
        if let Some(c) = &created.configmap {
            jobs.push(("configmaps", c.clone()));
        }
    }
    if pvc {
        if let Some(p) = &created.pvc {
            jobs.push(("persistentvolumeclaims", p.clone()));
        }
    }
    for (kind, name) in jobs {
        if let Err(e) = delete_and_wait(client, kind, ns, &name).await {
            errors.push(format!("cannot delete {kind} {ns}/{name}: {e}"));
        }
    }
    errors
}

/// Every object scaffold created (by label), all namespaces: (kind path, ns, name, run id).
pub async fn find_ours(
    client: &kube::Client,
    run: Option<&str>,
) -> Result<Vec<(String, String, String, String)>, K8sError> {
    let mut sel = format!("{MANAGED_BY}=scaffold");
    if let Some(r) = run {
        sel.push_str(&format!(",{RUN_ID}={r}"));
    }
    let q = format!("labelSelector={}", http::urlencode(&sel));
    let mut out = vec![];
    for kind in ["pods", "configmaps", "persistentvolumeclaims"] {
        let (items, _) = http::list_all(client, &format!("/api/v1/{kind}"), &q).await?;
        for o in items {
            out.push((
                kind.to_string(),
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                o["metadata"]["name"].as_str().unwrap_or("").to_string(),
                o["metadata"]["labels"][RUN_ID]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ));
        }
    }
    Ok(out)
}

/// Delete one object found by `find_ours`.
pub async fn delete_found(
    client: &kube::Client,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<(), K8sError> {
    match http::request(
        client,
        "DELETE",
        &format!("{}?gracePeriodSeconds=0", item(kind, ns, name)),
        None,
        vec![],
        true,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            dns_name(&["ron", "Kind-Worker", "r1"]),
            "ron-kind-worker-r1"
        );
        assert_eq!(
            dns_name(&["ron", "node.example.com", "x"]),
            "ron-node-example-com-x"
        );
        assert!(dns_name(&["x"; 40]).len() <= 63);
    }
}
